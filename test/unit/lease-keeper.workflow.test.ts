// The lease keeper in the time-skipping environment, with stand-in activities that play Vault's
// lease answers from a script (renewals granted, refused or cut short by the max TTL; outages)
// and record what was issued, revoked, removed and alerted: every branch of the keeper, and no
// credential in the history.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type {
  LeaseAlertInput,
  LeaseRemoveFileInput,
  LeaseRenewResult,
} from '../../activities/lease/keeper.js';
import {
  type LeaseKeeperInput,
  type LeaseKeeperStatus,
  leaseKeeperStatusQuery,
  leaseKeeperWorkflow,
} from '../../workflows/lease/keeper.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'lease' });

type RenewStep = 'grant' | 'refuse' | number;

/**
 * Stand-in lease activities: leases of `duration` seconds; each renewal takes the next step of
 * `renewals` (grant what was asked, refuse, or grant only n seconds: the max TTL) and grants when
 * the script is used up; while `down` is set, issuing and renewing fail as an unreachable Vault.
 */
function standIn(
  options: { duration?: number; renewals?: RenewStep[]; issueFailure?: ApplicationFailure } = {},
) {
  const state = {
    down: false,
    calls: [] as string[],
    /** The environment's (skipped) time of each call, beside `calls`. */
    times: [] as number[],
    issued: [] as string[],
    increments: [] as number[],
    revoked: [] as string[],
    removed: [] as LeaseRemoveFileInput[],
    alerts: [] as LeaseAlertInput[],
    /** The password each lease's "delivery" holds, by lease id: never to be seen in Temporal. */
    delivered: new Map<string, string>(),
  };
  const script = [...(options.renewals ?? [])];
  const called = async (what: string) => {
    state.calls.push(what);
    state.times.push(await bed.env.currentTimeMs());
  };
  const unavailable = () =>
    ApplicationFailure.create({ type: 'VaultUnavailable', message: 'stand-in Vault is unreachable' });
  const activities: Partial<Activities> = {
    async leaseIssue(input) {
      await called('issue');
      if (options.issueFailure) throw options.issueFailure;
      if (state.down) throw unavailable();
      const leaseId = `${input.dbMount}/creds/${input.role}/lease-${state.issued.length + 1}`;
      const password = randomBytes(16).toString('hex');
      rememberSecret(password, `stand-in password of ${leaseId}`);
      state.delivered.set(leaseId, password);
      state.issued.push(leaseId);
      return {
        leaseId,
        durationSeconds: options.duration ?? 60,
        renewable: true,
        issuedAt: new Date().toISOString(),
      };
    },
    async leaseRenew(input): Promise<LeaseRenewResult> {
      await called('renew');
      if (state.down) throw unavailable();
      state.increments.push(input.incrementSeconds);
      const step = script.shift() ?? 'grant';
      if (step === 'refuse') return { renewed: false, reason: 'lease not found or lease is not renewable' };
      const granted = step === 'grant' ? input.incrementSeconds : step;
      return {
        renewed: true,
        grantedSeconds: granted,
        renewable: true,
        capped: granted < input.incrementSeconds,
      };
    },
    async leaseRevoke(input) {
      await called('revoke');
      state.revoked.push(input.leaseId);
      return { revoked: true };
    },
    async leaseRemoveFile(input) {
      await called('remove-file');
      state.removed.push(input);
      return { removed: true };
    },
    async leaseAlert(input) {
      await called('alert');
      state.alerts.push(input);
    },
  };
  return { state, activities };
}

const ran: string[] = [];

const keeperInput = (overrides: Partial<LeaseKeeperInput> = {}): LeaseKeeperInput => ({
  dbMount: 'database',
  role: 'app',
  deliver: { file: '/run/app/db.json', kv: { mount: 'secret', path: 'app/db' } },
  ...overrides,
});

/** Starts a keeper on a fresh task queue with the stand-ins, runs `fn`, then ends the keeper. */
function withKeeper<T>(
  activities: Partial<Activities>,
  input: LeaseKeeperInput,
  fn: (handle: WorkflowHandle<typeof leaseKeeperWorkflow>) => Promise<T>,
): Promise<T> {
  return bed.start(leaseKeeperWorkflow, [input], activities, async (started) => {
    ran.push(started.workflowId);
    // A handle on the workflow id follows it across continue-as-new.
    const handle = bed.env.client.workflow.getHandle<typeof leaseKeeperWorkflow>(started.workflowId);
    try {
      return await fn(handle);
    } finally {
      await handle.terminate('test over').catch(() => {});
    }
  });
}

const status = (handle: WorkflowHandle<typeof leaseKeeperWorkflow>) => handle.query(leaseKeeperStatusQuery);

/** Waits (in real time: nothing is skipped) until the keeper's status satisfies `pred`. */
async function until(
  handle: WorkflowHandle<typeof leaseKeeperWorkflow>,
  pred: (s: LeaseKeeperStatus) => boolean,
  what: string,
): Promise<LeaseKeeperStatus> {
  for (let waited = 0; ; waited += 50) {
    const s = await status(handle);
    if (pred(s)) return s;
    if (waited > 20_000) throw new Error(`the keeper never got to: ${what} (status ${JSON.stringify(s)})`);
    await sleep(50);
  }
}

const issued = (handle: WorkflowHandle<typeof leaseKeeperWorkflow>) =>
  until(handle, (s) => s.leaseId !== null && s.phase === 'waiting', 'a first lease');

describe('leaseKeeperWorkflow (time-skipping, stand-in activities)', () => {
  it('renews at 2/3 of the lease, asking for the issued duration each time', async () => {
    const { state, activities } = standIn({ duration: 60 });
    const s = await withKeeper(activities, keeperInput(), async (handle) => {
      const first = await issued(handle);
      expect(first.nextAction).toBe('renew');
      expect(Date.parse(first.nextActionAt ?? '') - Date.parse(first.expiresAt ?? '')).toBe(-20_000);
      await bed.env.sleep(130_000); // renewals due at 40 s, 80 s and 120 s
      return until(handle, (x) => x.renewals === 3 && x.phase === 'waiting', 'three renewals');
    });
    expect(state.issued).toEqual(['database/creds/app/lease-1']);
    expect(state.increments).toEqual([60, 60, 60]);
    expect(s).toMatchObject({
      leaseId: 'database/creds/app/lease-1',
      reissues: 0,
      alerts: 0,
      lastError: null,
    });
    expect(state.revoked).toEqual([]);
  });

  it('renews at renewBefore its expiry when that is given', async () => {
    const { state, activities } = standIn({ duration: 60 });
    await withKeeper(activities, keeperInput({ renewBeforeMs: 10_000 }), async (handle) => {
      const first = await issued(handle);
      expect(Date.parse(first.expiresAt ?? '') - Date.parse(first.nextActionAt ?? '')).toBe(10_000);
      await bed.env.sleep(45_000);
      expect((await status(handle)).renewals).toBe(0); // not at 40 s
      await bed.env.sleep(10_000);
      await until(handle, (x) => x.renewals === 1, 'a renewal at 50 s');
    });
    expect(state.increments).toEqual([60]);
  });

  it('renewal refused: fresh credentials are issued and delivered, the old lease revoked', async () => {
    const { state, activities } = standIn({ renewals: ['refuse'] });
    const s = await withKeeper(activities, keeperInput(), async (handle) => {
      await issued(handle);
      await bed.env.sleep(45_000);
      return until(handle, (x) => x.reissues === 1 && x.retiring.length === 0, 'a reissue');
    });
    expect(state.calls).toEqual(['issue', 'renew', 'issue', 'revoke']);
    expect(state.revoked).toEqual(['database/creds/app/lease-1']);
    expect(s.leaseId).toBe('database/creds/app/lease-2');
    expect(s.nextAction).toBe('renew');
    expect(s.lastError?.message).toMatch(/renewal refused: lease not found/);
  });

  it('max TTL near: a renewal cut to within the window brings fresh credentials at once', async () => {
    // The second renewal (at 80 s) is granted 10 s of the 60 asked: less than the 20 s window.
    const { state, activities } = standIn({ renewals: ['grant', 10] });
    const s = await withKeeper(activities, keeperInput(), async (handle) => {
      await issued(handle);
      await bed.env.sleep(85_000);
      return until(handle, (x) => x.reissues === 1 && x.retiring.length === 0, 'a reissue');
    });
    expect(state.calls).toEqual(['issue', 'renew', 'renew', 'issue', 'revoke']);
    const [issuedAt, , cappedAt, reissuedAt] = state.times as [number, number, number, number];
    expect(cappedAt - issuedAt).toBeGreaterThanOrEqual(79_000);
    expect(reissuedAt - cappedAt).toBeLessThan(500); // at once, not at the next wake-up
    expect(state.revoked).toEqual(['database/creds/app/lease-1']);
    expect(s).toMatchObject({ leaseId: 'database/creds/app/lease-2', maxTtlReached: false, renewals: 2 });
  });

  it('max TTL near: a capped renewal with time to spare reissues before it runs out, then revokes after the overlap', async () => {
    // At 80 s the renewal is granted 30 s (until 110 s): fresh credentials are due at 110 - 20 = 90 s.
    const { state, activities } = standIn({ renewals: ['grant', 30] });
    await withKeeper(activities, keeperInput({ overlapMs: 15_000 }), async (handle) => {
      await issued(handle);
      await bed.env.sleep(85_000);
      const capped = await until(
        handle,
        (x) => x.renewals === 2 && x.phase === 'waiting',
        'a capped renewal',
      );
      expect(capped).toMatchObject({ maxTtlReached: true, nextAction: 'reissue', reissues: 0 });
      expect(Date.parse(capped.expiresAt ?? '') - Date.parse(capped.nextActionAt ?? '')).toBe(20_000);
      await bed.env.sleep(7_000);
      const replaced = await until(handle, (x) => x.reissues === 1, 'a reissue at 90 s');
      // The old lease stays valid through the overlap for clients still using it.
      expect(replaced.retiring).toEqual(['database/creds/app/lease-1']);
      expect(state.revoked).toEqual([]);
      await bed.env.sleep(16_000);
      await until(handle, (x) => x.retiring.length === 0, 'the old lease revoked after the overlap');
    });
    expect(state.calls).toEqual(['issue', 'renew', 'renew', 'issue', 'revoke']);
    const [issuedAt, , , reissuedAt, revokedAt] = state.times as number[];
    // Fresh credentials at 90 s (window before the capped expiry at 110 s), revoked 15 s later.
    expect((reissuedAt as number) - (issuedAt as number)).toBeGreaterThanOrEqual(89_000);
    expect((reissuedAt as number) - (issuedAt as number)).toBeLessThan(91_000);
    expect((revokedAt as number) - (reissuedAt as number)).toBeGreaterThanOrEqual(14_500);
    expect(state.revoked).toEqual(['database/creds/app/lease-1']);
  });

  it('failures past the expiry: one alert per episode, retries with backoff, recovers by reissuing', async () => {
    const { state, activities } = standIn({ duration: 60 });
    await withKeeper(
      activities,
      keeperInput({ retryInitialMs: 5_000, retryMaxMs: 60_000 }),
      async (handle) => {
        await issued(handle);
        state.down = true;
        await bed.env.sleep(10 * 60_000);
        const failing = await until(handle, (x) => x.failing, 'an episode');
        expect(failing.alerts).toBe(1);
        expect(failing.lastError?.message).toMatch(/stand-in Vault is unreachable/);
        const attempts = state.calls.filter((c) => c === 'issue' || c === 'renew').length;
        expect(attempts).toBeGreaterThan(6); // it kept trying
        expect(attempts).toBeLessThan(60); // ... with backoff, not in a busy loop
        expect(state.alerts).toHaveLength(1);
        expect(state.alerts[0]).toMatchObject({
          event: 'lease-not-kept',
          episode: 1,
          cluster: 'default',
          detail: expect.objectContaining({
            credentials: 'database/creds/app',
            leaseId: 'database/creds/app/lease-1',
          }),
        });

        state.down = false;
        await bed.env.sleep(2 * 60_000);
        const recovered = await until(handle, (x) => !x.failing && x.reissues === 1, 'a recovery');
        expect(recovered.leaseId).toBe('database/creds/app/lease-2');

        // A second outage is a second episode: a second alert.
        state.down = true;
        await bed.env.sleep(10 * 60_000);
        await until(handle, (x) => x.failing && x.alerts === 2, 'a second episode');
      },
    );
    expect(state.alerts.map((a) => a.episode)).toEqual([1, 2]);
    expect(JSON.stringify(state.alerts)).not.toMatch(/[0-9a-f]{32}/); // no password in an alert
  });

  it('cancelled: revokes the current lease and any in their overlap, and removes the file if asked', async () => {
    const { state, activities } = standIn({ renewals: ['refuse'] });
    const input = keeperInput({ overlapMs: 10 * 60_000, removeFileOnCancel: true });
    const outcome = await withKeeper(activities, input, async (handle) => {
      await issued(handle);
      await bed.env.sleep(45_000);
      await until(handle, (x) => x.reissues === 1, 'a reissue');
      expect(state.revoked).toEqual([]); // lease-1 is in its overlap
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { err, final: await status(handle) };
    });
    expect(outcome.err).toBeInstanceOf(WorkflowFailedError);
    expect((outcome.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(new Set(state.revoked)).toEqual(
      new Set(['database/creds/app/lease-1', 'database/creds/app/lease-2']),
    );
    expect(state.removed).toEqual([{ path: '/run/app/db.json', leaseId: 'database/creds/app/lease-2' }]);
    expect(outcome.final).toMatchObject({ phase: 'revoked', retiring: [], nextAction: null });
  });

  it('cancelled without removeFileOnCancel: revokes, leaves the file', async () => {
    const { state, activities } = standIn();
    await withKeeper(activities, keeperInput(), async (handle) => {
      await issued(handle);
      await handle.cancel();
      await handle.result().catch(() => {});
    });
    expect(state.revoked).toEqual(['database/creds/app/lease-1']);
    expect(state.removed).toEqual([]);
  });

  it('continues as new after N cycles, carrying the lease and its counts', async () => {
    const { state, activities } = standIn({ duration: 60 });
    await withKeeper(activities, keeperInput({ cyclesPerRun: 2 }), async (handle) => {
      const firstRun = (await handle.describe()).runId;
      await issued(handle);
      await bed.env.sleep(130_000);
      const s = await until(handle, (x) => x.renewals === 3 && x.phase === 'waiting', 'three renewals');
      expect(s.run).toBe(2);
      expect(s.leaseId).toBe('database/creds/app/lease-1');
      expect((await handle.describe()).runId).not.toBe(firstRun);
      // The first run: an issue, two renewals and the continue-as-new.
      await keepHistory(
        'lease-keeper-renewed-continued',
        bed.env.client.workflow.getHandle(handle.workflowId, firstRun),
      );
    });
    expect(state.issued).toHaveLength(1); // the new run renews the lease it was handed
  });

  it('refuses bad input with a clear, typed failure, and a first issue the role cannot serve', async () => {
    const { activities, state } = standIn();
    const failureOf = async (input: LeaseKeeperInput) =>
      withKeeper(activities, input, async (handle) => {
        const err = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowFailedError);
        return (err as WorkflowFailedError).cause as ApplicationFailure;
      });
    const relative = await failureOf(keeperInput({ deliver: { file: 'db.json' } }));
    expect(relative.type).toBe('LeaseBadInput');
    expect(relative.message).toMatch(/must be an absolute path/);
    const nowhere = await failureOf(keeperInput({ deliver: {} }));
    expect(nowhere.message).toMatch(/give a file, a KV v2 path, or both/);
    expect(state.calls).toEqual([]);

    const unknownRole = standIn({
      issueFailure: ApplicationFailure.create({
        type: 'VaultInvalidRequest',
        nonRetryable: true,
        message: 'GET database/creds/nope: unknown role: nope',
      }),
    });
    const role = await withKeeper(unknownRole.activities, keeperInput({ role: 'nope' }), async (handle) => {
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      return (err as WorkflowFailedError).cause as ApplicationFailure;
    });
    expect(role.type).toBe('VaultInvalidRequest');
    expect(role.message).toMatch(/cannot issue credentials from database\/creds\/nope: .*unknown role/);
    expect(unknownRole.state.calls).toEqual(['issue']);
  });

  it('leaves no credential in the history', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
