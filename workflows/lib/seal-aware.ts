// Seal-aware steps: a step that meets a sealed Vault does not fail and does not burn its retries.
// It queues with the cluster's seal guard and waits; when Vault is unsealed the guard releases the
// queued steps one at a time in queue order, and the step runs again (a sealed Vault did nothing,
// so running it again is running it once). Use the activity options below for Vault activities,
// so that a seal reaches the workflow at once instead of being retried.
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SealActivities } from '../../activities/seal.js';
import { proceedSignal, sealGuardId, stepDoneSignal } from './seal-signals.js';
import type { StepTracker } from './status.js';

/** Retry options for Vault-touching activities: everything but a seal is retried as usual. */
export const SEAL_AWARE_RETRY: ActivityOptions['retry'] = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['VaultSealed'],
};

const queueing = proxyActivities<SealActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

let released: string | undefined;
let listening = false;

function listenForRelease(): void {
  if (listening) return;
  listening = true;
  setHandler(proceedSignal, ({ step }) => {
    released = step;
  });
}

export function isSealedFailure(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === 'VaultSealed';
}

export interface SealAwareOptions {
  /** The cluster's name ("default" for the one unnamed cluster). */
  cluster?: string;
  /** Told when the step is queued and when it is released (for a status query). */
  onQueued?: () => void;
  onReleased?: () => void;
}

/**
 * Runs `run` (a Vault-touching step); while Vault is sealed, waits in the guard's queue and runs
 * it again when released. Other failures are the step's own.
 */
export async function sealAware<T>(
  step: string,
  run: () => Promise<T>,
  options: SealAwareOptions = {},
): Promise<T> {
  const cluster = options.cluster ?? 'default';
  const guard = sealGuardId(cluster);
  const { workflowId } = workflowInfo();
  listenForRelease();
  let queued = false;
  const report = (sealedAgain: boolean) =>
    getExternalWorkflowHandle(guard).signal(stepDoneSignal, { workflowId, step, sealedAgain });

  for (;;) {
    try {
      const result = await run();
      if (queued) await report(false);
      return result;
    } catch (err) {
      if (!isSealedFailure(err)) {
        if (queued) await report(false);
        throw err;
      }
      released = undefined;
      if (queued) await report(true);
      else {
        await queueing.enqueueForUnseal({
          cluster,
          guardWorkflowId: guard,
          waiter: { workflowId, step, queuedAt: new Date().toISOString() },
        });
        queued = true;
      }
      options.onQueued?.();
      await condition(() => released === step);
      options.onReleased?.();
    }
  }
}

/**
 * A tracked step that queues while `cluster` is sealed: `steps.run(name, ...)` around `sealAware`,
 * its state `queued-sealed` while it waits for the unseal and `running` again after.
 */
export function sealAwareSteps<N extends string>(steps: StepTracker<N>, cluster: string) {
  return <T>(name: N, run: () => Promise<T>): Promise<T> =>
    steps.run(name, () =>
      sealAware(name, run, {
        cluster,
        onQueued: () => steps.set(name, 'queued-sealed'),
        onReleased: () => steps.set(name, 'running'),
      }),
    );
}
