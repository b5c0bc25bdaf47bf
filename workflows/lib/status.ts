// Where a workflow stands, step by step, for `vaultops status` (the `workflowStatus` query). The
// workflow names its steps up front, so the answer also shows what is still to come.
import { ActivityFailure, defineQuery, isCancellation, setHandler } from '@temporalio/workflow';

export type StepState =
  | 'pending' // not started yet
  | 'running'
  | 'waiting-approval'
  | 'queued-sealed' // waiting for Vault to be unsealed
  | 'done'
  | 'failed'
  | 'compensated'; // done, then undone by the saga

export interface StepStatus {
  name: string;
  state: StepState;
  /** Why a step failed, who it waits for, and so on: facts, never secrets. */
  detail: string | null;
  /** When the step entered its state, in workflow time (ISO 8601); null while pending. */
  since: string | null;
}

export interface WorkflowStatusReport {
  steps: StepStatus[];
}

export const workflowStatusQuery = defineQuery<WorkflowStatusReport>('workflowStatus');

export interface RunStepOptions {
  /** The state while `fn` runs: `running` unless the step waits for something else. */
  as?: 'running' | 'waiting-approval' | 'queued-sealed';
}

export interface StepTracker<N extends string = string> {
  /** Runs one step: its state while `fn` runs, then `done`, or `failed` with why (and rethrows). */
  run<T>(name: N, fn: () => Promise<T>, options?: RunStepOptions): Promise<T>;
  /** Sets a step's state directly, e.g. `queued-sealed` while a step waits for an unseal. */
  set(name: N, state: StepState, detail?: string | null): void;
  report(): WorkflowStatusReport;
}

/** Registers the `workflowStatus` query over these steps, all `pending` at first. Call once, at the top. */
export function trackSteps<const N extends string>(names: readonly N[]): StepTracker<N> {
  const steps = new Map<N, StepStatus>(
    names.map((name) => [name, { name, state: 'pending', detail: null, since: null }]),
  );

  const set = (name: N, state: StepState, detail: string | null = null) => {
    const step = steps.get(name);
    // A step missing from the list is a bug in the workflow, not in its input: fail the task.
    if (!step) throw new TypeError(`step "${name}" is not one of ${names.join(', ')}`);
    Object.assign(step, { state, detail, since: new Date(Date.now()).toISOString() });
  };

  const report = (): WorkflowStatusReport => ({ steps: [...steps.values()].map((s) => ({ ...s })) });
  setHandler(workflowStatusQuery, report);

  return {
    set,
    report,
    async run(name, fn, options = {}) {
      set(name, options.as ?? 'running');
      try {
        const result = await fn();
        set(name, 'done');
        return result;
      } catch (err) {
        set(name, 'failed', failureDetail(err));
        throw err;
      }
    },
  };
}

/** The message worth showing: an activity's own failure rather than Temporal's wrapper around it. */
export function failureDetail(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
