// Builds a vaultops worker: the workflow bundle plus activities over injected clients.
// Used by the worker entrypoint, the embedded dev stack and the tests, so all run the same thing.
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
import { type Activities, type ActivityDeps, createActivities } from '../activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Workflows import `./x.js` (ESM style); the bundler must find the `.ts` source behind it. */
export const bundlerOptions: WorkerOptions['bundlerOptions'] = {
  webpackConfigHook: (config) => ({
    ...config,
    resolve: {
      ...config.resolve,
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
  }),
};

/**
 * What a test adds to a worker: a bundle entry holding the example workflows as well, and the
 * examples' activities. Passed in code by the tests' own entry points, never read from configuration.
 */
export interface WorkerFixtures {
  workflowsPath: string;
  activities: (deps: ActivityDeps) => object;
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps?: ActivityDeps;
  /** Replaces the real activities (unit tests). */
  activities?: Partial<Activities>;
  identity?: string;
  /** A bundle built once with bundleVaultopsWorkflows(), so several workers skip webpack. */
  workflowBundle?: WorkflowBundle;
  /** Tests only: the example workflows and their activities beside the production ones. */
  fixtures?: WorkerFixtures;
  /**
   * Payload codecs and failure converter (codec/). A prebuilt workflowBundle must have been
   * bundled with the same failureConverterPath, which runs inside the workflow sandbox.
   */
  dataConverter?: DataConverter;
}

/** Bundles the workflows once (webpack takes seconds); pass the result to several workers. */
export async function bundleVaultopsWorkflows(
  options: { dataConverter?: DataConverter; workflowsPath?: string } = {},
): Promise<WorkflowBundle> {
  const failureConverterPath = options.dataConverter?.failureConverterPath;
  return bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? WORKFLOWS_PATH,
    ...bundlerOptions,
    ...(failureConverterPath ? { failureConverterPath } : {}),
  });
}

export async function createVaultopsWorker(options: CreateWorkerOptions): Promise<Worker> {
  const { deps, fixtures } = options;
  const activities =
    options.activities ?? (deps ? { ...createActivities(deps), ...fixtures?.activities(deps) } : undefined);
  if (!activities)
    throw new Error('createVaultopsWorker needs deps (real activities) or activities (stand-ins)');
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: fixtures?.workflowsPath ?? WORKFLOWS_PATH, bundlerOptions }),
    activities,
    // Without a heartbeat timeout the SDK holds heartbeats back up to 30 s, and with them the
    // cancellation they carry back: a cancelled step would run on for that long.
    defaultHeartbeatThrottleInterval: '1 second',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
}
