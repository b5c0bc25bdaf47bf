// Seal-aware steps: a step that meets a sealed Vault does not fail and does not burn its retries.
// It queues with the cluster's seal guard and waits; when Vault is unsealed the guard releases the
// queued steps one at a time in queue order, and the step runs again (a sealed Vault did nothing,
// so running it again is running it once). Vault activities take SEAL_AWARE_RETRY (activity-presets.ts),
// so that a seal reaches the workflow at once instead of being retried. A step that spans two
// clusters (a migration's source and target) names the sealed one in the failure's details
// (`{ cluster }`): the step then queues with THAT cluster's guard, which releases it when that
// cluster is unsealed, rather than with its own cluster's guard, which would see nothing sealed and
// release it again and again.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SealActivities } from '../../activities/seal/watch.js';
import { UNTIL_IT_WORKS } from './activity-presets.js';
import { proceedSignal, sealGuardId, stepDoneSignal } from './seal-signals.js';
import type { StepTracker } from './status.js';

export { SEAL_AWARE_RETRY } from './activity-presets.js';

const queueing = proxyActivities<SealActivities>({
  startToCloseTimeout: '30 seconds',
  retry: UNTIL_IT_WORKS,
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

/** The cluster a sealed failure names in its first detail (`{ cluster: "name" }`), if it names one. */
export function sealedClusterOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const detail = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const cluster = (detail as { cluster?: unknown } | null | undefined)?.cluster;
  return typeof cluster === 'string' && cluster !== '' ? cluster : undefined;
}

export interface SealAwareOptions {
  /** The cluster's name ("default" for the one unnamed cluster); a failure may name another. */
  cluster?: string;
  /** Told when the step is queued (with the sealed cluster) and when it is released. */
  onQueued?: (sealedCluster: string) => void;
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
  const { workflowId } = workflowInfo();
  listenForRelease();
  /** The cluster whose guard holds this step, once queued. */
  let queuedWith: string | undefined;
  const report = (guardCluster: string, sealedAgain: boolean) =>
    getExternalWorkflowHandle(sealGuardId(guardCluster)).signal(stepDoneSignal, {
      workflowId,
      step,
      sealedAgain,
    });

  for (;;) {
    try {
      const result = await run();
      if (queuedWith) await report(queuedWith, false);
      return result;
    } catch (err) {
      if (!isSealedFailure(err)) {
        if (queuedWith) await report(queuedWith, false);
        throw err;
      }
      const sealed = sealedClusterOf(err) ?? cluster;
      released = undefined;
      if (queuedWith === sealed) await report(sealed, true);
      else {
        // Released by one cluster's guard, then sealed at another: done with the first guard.
        if (queuedWith) await report(queuedWith, false);
        await queueing.enqueueForUnseal({
          cluster: sealed,
          guardWorkflowId: sealGuardId(sealed),
          waiter: { workflowId, step, queuedAt: new Date().toISOString() },
        });
        queuedWith = sealed;
      }
      options.onQueued?.(sealed);
      await condition(() => released === step);
      options.onReleased?.();
    }
  }
}

/**
 * A tracked step that queues while `cluster` (or the cluster its failure names) is sealed:
 * `steps.run(name, ...)` around `sealAware`, its state `queued-sealed` while it waits for the
 * unseal and `running` again after.
 */
export function sealAwareSteps<N extends string>(steps: StepTracker<N>, cluster: string) {
  return <T>(name: N, run: () => Promise<T>): Promise<T> =>
    steps.run(name, () =>
      sealAware(name, run, {
        cluster,
        onQueued: (sealed) =>
          steps.set(
            name,
            'queued-sealed',
            sealed === cluster ? null : `waiting for ${sealed} to be unsealed`,
          ),
        onReleased: () => steps.set(name, 'running'),
      }),
    );
}

/**
 * A keeper's Vault step: it runs to its end even when the keeper is cancelled meanwhile (what it
 * issued just then is known, and revoked with the rest), and while Vault is sealed it queues, the
 * keeper's phase reading `queued-sealed` until the unseal puts the phase back.
 */
export function keeperVaultStep(steps: StepTracker, cluster: string) {
  return <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const was = steps.phase;
    return CancellationScope.nonCancellable(() =>
      sealAware(name, run, {
        cluster,
        onQueued: () => steps.enter('queued-sealed'),
        onReleased: () => steps.enter(was),
      }),
    );
  };
}
