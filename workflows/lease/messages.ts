// The lease keeper's messages, defined once for the workflow, the CLI and the tests. A module of
// its own, so a reader loads the definitions without the workflow's activity proxies.
import { defineQuery } from '@temporalio/workflow';

export type LeaseKeeperPhase =
  | 'issuing'
  | 'waiting'
  | 'renewing'
  | 'reissuing'
  | 'retrying'
  | 'queued-sealed'
  | 'revoking'
  | 'revoked';

export interface LeaseKeeperStatus {
  phase: LeaseKeeperPhase;
  leaseId: string | null;
  expiresAt: string | null;
  /** When the keeper acts next, and how: renew, or issue fresh credentials (max TTL, not renewable). */
  nextActionAt: string | null;
  nextAction: 'renew' | 'reissue' | null;
  maxTtlReached: boolean;
  renewals: number;
  reissues: number;
  /** Alerts sent: one per episode in which the lease could not be kept. */
  alerts: number;
  /** True while an episode lasts (no valid lease, and failing to get one). */
  failing: boolean;
  lastError: { at: string; message: string } | null;
  /** Old leases still to be revoked after the overlap. */
  retiring: string[];
  /** Which run of the keeper this is (1 + continue-as-new count). */
  run: number;
}

/** Where the keeper stands: the lease it holds (its id, never its credentials), what it does next. */
export const leaseKeeperStatusQuery = defineQuery<LeaseKeeperStatus>('leaseKeeperStatus');
