// The seal guard: one long-running workflow per cluster. It watches the seal state (a heartbeating
// activity that returns on a change), alerts once per seal event, and keeps the queue of steps
// that met a sealed Vault. On unseal it releases them one at a time, in the order they were
// queued, each only after the one before has run. It continues as new before its history grows
// long, carrying its state, so it can run for years.
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { QueuedStep, SealActivities, SealWatchResult } from '../../activities/seal/watch.js';
import { UNTIL_IT_WORKS } from '../lib/activity-presets.js';
import {
  enqueueSignal,
  proceedSignal,
  type SealGuardState,
  sealGuardStateQuery,
  stepDoneSignal,
} from '../lib/seal-signals.js';
import { failureDetail } from '../lib/status.js';

const watch = proxyActivities<SealActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: UNTIL_IT_WORKS,
});

const alerts = proxyActivities<SealActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

export interface SealGuardInput {
  cluster: string;
  sealed?: boolean;
  episode?: number;
  queue?: QueuedStep[];
}

/** How long a released step may take to report back before the next one goes. */
const STEP_TIMEOUT = '10 minutes';
const KEEP_RELEASED = 50;
/** Seal-state rounds before continuing as new, unless Temporal suggests it sooner. */
const ROUNDS_PER_RUN = 500;

export async function sealGuardWorkflow(input: SealGuardInput): Promise<void> {
  const state: SealGuardState = {
    cluster: input.cluster,
    sealed: input.sealed ?? false,
    episode: input.episode ?? 0,
    queue: [...(input.queue ?? [])],
    running: null,
    released: [],
  };
  let done: { workflowId: string; step: string; sealedAgain: boolean } | undefined;

  setHandler(enqueueSignal, (waiter) => {
    const known = (q: QueuedStep) => q.workflowId === waiter.workflowId && q.step === waiter.step;
    if (!state.queue.some(known) && !(state.running && known(state.running))) state.queue.push(waiter);
  });
  setHandler(stepDoneSignal, (report) => {
    done = report;
    // A step requeued when a seal came while it ran, which then finished after all: not waiting.
    if (!report.sealedAgain) {
      state.queue = state.queue.filter(
        (q) => !(q.workflowId === report.workflowId && q.step === report.step),
      );
    }
  });
  setHandler(sealGuardStateQuery, () => state);

  let observed: SealWatchResult | undefined;
  const observedNow = () => observed;
  const reportNow = () => done;
  // The watch's result lands in `observed`; the loop below waits on that, not on the promise.
  const startWatch = () => {
    void watch
      .watchSealStatus({ cluster: state.cluster, knownSealed: state.sealed, maxWaitMs: 60_000 })
      .then((result) => {
        observed = result;
      });
  };

  startWatch();
  for (let round = 0; ; round++) {
    await condition(() => observed !== undefined || (!state.sealed && state.queue.length > 0));

    // 1. The seal state moved: alert once per event.
    if (observed) {
      const seen = observed;
      observed = undefined;
      if (seen.sealed !== state.sealed) {
        state.sealed = seen.sealed;
        if (seen.sealed) state.episode += 1;
        // An alert receiver that stays down must not stop the guard (the watch and the queue
        // wait on it): its failure is logged, and the notifier has logged the alert itself.
        await alerts
          .notifySealEvent({
            event: seen.sealed ? 'vault-sealed' : 'vault-unsealed',
            cluster: state.cluster,
            episode: state.episode,
            at: seen.observedAt,
            detail: { queued: state.queue.length },
          })
          .catch((err: unknown) => log.warn('seal alert not delivered', { error: failureDetail(err) }));
      }
      if (round >= ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested) {
        // The watch has just returned, so no activity is left behind.
        await continueAsNew<typeof sealGuardWorkflow>({
          cluster: state.cluster,
          sealed: state.sealed,
          episode: state.episode,
          queue: state.queue, // nothing is running here: the release loop has ended
        });
      }
      startWatch();
    }

    // 2. Unsealed: release the queue in order, one step at a time.
    while (!state.sealed && state.queue.length > 0) {
      const next = state.queue.shift() as QueuedStep;
      state.running = next;
      done = undefined;
      try {
        await getExternalWorkflowHandle(next.workflowId).signal(proceedSignal, { step: next.step });
      } catch {
        state.running = null; // that workflow is gone: nobody is waiting any more
        continue;
      }
      const reported = await condition(
        () => (done?.workflowId === next.workflowId && done.step === next.step) || observed?.sealed === true,
        STEP_TIMEOUT,
      );
      state.running = null;
      // Read through functions: the signal handler and the watch change these while we wait.
      const report = reportNow();
      if (reported && report?.sealedAgain) {
        // Sealed again under it: back to the front, and wait for the watch to confirm.
        state.queue.unshift(next);
        await sleep('250 milliseconds');
        break;
      }
      if (!reported || observedNow()?.sealed) {
        if (!report) state.queue.unshift(next); // not reported: keep its place
        break;
      }
      state.released = [...state.released, next].slice(-KEEP_RELEASED);
    }
  }
}
