// Sagas: each step that changes something registers its undo as soon as it has succeeded; when a
// later step fails, or the workflow is cancelled, the undos run newest first and the original
// failure is rethrown, so the workflow still fails (or is cancelled) for the reason it did.
// `commit()` is the point of no return: from there on a failure undoes nothing, so a runbook runs
// all its steps in one `saga.run` and marks where rollback ends, instead of wrapping the steps
// before that point in a closure of their own. A continue-as-new is no failure: nothing is undone.
//
// Compensations must be idempotent activities: one may run again after a worker crash, or find
// its step only half done.
import { CancellationScope, ContinueAsNew, log } from '@temporalio/workflow';
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

export interface CompensationOptions {
  /**
   * The undo reports on its own step (the saga leaves the step's state to it), and a failure of
   * it is the workflow's failure, thrown once the other undos have run.
   */
  selfReporting?: boolean;
}

export interface Saga<N extends string = string> {
  /**
   * Registers the undo of `step`, which has just succeeded. (A step that may land even when it
   * reports failure can register its undo before it runs: undos are idempotent.)
   */
  add(step: N, compensation: () => Promise<unknown>, options?: CompensationOptions): void;
  /**
   * Something held until the point of no return (a lock): released after the undos when a
   * failure comes first, or by `commit()`. A failure to release is the workflow's failure.
   */
  hold(release: () => Promise<unknown>): void;
  /** The point of no return: what was done stays done; what is held is released (newest first). */
  commit(): Promise<void>;
  /** Whether `commit()` has been called. */
  readonly committed: boolean;
  /**
   * Runs `body`; if it throws (a failure or the workflow's cancellation) before `commit()`, runs
   * the registered compensations in reverse, releases what is held, then rethrows the original error.
   */
  run<T>(body: () => Promise<T>): Promise<T>;
  /** What the compensations did, in the order they ran. */
  readonly compensations: readonly CompensationRecord[];
}

export function createSaga<N extends string = string>(options: SagaOptions<N> = {}): Saga<N> {
  const registered: { step: N; compensation: () => Promise<unknown>; selfReporting: boolean }[] = [];
  const held: (() => Promise<unknown>)[] = [];
  const compensations: CompensationRecord[] = [];
  let committed = false;

  async function compensate(): Promise<void> {
    // Not cancellable: a cancelled workflow must still undo what it did, and a cancellation that
    // arrives while undoing must not stop halfway.
    let mustThrow: { err: unknown } | undefined;
    await CancellationScope.nonCancellable(async () => {
      for (const { step, compensation, selfReporting } of [...registered].reverse()) {
        try {
          await compensation();
          compensations.push({ step, outcome: 'compensated', error: null });
          if (!selfReporting) options.steps?.set(step, 'compensated');
        } catch (err) {
          // One undo that fails must not keep the others from running; it is recorded for a human.
          const error = failureDetail(err);
          compensations.push({ step, outcome: 'failed', error });
          if (selfReporting) mustThrow ??= { err };
          else options.steps?.set(step, 'failed', `compensation failed: ${error}`);
          log.error('compensation failed', { step, error });
        }
      }
      registered.length = 0;
    });
    if (mustThrow) throw mustThrow.err;
  }

  // Not cancellable either, and run even when an undo failed: a lock must not outlive its run.
  async function release(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const r of held.splice(0).reverse()) await r();
    });
  }

  return {
    compensations,
    get committed() {
      return committed;
    },
    add(step, compensation, { selfReporting = false } = {}) {
      registered.push({ step, compensation, selfReporting });
    },
    hold(r) {
      held.push(r);
    },
    async commit() {
      committed = true;
      registered.length = 0;
      await release();
    },
    async run(body) {
      try {
        return await body();
      } catch (err) {
        if (committed || err instanceof ContinueAsNew) throw err;
        try {
          await compensate();
        } finally {
          await release();
        }
        throw err;
      }
    },
  };
}
