// The timing rules of the keepers (a certificate, a database lease): when to renew, how long to
// back off after a failure, when to continue as new. No commands of their own: each keeper's loop asks them and
// keeps its own timers and messages, so a running keeper's commands do not depend on this file's
// shape, only on these numbers.
import { workflowInfo } from '@temporalio/workflow';

/** Never sleep less than this between actions: a tiny lifetime or a late wake-up is no busy loop. */
export const MIN_WAIT_MS = 1000;

/**
 * How long before the end to renew: `renewBeforeMs` when shorter than the lifetime, else the last
 * third of it (renewal at 2/3 of the lifetime, as cert-manager does).
 */
export function renewalWindowMs(lifetimeMs: number, renewBeforeMs: number | undefined): number {
  return renewBeforeMs !== undefined && renewBeforeMs < lifetimeMs ? renewBeforeMs : lifetimeMs / 3;
}

export interface Backoff {
  /** The first wait, doubled per failed attempt... */
  initialMs: number;
  /** ...up to this. */
  maxMs: number;
}

/**
 * The wait after failed attempt `attempt` (0-based): `initialMs` doubling up to `maxMs`, and while
 * what the keeper holds is still valid (until `validUntilMs`), never more than half the time it
 * has left, so several more attempts fit before it runs out.
 *
 * Why not cert-manager's 1h, 2h, 4h ... 32h: that backoff spares an ACME CA's rate limits, which a
 * Vault PKI mount does not have, and a keeper here renews at 2/3 of the lifetime, so with the
 * short lifetimes Vault is used for (hours to days) a first retry an hour out and a fourth eight
 * hours out would let the certificate or lease expire while Vault was back long ago. A sealed
 * Vault does not count as a failure at all: the step queues until the unseal (seal-aware.ts).
 */
export function backoffMs(
  attempt: number,
  { initialMs, maxMs }: Backoff,
  validUntilMs: number | null,
  nowMs: number,
): number {
  const wait = Math.min(initialMs * 2 ** attempt, maxMs);
  if (validUntilMs !== null && nowMs < validUntilMs)
    return Math.min(wait, Math.max(MIN_WAIT_MS, (validUntilMs - nowMs) / 2));
  return wait;
}

/** Time to continue as new: `done` of `perRun` renewals (or cycles) behind us, or the server asks. */
export const continueAsNewDue = (done: number, perRun: number): boolean =>
  done >= perRun || workflowInfo().continueAsNewSuggested;
