// What a failed activity says about itself, as a workflow needs it to decide whether to try again:
// its failure type and whether a retry could change it; and which of Vault's answers mean the
// input itself is wrong (no retry will fix a path that does not exist or a permission not held).
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** Failure types that mean the input names something missing, malformed or not allowed. */
export const INPUT_FAILURE_TYPES: readonly string[] = [
  'UnknownCluster',
  'VaultInvalidPath',
  'VaultInvalidRequest',
  'VaultNotFound',
  'VaultPermissionDenied',
];

/** An activity's failure type and retryability, through Temporal's wrapper. */
export function activityFailure(err: unknown): { type: string | undefined; nonRetryable: boolean } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure
    ? { type: cause.type ?? undefined, nonRetryable: cause.nonRetryable === true }
    : { type: undefined, nonRetryable: false };
}

/** An optional duration or count: unset, or a positive finite number. */
export const unsetOrPositive = (n: number | undefined): boolean =>
  n === undefined || (Number.isFinite(n) && n > 0);
