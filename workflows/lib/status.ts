// Where a workflow stands, step by step, for `vaultops status` (the `workflowStatus` query). The
// workflow names its steps up front, so the answer also shows what is still to come. The tracker
// also keeps the workflow's phase: the step it runs now (or the phase that step belongs to), or a
// word for the stretches between steps ("starting", "rolling-back", "done", "failed").
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
  /** The workflow's phase (absent from workflows that predate it). */
  phase?: string;
}

export const workflowStatusQuery = defineQuery<WorkflowStatusReport>('workflowStatus');

export interface RunStepOptions {
  /** The state while `fn` runs: `running` unless the step waits for something else. */
  as?: 'running' | 'waiting-approval' | 'queued-sealed';
}

export interface StepTracker<N extends string = string> {
  /**
   * Runs one step: its state while `fn` runs, then `done`, or `failed` with why (and rethrows).
   * The workflow enters the step's phase as the step starts.
   */
  run<T>(name: N, fn: () => Promise<T>, options?: RunStepOptions): Promise<T>;
  /** Sets a step's state directly, e.g. `queued-sealed` while a step waits for an unseal. */
  set(name: N, state: StepState, detail?: string | null): void;
  /** The workflow's phase now. */
  readonly phase: string;
  /** Enters a phase that is no step's own: "rolling-back", "done", "failed"... */
  enter(phase: string): void;
  report(): WorkflowStatusReport;
}

export interface TrackStepsOptions<N extends string> {
  /** The phase before the first step runs (default "starting"). */
  phase?: string;
  /** Steps that belong to a wider phase (e.g. every copy step to "copy"); others are their own. */
  phaseOf?: Partial<Record<N, string>>;
  /**
   * False when the workflow enters every phase itself (a keeper's phases, waiting or renewing,
   * are not its steps); by default a step's run enters the step's phase.
   */
  phaseFromSteps?: boolean;
}

/** Registers the `workflowStatus` query over these steps, all `pending` at first. Call once, at the top. */
export function trackSteps<const N extends string>(
  names: readonly N[],
  options: TrackStepsOptions<N> = {},
): StepTracker<N> {
  const steps = new Map<N, StepStatus>(
    names.map((name) => [name, { name, state: 'pending', detail: null, since: null }]),
  );
  let phase = options.phase ?? 'starting';

  const set = (name: N, state: StepState, detail: string | null = null) => {
    const step = steps.get(name);
    // A step missing from the list is a bug in the workflow, not in its input: fail the task.
    if (!step) throw new TypeError(`step "${name}" is not one of ${names.join(', ')}`);
    Object.assign(step, { state, detail, since: new Date(Date.now()).toISOString() });
  };

  const report = (): WorkflowStatusReport => ({
    steps: [...steps.values()].map((s) => ({ ...s })),
    phase,
  });
  setHandler(workflowStatusQuery, report);

  return {
    set,
    report,
    get phase() {
      return phase;
    },
    enter(next) {
      phase = next;
    },
    async run(name, fn, runOptions = {}) {
      set(name, runOptions.as ?? 'running');
      if (options.phaseFromSteps !== false) phase = options.phaseOf?.[name] ?? name;
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
