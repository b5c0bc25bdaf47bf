// The workflow test bed: one time-skipping environment and one workflow bundle per test file, a
// fresh task queue (and worker with the test's stand-in activities) per run, waiting for a step
// through the workflow's own status query, and a failure unwrapped to its root cause.
import type {
  WorkflowFailedError,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowStartOptions,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import type { Workflow } from '@temporalio/workflow';
import { afterAll, beforeAll } from 'vitest';
import type { Activities } from '../../activities/index.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../workers/worker.js';
import { type StepStatus, workflowStatusQuery } from '../../workflows/lib/status.js';
import { createTimeSkippingEnv } from './temporal.js';

export interface WorkflowBed {
  /** Set once the file's beforeAll has run. */
  readonly env: TestWorkflowEnvironment;
  readonly bundle: WorkflowBundle;
  /** Runs `fn` with a fresh task queue while a worker with `activities` serves it. */
  withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T>;
  /**
   * Starts `workflow` (its id is the task queue's name unless given) on a fresh task queue with
   * `activities`, and runs `fn` with its handle while the worker serves it.
   */
  start<W extends Workflow, T>(
    workflow: W,
    args: Parameters<W>,
    activities: object,
    fn: (handle: WorkflowHandleWithFirstExecutionRunId<W>) => Promise<T>,
    options?: Partial<Pick<WorkflowStartOptions<W>, 'workflowId'>>,
  ): Promise<T>;
}

export interface BedOptions {
  /** A bundle other than production's (the example workflows' fixtures). */
  workflowsPath?: string;
  /** Names a run's task queue: `<prefix>-<pid>-<n>`. */
  prefix?: string;
}

/** A bed of its own, for a caller that manages its lifetime (teardown when done). */
export async function startWorkflowBed(
  options: BedOptions = {},
): Promise<WorkflowBed & { teardown(): Promise<void> }> {
  const [env, bundle] = await Promise.all([
    createTimeSkippingEnv(),
    bundleVaultopsWorkflows(options.workflowsPath ? { workflowsPath: options.workflowsPath } : {}),
  ]);
  return { ...bedOver(() => ({ env, bundle }), options), teardown: () => env.teardown() };
}

/** Registers the file's beforeAll/afterAll and returns the bed they set up. */
export function useWorkflowBed(options: BedOptions = {}): WorkflowBed {
  let started: (WorkflowBed & { teardown(): Promise<void> }) | undefined;
  beforeAll(async () => {
    started = await startWorkflowBed(options);
  });
  afterAll(async () => {
    await started?.teardown();
  });
  return bedOver(() => {
    if (!started) throw new Error('the workflow bed is used before its beforeAll ran');
    return { env: started.env, bundle: started.bundle };
  }, options);
}

function bedOver(
  ready: () => { env: TestWorkflowEnvironment; bundle: WorkflowBundle },
  options: BedOptions,
): WorkflowBed {
  let runs = 0;
  const bed: WorkflowBed = {
    get env() {
      return ready().env;
    },
    get bundle() {
      return ready().bundle;
    },
    async withWorker(activities, fn) {
      const { env, bundle } = ready();
      const taskQueue = `${options.prefix ?? 'wf'}-${process.pid}-${++runs}`;
      const worker = await createVaultopsWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        // Stand-ins only: the worker gets no real activities beside them.
        activities: activities as Partial<Activities>,
        workflowBundle: bundle,
      });
      return worker.runUntil(() => fn(taskQueue));
    },
    start(workflow, args, activities, fn, startOptions = {}) {
      return bed.withWorker(activities, async (taskQueue) => {
        const handle = await ready().env.client.workflow.start(workflow, {
          taskQueue,
          workflowId: startOptions.workflowId ?? taskQueue,
          args,
        } as unknown as WorkflowStartOptions<typeof workflow>);
        return fn(handle);
      });
    },
  };
  return bed;
}

/**
 * Waits (in real time: workflow time stays put) until the workflow's step is in one of `states`,
 * by its status query; returns the step. A query that races a continue-as-new is asked again.
 */
export async function waitForStep(
  handle: WorkflowHandle,
  step: string,
  states: string | string[],
  timeoutMs = 20_000,
): Promise<StepStatus> {
  const wanted = typeof states === 'string' ? [states] : states;
  let last: StepStatus | undefined;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const report = await handle.query(workflowStatusQuery).catch(() => undefined);
    last = report?.steps.find((s) => s.name === step);
    if (last && wanted.includes(last.state)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`step ${step} never reached ${wanted.join('/')} (last: ${JSON.stringify(last)})`);
}

export interface RootCause {
  message: string;
  /** The ApplicationFailure's type, or the error's name. */
  type: string | undefined;
  /** The workflow was cancelled (its outer failure is a CancelledFailure). */
  cancelled: boolean;
}

/** The innermost cause of a workflow's failure: what the workflow or its activity threw. */
export function rootCause(err: unknown): RootCause {
  if (!(err instanceof Error) || err.name !== 'WorkflowFailedError')
    throw new Error(`expected the workflow to fail, got ${String(err)}`);
  let cause = (err as WorkflowFailedError).cause as (Error & { cause?: unknown; type?: string }) | undefined;
  const cancelled = cause?.name === 'CancelledFailure';
  while (cause?.cause instanceof Error) cause = cause.cause as typeof cause;
  return { message: cause?.message ?? '', type: cause?.type ?? cause?.name, cancelled };
}

/** The root cause of a failure that `promise` (a workflow's result) must end in. */
export async function failureOf(promise: Promise<unknown>): Promise<RootCause> {
  const err = await promise.then(
    () => {
      throw new Error('expected the workflow to fail, and it completed');
    },
    (e: unknown) => e,
  );
  return rootCause(err);
}

/** The workflow's result, or its failure's root cause. */
export async function outcomeOf<R>(
  handle: WorkflowHandle<Workflow> & { result(): Promise<R> },
): Promise<{ result: R; failure: undefined } | { result: undefined; failure: RootCause }> {
  return handle.result().then(
    (result) => ({ result, failure: undefined }),
    (err: unknown) => ({ result: undefined, failure: rootCause(err) }),
  );
}

/** Step name to step, the way a test reads them. */
export async function stepsOf(handle: WorkflowHandle): Promise<Record<string, StepStatus>> {
  const { steps } = await handle.query(workflowStatusQuery);
  return Object.fromEntries(steps.map((s) => [s.name, s]));
}
