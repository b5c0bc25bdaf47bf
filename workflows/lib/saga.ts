// Sagas: each step that changes something registers its undo as soon as it has succeeded; when a
// later step fails, or the workflow is cancelled, the undos run newest first and the original
// failure is rethrown, so the workflow still fails (or is cancelled) for the reason it did.
//
// Compensations must be idempotent activities: one may run again after a worker crash, or find
// its step only half done.
import { CancellationScope, log } from '@temporalio/workflow';
import { failureDetail, type StepTracker } from './status.js';

export interface CompensationRecord {
  step: string;
  outcome: 'compensated' | 'failed';
  /** Why the compensation failed (it is not retried further by the saga); null when it ran. */
  error: string | null;
}

export interface SagaOptions<N extends string> {
  /** Marks each undone step `compensated` (or `failed` when its undo failed) for `vaultops status`. */
  steps?: StepTracker<N>;
}

export interface Saga<N extends string = string> {
  /**
   * Registers the undo of `step`, which has just succeeded. (A step that may land even when it
   * reports failure can register its undo before it runs: undos are idempotent.)
   */
  add(step: N, compensation: () => Promise<unknown>): void;
  /**
   * Runs `body`; if it throws (a failure or the workflow's cancellation), runs the registered
   * compensations in reverse, then rethrows the original error.
   */
  run<T>(body: () => Promise<T>): Promise<T>;
  /** What the compensations did, in the order they ran. */
  readonly compensations: readonly CompensationRecord[];
}

export function createSaga<N extends string = string>(options: SagaOptions<N> = {}): Saga<N> {
  const registered: { step: N; compensation: () => Promise<unknown> }[] = [];
  const compensations: CompensationRecord[] = [];

  async function compensate(): Promise<void> {
    // Not cancellable: a cancelled workflow must still undo what it did, and a cancellation that
    // arrives while undoing must not stop halfway.
    await CancellationScope.nonCancellable(async () => {
      for (const { step, compensation } of [...registered].reverse()) {
        try {
          await compensation();
          compensations.push({ step, outcome: 'compensated', error: null });
          options.steps?.set(step, 'compensated');
        } catch (err) {
          // One undo that fails must not keep the others from running; it is recorded for a human.
          const error = failureDetail(err);
          compensations.push({ step, outcome: 'failed', error });
          options.steps?.set(step, 'failed', `compensation failed: ${error}`);
          log.error('compensation failed', { step, error });
        }
      }
      registered.length = 0;
    });
  }

  return {
    compensations,
    add(step, compensation) {
      registered.push({ step, compensation });
    },
    async run(body) {
      try {
        return await body();
      } catch (err) {
        await compensate();
        throw err;
      }
    },
  };
}
