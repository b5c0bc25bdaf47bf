// The time-skipping test environment, always from the installed binary (these machines have no
// internet, and the SDK would otherwise try to download one).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { PreflightReport } from '../../common/preflight/report.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../workers/worker.js';
import { type PreflightInput, preflightWorkflow } from '../../workflows/preflight/preflight.js';
import './context.js';

let runtimeInstalled = false;

/** Quiet: the bundler and worker log at INFO; tests print only what fails. Once per process. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServerPath') } },
  });
}

/** Preflight's activities in the order the runbook takes them, as its history must show. */
export const PREFLIGHT_STEPS = [
  'describeTarget',
  'readHealth',
  'readSealStatus',
  'readLeader',
  'listSecretsEngines',
  'listAuthMethods',
  'probeNamespaces',
  'readPluginCatalog',
];

export interface WorkflowTestBed {
  env: TestWorkflowEnvironment;
  /** Runs preflight on a fresh task queue with the given activities (real or stand-ins). */
  runPreflight(activities: Partial<Activities>, input?: PreflightInput): Promise<PreflightReport>;
  teardown(): Promise<void>;
}

/** The time-skipping environment and one workflow bundle, shared by a test file's workflow runs. */
export async function startWorkflowTestBed(): Promise<WorkflowTestBed> {
  const [env, workflowBundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
  let runs = 0;
  return {
    env,
    async runPreflight(activities, input = {}) {
      const taskQueue = `preflight-${process.pid}-${++runs}`;
      const worker = await createVaultopsWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        activities,
        workflowBundle,
      });
      return worker.runUntil(
        env.client.workflow.execute(preflightWorkflow, { taskQueue, workflowId: taskQueue, args: [input] }),
      );
    },
    teardown: () => env.teardown(),
  };
}
