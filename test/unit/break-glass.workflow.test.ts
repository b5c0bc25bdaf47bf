// Break-glass in Temporal's time-skipping environment, with stand-in activities: the quorum, the
// time box (a durable timer), an early revoke, a rejection, a cancellation, and a history that
// never holds the token. The stand-in seals its "wrapping token" to the requester's key for real,
// so the test also opens what the workflow delivers.
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type {
  BreakGlassActivities,
  CreateBreakGlassTokenInput,
  RevokeBreakGlassTokenInput,
} from '../../activities/break-glass/emergency-token.js';
import type { BreakGlassDelivery, BreakGlassInput } from '../../common/break-glass/break-glass.js';
import { generateRecipientKeyPair, open, seal } from '../../common/sealed-box.js';
import { breakGlassWorkflow } from '../../workflows/break-glass/break-glass.js';
import {
  breakGlassAuditQuery,
  breakGlassCollectedSignal,
  breakGlassDeliveryQuery,
  revokeBreakGlassUpdate,
} from '../../workflows/break-glass/messages.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { stepStates, useApprovalTestBed, waitForStep } from '../harness/approved-change.js';
import { keepHistory } from '../histories/keep.js';

const bed = useApprovalTestBed();

interface StandIns extends BreakGlassActivities {
  calls: string[];
  token: string;
  wrappingToken: string;
  created: CreateBreakGlassTokenInput[];
}

/** Stand-ins for the Vault side: the "token" exists only in this process, as the real one does. */
function standIns(): StandIns {
  const calls: string[] = [];
  const created: CreateBreakGlassTokenInput[] = [];
  const token = `hvs.EMERGENCY-${randomBytes(12).toString('hex')}`;
  const wrappingToken = `hvs.WRAPPING-${randomBytes(12).toString('hex')}`;
  return {
    calls,
    created,
    token,
    wrappingToken,
    async createBreakGlassToken(input: CreateBreakGlassTokenInput): Promise<BreakGlassDelivery> {
      calls.push('create');
      created.push(input);
      // Server time (skipped time included), as the workflow's timer counts it.
      const at = Context.current().info.currentAttemptScheduledTimestampMs;
      const ttlSeconds = 3600;
      return {
        accessor: 'accessor-1',
        policies: [input.policy],
        ttlSeconds,
        numUses: input.numUses,
        createdAt: new Date(at).toISOString(),
        expiresAt: new Date(at + ttlSeconds * 1000).toISOString(),
        wrapAccessor: 'wrap-accessor-1',
        wrapExpiresAt: new Date(at + 300_000).toISOString(),
        // The token would be inside the wrapping; the stand-in only keeps it in this process.
        sealedWrappingToken: seal(input.recipientPublicKey, wrappingToken),
      };
    },
    async revokeBreakGlassToken(input: RevokeBreakGlassTokenInput) {
      calls.push(`revoke ${input.accessor}`);
      return { revoked: true };
    },
  };
}

const keys = generateRecipientKeyPair();

const request = (overrides: Partial<BreakGlassInput> = {}): BreakGlassInput => ({
  policy: 'db-admin',
  ttl: '1h',
  reason: 'INC-4711 primary database down',
  numUses: 20,
  approval: { requester: 'carol', approvers: ['alice', 'bob', 'dave'], quorum: 2, timeout: '30m' },
  recipientPublicKey: keys.publicKey,
  ...overrides,
});

/** Starts a break-glass workflow on a fresh task queue and runs `fn` while the stand-ins serve it. */
function withBreakGlass<T>(
  activities: StandIns,
  input: BreakGlassInput,
  fn: (id: string) => Promise<T>,
): Promise<T> {
  return bed.withWorker(activities, async (taskQueue) => {
    await bed.env.client.workflow.start(breakGlassWorkflow, {
      taskQueue,
      workflowId: taskQueue,
      args: [input],
    });
    return fn(taskQueue);
  });
}

const handle = (id: string) => bed.env.client.workflow.getHandle<typeof breakGlassWorkflow>(id);
const approve = (id: string, approver: string) =>
  handle(id).executeUpdate(approveUpdate, { args: [{ approver, reason: 'seen the incident' }] });

async function failureOf(id: string): Promise<Error | undefined> {
  const err = await handle(id)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause;
}

/** The history as JSON with every payload decoded, so a value in any payload shows up as itself. */
async function historyText(id: string): Promise<string> {
  const history = await handle(id).fetchHistory();
  return JSON.stringify(history, (key, value: unknown) => {
    // fetchHistory() gives payload bytes as base64 text; other clients as bytes.
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    const b = value as { type?: unknown; data?: unknown };
    if (b && b.type === 'Buffer' && Array.isArray(b.data)) return Buffer.from(b.data).toString('utf8');
    return value;
  });
}

describe('break-glass workflow', () => {
  it('creates the token once 2 of 3 approve, delivers it sealed, and revokes it when the hour is up', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      expect((await handle(id).query(breakGlassAuditQuery)).status).toBe('awaiting-approval');
      expect((await handle(id).query(breakGlassDeliveryQuery)).sealedWrappingToken).toBeNull();
      await approve(id, 'alice');
      expect(vault.calls).toEqual([]);
      await approve(id, 'bob');
      await waitForStep(bed.env, id, 'active', 'running');
      expect(vault.created).toEqual([
        expect.objectContaining({
          workflowId: id,
          policy: 'db-admin',
          ttl: '1h',
          numUses: 20,
          requester: 'carol',
          wrapTtl: '5m',
          recipientPublicKey: keys.publicKey,
        }),
      ]);

      // What `collect` reads: only the requester's private key opens it.
      const delivery = await handle(id).query(breakGlassDeliveryQuery);
      expect(delivery.status).toBe('active');
      expect(open(keys.privateKeyPem, delivery.sealedWrappingToken ?? ({} as never))).toBe(
        vault.wrappingToken,
      );
      expect(() =>
        open(generateRecipientKeyPair().privateKeyPem, delivery.sealedWrappingToken ?? ({} as never)),
      ).toThrow(/does not open/);
      const collectedAt = new Date().toISOString();
      await handle(id).signal(breakGlassCollectedSignal, { by: 'carol', at: collectedAt });
      // Collected: the ciphertext is no longer handed out.
      await expect
        .poll(async () => (await handle(id).query(breakGlassDeliveryQuery)).sealedWrappingToken)
        .toBeNull();

      // Awaiting the result lets the server skip the hour: the timer fires and the token is revoked.
      const audit = await handle(id).result();
      expect(vault.calls).toEqual(['create', 'revoke accessor-1']);
      expect(audit).toMatchObject({
        status: 'revoked',
        requester: 'carol',
        reason: 'INC-4711 primary database down',
        policy: 'db-admin',
        numUses: 20,
        accessor: 'accessor-1',
        wrapAccessor: 'wrap-accessor-1',
        collectedBy: 'carol',
        collectedAt, // as the collector reported it: the same on every replay
        revokedBy: 'vaultops (time box ended)',
        revokeReason: 'expired',
        alreadyGone: false,
        error: null,
      });
      expect(audit.approvals.map((v) => v.approver)).toEqual(['alice', 'bob']);
      const lived = Date.parse(audit.revokedAt ?? '') - Date.parse(audit.createdAt ?? '');
      expect(lived).toBeGreaterThanOrEqual(3_600_000);
      expect(lived).toBeLessThan(3_600_000 + 60_000);
      expect(Date.parse(audit.expiresAt ?? '') - Date.parse(audit.createdAt ?? '')).toBe(3_600_000);
      expect(await stepStates(bed.env, id)).toEqual({
        approve: 'done',
        create: 'done',
        active: 'done',
        revoke: 'done',
      });
      expect(await handle(id).query(breakGlassAuditQuery)).toEqual(audit);

      // Neither the token nor the wrapping token is anywhere in the history; the accessor is
      // (which shows the payloads were read as text).
      const history = await historyText(id);
      expect(history).toContain('accessor-1');
      expect(history).toContain('INC-4711');
      expect(history).not.toContain(vault.token);
      expect(history).not.toContain(vault.wrappingToken);
      await keepHistory('break-glass-approved-expired', handle(id));
    });
  });

  it('revokes at once on a revoke request, and answers it with the audit trail', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      // Nothing to revoke yet: the request is withdrawn by rejecting it instead.
      const early = await handle(id)
        .executeUpdate(revokeBreakGlassUpdate, { args: [{ by: 'carol', reason: 'fixed' }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((early as WorkflowUpdateFailedError).cause?.message).toContain('no token exists yet');

      await approve(id, 'alice');
      await approve(id, 'dave');
      await waitForStep(bed.env, id, 'active', 'running');
      const audit = await handle(id).executeUpdate(revokeBreakGlassUpdate, {
        args: [{ by: 'alice', reason: 'incident closed' }],
      });
      expect(audit).toMatchObject({
        status: 'revoked',
        revokedBy: 'alice',
        revokeReason: 'on request: incident closed',
      });
      expect(vault.calls).toEqual(['create', 'revoke accessor-1']);
      const result = await handle(id).result();
      expect(result.revokedAt).toBe(audit.revokedAt);
      // Revoked long before the hour was up.
      expect(Date.parse(result.revokedAt ?? '') - Date.parse(result.createdAt ?? '')).toBeLessThan(3_600_000);
    });
  });

  it('creates no token when an approver rejects the request', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await approve(id, 'alice');
      await handle(id).executeUpdate(rejectUpdate, {
        args: [{ approver: 'bob', reason: 'use the runbook' }],
      });
      const failure = await failureOf(id);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).type).toBe('ApprovalRejected');
      expect(vault.calls).toEqual([]);
      const audit = await handle(id).query(breakGlassAuditQuery);
      expect(audit).toMatchObject({ status: 'rejected', accessor: null, createdAt: null, revokedAt: null });
      expect(audit.rejections.map((v) => v.approver)).toEqual(['bob']);
      expect(audit.error).toContain('rejected by bob: use the runbook');
    });
  });

  it('creates no token when the approvers do not answer in time', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request(), async (id) => {
      const failure = await failureOf(id);
      expect((failure as ApplicationFailure).type).toBe('ApprovalExpired');
      expect(vault.calls).toEqual([]);
      expect((await handle(id).query(breakGlassAuditQuery)).status).toBe('rejected');
    });
  });

  it('revokes the token when the workflow is cancelled while it is active', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await approve(id, 'alice');
      await approve(id, 'bob');
      await waitForStep(bed.env, id, 'active', 'running');
      await handle(id).cancel();
      expect(await failureOf(id)).toBeInstanceOf(CancelledFailure);
      expect(vault.calls).toEqual(['create', 'revoke accessor-1']);
      expect(await handle(id).query(breakGlassAuditQuery)).toMatchObject({
        status: 'revoked',
        revokeReason: 'cancelled',
        revokedBy: 'vaultops (workflow cancelled)',
      });
    });
  });

  it('refuses a request beyond the bounds before anything happens', async () => {
    const vault = standIns();
    await withBreakGlass(vault, request({ ttl: '48h', numUses: 0, policy: 'root' }), async (id) => {
      const failure = await failureOf(id);
      expect((failure as ApplicationFailure).type).toBe('InvalidBreakGlassRequest');
      expect(failure?.message).toContain('ttl: at most 24h');
      expect(failure?.message).toContain('uses: a whole number from 1 to 10000');
      expect(failure?.message).toContain('never carries root');
      expect(vault.calls).toEqual([]);
    });
  });
});
