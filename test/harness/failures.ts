import { ApplicationFailure } from '@temporalio/common';

/** The first ApplicationFailure in an error's cause chain (a workflow's, through its activity's). */
function applicationFailure(e: unknown): ApplicationFailure | undefined {
  for (let cause = e; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure) return cause;
  }
  return undefined;
}

/** 'resolved', or the failure type a call ended with (the message, for anything else). */
export const failureType = (call: Promise<unknown>): Promise<string> =>
  call.then(
    () => 'resolved',
    (e: unknown) => applicationFailure(e)?.type ?? String(e),
  ) as Promise<string>;
