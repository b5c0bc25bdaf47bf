// The activity options the runbooks ask for, by what a step is: a Vault step, a long DR step, a
// probe, a hook that runs once, a notice to someone. A runbook takes a preset as it is, or spreads
// it and changes the one thing its step needs (a longer timeout), so the difference stands out.
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

type Retry = NonNullable<ActivityOptions['retry']>;

/** Vault-touching activities: everything but a seal is retried as usual; a seal reaches sealAware at once. */
export const SEAL_AWARE_RETRY: Retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['VaultSealed'],
};

/**
 * A few quick tries, then the failure goes to the workflow, which has a backoff of its own (the
 * certificate and lease keepers); a seal reaches sealAware at once.
 */
export const SEAL_AWARE_FEW_TRIES: Retry = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '10 seconds',
  maximumAttempts: 3,
  nonRetryableErrorTypes: ['VaultSealed'],
};

/** Plumbing that must happen (the seal guard's own activities): retried until it does. */
export const UNTIL_IT_WORKS: Retry = { initialInterval: '1 second', maximumInterval: '10 seconds' };

/** Named option sets; see each for the steps that use it. */
export const presets = {
  /** A Vault call that does not heartbeat: 2 minutes an attempt (an RSA 4096 key, a full token list). */
  vaultCall: { startToCloseTimeout: '2 minutes', retry: SEAL_AWARE_RETRY },
  /** A Vault step whose activity heartbeats every 2 s (keptAlive): a killed worker is noticed in 10 s. */
  vaultStep: { startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: SEAL_AWARE_RETRY },
  /**
   * A Vault step the saga may undo: on cancellation it is waited for, not abandoned, so its undo
   * does not race the step it undoes.
   */
  undoableVaultStep: {
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '10 seconds',
    retry: SEAL_AWARE_RETRY,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  },
  /** A quick Vault call of a keeper (certificate, lease), which backs off on its own. */
  quickVaultCall: { startToCloseTimeout: '1 minute', retry: SEAL_AWARE_FEW_TRIES },
  /** A DR step (a snapshot, a restore, an unseal), heartbeating: 10 minutes, a dead worker seen in 20 s. */
  drStep: { startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds', retry: SEAL_AWARE_RETRY },
  /** A hook that may not be idempotent (a DNS change, a page): it runs once, whatever happens. */
  once: { startToCloseTimeout: '10 minutes', heartbeatTimeout: '20 seconds', retry: { maximumAttempts: 1 } },
  /** A probe that answers within its own timeouts: a worker hiccup is worth one more try, no more. */
  probe: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '200 milliseconds', maximumAttempts: 2 },
  },
  /** A notice to someone (a webhook, an alert): a receiver that stays down must not hold the workflow. */
  notify: {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
  },
} satisfies Record<string, ActivityOptions>;
