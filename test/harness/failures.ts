import { ApplicationFailure } from '@temporalio/common';

/** 'resolved', or the failure type a call ended with (the message, for anything else). */
export const failureType = (call: Promise<unknown>): Promise<string> =>
  call.then(
    () => 'resolved',
    (e: unknown) => (e instanceof ApplicationFailure ? e.type : String(e)),
  ) as Promise<string>;
