// What the client needs to know about the activity it runs in, if any: when the activity's time is
// up (so retries never outlive it), its cancellation signal, and a heartbeat for long retry loops.
// Outside an activity (the CLI, tests, benchmarks) there is no scope and none of this applies.
import { Context } from '@temporalio/activity';

export interface CallScope {
  /** Epoch ms after which no new attempt or wait starts. */
  deadline: number;
  signal: AbortSignal | undefined;
  heartbeat: (() => void) | undefined;
}

// The details each activity last heartbeated (a cursor, say), so that the client's own
// keep-alive heartbeats repeat them instead of overwriting them with nothing.
const lastDetails = new WeakMap<Context, unknown[]>();

/** Heartbeats from an activity with details (a cursor to resume from); use this, not Context's. */
export function heartbeatWith(details: unknown): void {
  const context = Context.current();
  lastDetails.set(context, [details]);
  context.heartbeat(details);
}

/** The running activity's cancellation signal; undefined outside an activity. */
export function activityCancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The running activity's scope, or undefined when not called from an activity. */
export function currentActivityScope(): CallScope | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  const info = context.info;
  // The attempt was scheduled no later than it started: its start-to-close deadline is at most
  // this, so the estimate errs on the early side, as a budget should.
  const limits = [
    info.startToCloseTimeoutMs > 0
      ? info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs
      : Infinity,
    info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : Infinity,
  ];
  return {
    deadline: Math.min(...limits),
    signal: context.cancellationSignal,
    // A local activity has no heartbeat: it lives inside its workflow task.
    heartbeat: info.isLocal
      ? undefined
      : () => {
          const details = lastDetails.get(context);
          if (details) context.heartbeat(details[0]);
          else context.heartbeat();
        },
  };
}

/**
 * Makes each activity heartbeat every `everyMs` while it runs (repeating its last details), so
 * that a worker that dies mid-step is noticed within the heartbeat timeout rather than after the
 * whole start-to-close time, and a cancellation reaches the step. Outside an activity, a no-op.
 */
// biome-ignore lint/suspicious/noExplicitAny: activity functions take any arguments
export function keptAlive<A extends Record<string, (...args: any[]) => Promise<unknown>>>(
  activities: A,
  everyMs = 2000,
): A {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: unknown[]) => {
      const scope = currentActivityScope();
      if (!scope?.heartbeat) return fn(...args);
      const timer = setInterval(scope.heartbeat, everyMs);
      try {
        return await fn(...args);
      } finally {
        clearInterval(timer);
      }
    };
  }
  return wrapped as A;
}
