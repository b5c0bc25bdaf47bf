// The lease keeper: keeps one dynamic database credential alive and delivered
// for as long as it runs. Issue and deliver → sleep until the renewal time (2/3 of the lease, or
// renewBefore its expiry) → renew → ... When Vault refuses the renewal, or the max TTL leaves less
// than the renewal window, fresh credentials are issued and delivered and the old lease is revoked
// (after an optional overlap). When issuing or renewing keeps failing past the lease's expiry, one
// alert goes out per episode and the keeper keeps trying with backoff. Cancelled, it revokes what
// it holds and, if asked, removes the delivered file. The history holds lease ids and times only.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { IssuedLease, LeaseActivities, LeaseDelivery } from '../../activities/lease/keeper.js';
import { presets } from '../lib/activity-presets.js';
import { activityFailure, INPUT_FAILURE_TYPES, unsetOrPositive } from '../lib/failures.js';
import { backoffMs, continueAsNewDue, MIN_WAIT_MS, renewalWindowMs } from '../lib/keeper.js';
import { keeperVaultStep, sealAware } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import { type LeaseKeeperPhase, type LeaseKeeperStatus, leaseKeeperStatusQuery } from './messages.js';

// The keeper retries on its own schedule (backoff, alert, reissue): a step gives up after a few
// quick attempts and leaves the decision to it; a seal reaches sealAware at once.
const act = proxyActivities<LeaseActivities>(presets.quickVaultCall);

const alerting = proxyActivities<LeaseActivities>(presets.notify);

export interface LeaseKeeperInput {
  /** The configured cluster ("default" when unset). */
  cluster?: string;
  /** The database secrets engine's mount. */
  dbMount: string;
  /** The dynamic role: credentials come from `<dbMount>/creds/<role>`. */
  role: string;
  /** Where each credential is delivered: an absolute file path on the worker, a KV v2 path, or both. */
  deliver: LeaseDelivery;
  /** Renew this long before expiry; default (and when it is not shorter than the lease): at 2/3 of it. */
  renewBeforeMs?: number;
  /** After a reissue, the old lease stays valid this long for clients still using it (default 0). */
  overlapMs?: number;
  /** On cancellation, remove the delivered file (only while it holds this keeper's credential). */
  removeFileOnCancel?: boolean;
  /** Backoff while issuing/renewing fails: first wait, doubling up to the max (default 5s, 5m). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Renewals and reissues per run before continuing as new (default 100). */
  cyclesPerRun?: number;
  /** Set by the keeper when it continues as new: what the previous run held. */
  carried?: LeaseKeeperCarry;
}

/** A lease as the keeper holds it, in workflow time. */
export interface HeldLease {
  leaseId: string;
  /** Asked for at each renewal: the length Vault granted at issue. */
  durationSeconds: number;
  renewable: boolean;
  expiresAtMs: number;
  /** The max TTL cut the last renewal short: renewing cannot push the expiry further. */
  capped: boolean;
}

export interface LeaseKeeperCarry {
  lease: HeldLease | null;
  /** Old leases waiting out the overlap before they are revoked. */
  retiring: { leaseId: string; revokeAtMs: number }[];
  renewals: number;
  reissues: number;
  alerts: number;
  episodeOpen: boolean;
  lastError: { at: string; message: string } | null;
  runs: number;
}

export { type LeaseKeeperPhase, type LeaseKeeperStatus, leaseKeeperStatusQuery };

export const LEASE_KEEPER_STEPS = ['issue', 'keep', 'revoke'] as const;

/** Failures of the first issue that no retry will fix: the input names something wrong. */
const BAD_INPUT_TYPES = new Set(['LeaseBadInput', 'LeaseDeliveryFailed', ...INPUT_FAILURE_TYPES]);

function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'LeaseBadInput', nonRetryable: true, message });
}

function checkInput(input: LeaseKeeperInput): void {
  if (!input?.dbMount?.trim()) throw badInput('dbMount: name the database secrets engine mount');
  if (!input.role?.trim() || input.role.includes('/'))
    throw badInput('role: name one dynamic role (no "/"), as in <db-mount>/creds/<role>');
  const { file, kv } = input.deliver ?? {};
  if (!file && !kv) throw badInput('deliver: give a file, a KV v2 path, or both');
  if (file !== undefined && !file.startsWith('/'))
    throw badInput(`deliver.file ${JSON.stringify(file)} must be an absolute path on the worker`);
  if (kv && (!kv.mount?.trim() || !kv.path?.trim()))
    throw badInput('deliver.kv needs both a mount and a path');
  if (!unsetOrPositive(input.renewBeforeMs)) throw badInput('renewBeforeMs must be a positive duration');
  if (input.overlapMs !== undefined && !(Number.isFinite(input.overlapMs) && input.overlapMs >= 0))
    throw badInput('overlapMs must be 0 or a positive duration');
  if (!unsetOrPositive(input.retryInitialMs) || !unsetOrPositive(input.retryMaxMs))
    throw badInput('retryInitialMs and retryMaxMs must be positive durations');
  if (input.cyclesPerRun !== undefined && !(Number.isInteger(input.cyclesPerRun) && input.cyclesPerRun >= 1))
    throw badInput('cyclesPerRun must be a whole number >= 1');
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function leaseKeeperWorkflow(input: LeaseKeeperInput): Promise<void> {
  checkInput(input);
  const cluster = input.cluster ?? 'default';
  const overlapMs = input.overlapMs ?? 0;
  const retryInitialMs = input.retryInitialMs ?? 5_000;
  const retryMaxMs = Math.max(input.retryMaxMs ?? 300_000, retryInitialMs);
  const cyclesPerRun = input.cyclesPerRun ?? 100;
  const where = `${input.dbMount}/creds/${input.role}`;

  const carried = input.carried;
  const s = {
    lease: carried?.lease ?? null,
    renewals: carried?.renewals ?? 0,
    reissues: carried?.reissues ?? 0,
    alerts: carried?.alerts ?? 0,
    episodeOpen: carried?.episodeOpen ?? false,
    lastError: carried?.lastError ?? null,
    run: (carried?.runs ?? 0) + 1,
  };
  const retiring = new Map<string, number>();
  let revoking = 0;
  // The keeper's phases (waiting, renewing, retrying...) are not its steps: it enters each itself.
  const steps = trackSteps(LEASE_KEEPER_STEPS, { phase: 'issuing', phaseFromSteps: false });
  const phase = () => steps.phase as LeaseKeeperPhase;

  const windowMs = (lease: HeldLease) => renewalWindowMs(lease.durationSeconds * 1000, input.renewBeforeMs);
  const actAtMs = (lease: HeldLease) => lease.expiresAtMs - windowMs(lease);
  const renewable = (lease: HeldLease) => lease.renewable && !lease.capped;

  const status = (): LeaseKeeperStatus => ({
    phase: phase(),
    leaseId: s.lease?.leaseId ?? null,
    expiresAt: s.lease ? iso(s.lease.expiresAtMs) : null,
    nextActionAt: s.lease && phase() !== 'revoked' ? iso(actAtMs(s.lease)) : null,
    nextAction: !s.lease || phase() === 'revoked' ? null : renewable(s.lease) ? 'renew' : 'reissue',
    maxTtlReached: s.lease?.capped ?? false,
    renewals: s.renewals,
    reissues: s.reissues,
    alerts: s.alerts,
    failing: s.episodeOpen,
    lastError: s.lastError,
    retiring: [...retiring.keys()],
    run: s.run,
  });
  setHandler(leaseKeeperStatusQuery, status);
  const noteKeep = () =>
    steps.set(
      'keep',
      'running',
      s.lease
        ? `lease ${s.lease.leaseId} expires ${iso(s.lease.expiresAtMs)}; ${s.renewals} renewals, ${s.reissues} reissues`
        : 'no lease yet',
    );
  const noteError = (message: string) => {
    s.lastError = { at: iso(Date.now()), message };
  };

  const vaultStep = keeperVaultStep(steps, cluster);

  const held = (issued: IssuedLease, askedAtMs: number): HeldLease => ({
    leaseId: issued.leaseId,
    durationSeconds: issued.durationSeconds,
    renewable: issued.renewable,
    // Counted from before the request: the lease cannot have started earlier, so this errs early.
    expiresAtMs: askedAtMs + issued.durationSeconds * 1000,
    capped: false,
  });

  /** Revokes `leaseId` at `revokeAtMs`, in the background; the keeper carries on meanwhile. */
  const retireLater = (leaseId: string, revokeAtMs: number) => {
    retiring.set(leaseId, revokeAtMs);
    void (async () => {
      try {
        const wait = revokeAtMs - Date.now();
        if (wait > 0) await sleep(wait);
        revoking += 1;
        try {
          await vaultStep('revoke-previous', () => act.leaseRevoke({ cluster, leaseId }));
        } finally {
          revoking -= 1;
        }
        retiring.delete(leaseId);
      } catch (err) {
        // Cancelled: the clean-up revokes everything still retiring.
        if (isCancellation(err)) return;
        // It ends at its own TTL anyway (the max TTL at the latest); say so, do not stop keeping.
        retiring.delete(leaseId);
        noteError(`could not revoke the previous lease ${leaseId}: ${failureDetail(err)}`);
      }
    })();
  };

  /** Fresh credentials, delivered; the old lease (if any) is retired after the overlap. */
  const issue = async (): Promise<void> => {
    const old = s.lease;
    steps.enter(old ? 'reissuing' : 'issuing');
    const askedAtMs = Date.now();
    const issued = await vaultStep('issue', () =>
      act.leaseIssue({ cluster, dbMount: input.dbMount, role: input.role, deliver: input.deliver }),
    );
    s.lease = held(issued, askedAtMs);
    if (old) {
      s.reissues += 1;
      retireLater(old.leaseId, Date.now() + overlapMs);
    }
  };

  /** Renews the lease; false when fresh credentials are due instead (refused, or max TTL near). */
  const renew = async (lease: HeldLease): Promise<boolean> => {
    steps.enter('renewing');
    const askedAtMs = Date.now();
    const answer = await vaultStep('renew', () =>
      act.leaseRenew({ cluster, leaseId: lease.leaseId, incrementSeconds: lease.durationSeconds }),
    );
    if (!answer.renewed) {
      noteError(`renewal refused: ${answer.reason}`);
      s.lease = { ...lease, renewable: false };
      return false;
    }
    s.renewals += 1;
    const renewed: HeldLease = {
      ...lease,
      renewable: answer.renewable,
      capped: answer.capped,
      expiresAtMs: askedAtMs + answer.grantedSeconds * 1000,
    };
    s.lease = renewed;
    // Capped by the max TTL: once what is left is within the window, replace the credential now.
    return !(renewed.capped && renewed.expiresAtMs - Date.now() <= windowMs(renewed));
  };

  /** One alert per episode: the first failure past the lease's expiry (or with no lease at all). */
  const alertOnce = async (message: string) => {
    if (s.episodeOpen) return;
    s.episodeOpen = true;
    s.alerts += 1;
    try {
      await CancellationScope.nonCancellable(() =>
        alerting.leaseAlert({
          cluster,
          event: 'lease-not-kept',
          episode: s.alerts,
          detail: {
            workflowId: workflowInfo().workflowId,
            credentials: where,
            leaseId: s.lease?.leaseId ?? null,
            expiredAt: s.lease ? iso(s.lease.expiresAtMs) : null,
            error: message,
          },
        }),
      );
    } catch (err) {
      noteError(`alert not sent: ${failureDetail(err)} (after: ${message})`);
    }
  };

  // 5s, 10s ... 5m by default, and while the lease holds, at most half its time left.
  const retryWaitMs = (attempt: number) =>
    backoffMs(
      attempt,
      { initialMs: retryInitialMs, maxMs: retryMaxMs },
      s.lease ? s.lease.expiresAtMs : null,
      Date.now(),
    );

  /** Renews or replaces the lease, trying again with backoff until one of them works. */
  const keep = async (): Promise<void> => {
    const first = s.lease === null && !carried;
    for (let attempt = 0; ; attempt++) {
      try {
        const lease = s.lease;
        const kept = lease && renewable(lease) && Date.now() < lease.expiresAtMs && (await renew(lease));
        if (!kept) await issue();
        s.episodeOpen = false; // a lease is kept: any episode is over
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const message = failureDetail(err);
        noteError(message);
        const { type, nonRetryable } = activityFailure(err);
        if (first && s.lease === null && type && nonRetryable && BAD_INPUT_TYPES.has(type)) {
          throw ApplicationFailure.create({
            type,
            nonRetryable: true,
            message: `cannot issue credentials from ${where}: ${message}`,
          });
        }
        if (!s.lease || Date.now() >= s.lease.expiresAtMs) await alertOnce(message);
        steps.enter('retrying');
        noteKeep();
        await sleep(retryWaitMs(attempt));
      }
    }
  };

  /** Cancelled: revoke the current lease and any still retiring, remove the file if asked. */
  const cleanUp = async () => {
    steps.enter('revoking');
    steps.set('keep', 'done', `${s.renewals} renewals, ${s.reissues} reissues`);
    steps.set('revoke', 'running');
    const current = s.lease;
    const leaseIds = [...new Set([...(current ? [current.leaseId] : []), ...retiring.keys()])];
    const failed: string[] = [];
    for (const leaseId of leaseIds) {
      try {
        await sealAware('revoke', () => act.leaseRevoke({ cluster, leaseId }), { cluster });
        retiring.delete(leaseId);
      } catch (err) {
        failed.push(leaseId);
        noteError(`could not revoke lease ${leaseId}: ${failureDetail(err)}`);
      }
    }
    if (input.removeFileOnCancel && input.deliver.file && current) {
      try {
        await act.leaseRemoveFile({ path: input.deliver.file, leaseId: current.leaseId });
      } catch (err) {
        noteError(`could not remove ${input.deliver.file}: ${failureDetail(err)}`);
      }
    }
    if (failed.length > 0) {
      steps.set('revoke', 'failed', `not revoked (they end at their TTL): ${failed.join(', ')}`);
      s.alerts += 1;
      await alerting
        .leaseAlert({
          cluster,
          event: 'lease-not-revoked',
          episode: s.alerts,
          detail: { workflowId: workflowInfo().workflowId, credentials: where, leaseIds: failed },
        })
        .catch((err) => noteError(`alert not sent: ${failureDetail(err)}`));
    } else {
      steps.set('revoke', 'done', `revoked ${leaseIds.length} lease(s)`);
    }
    steps.enter('revoked');
  };

  try {
    // 1. Credentials in place: issued and delivered (or carried over from the previous run).
    if (s.lease) {
      steps.set('issue', 'done', `carried over: lease ${s.lease.leaseId}`);
    } else {
      steps.set('issue', 'running');
      await keep();
      steps.set('issue', 'done', `lease ${status().leaseId}`);
    }
    for (const { leaseId, revokeAtMs } of carried?.retiring ?? []) retireLater(leaseId, revokeAtMs);

    // 2. Keep them: sleep until the renewal time, renew or replace, again.
    for (let cycle = 0; ; cycle++) {
      noteKeep();
      if (continueAsNewDue(cycle, cyclesPerRun)) {
        // A revocation in flight finishes here; ones still waiting out the overlap go along.
        await condition(() => revoking === 0);
        await continueAsNew<typeof leaseKeeperWorkflow>({
          ...input,
          carried: {
            lease: s.lease,
            retiring: [...retiring].map(([leaseId, revokeAtMs]) => ({ leaseId, revokeAtMs })),
            renewals: s.renewals,
            reissues: s.reissues,
            alerts: s.alerts,
            episodeOpen: s.episodeOpen,
            lastError: s.lastError,
            runs: s.run,
          },
        });
      }
      steps.enter('waiting');
      const lease = s.lease as HeldLease;
      await sleep(Math.max(MIN_WAIT_MS, actAtMs(lease) - Date.now()));
      await keep();
    }
  } catch (err) {
    // 3. Cancelled (`vaultops cancel`): revoke, clean up, and close as cancelled.
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(cleanUp);
    throw err;
  }
}
