// Break-glass: emergency access, approved by a quorum, time-boxed, revoked automatically, audited.
//
//   approve  N of M approvers say yes (one rejection, or the deadline, ends it: no token is made)
//   create   an orphan token with the one policy, its TTL and use count bounded; it leaves the
//            worker only as a single-use wrapping token sealed to the requester's public key
//   active   until its time is up (a durable timer) or someone revokes it (`break-glass revoke`)
//   revoke   by accessor, idempotent
//
// No token is ever in this workflow's history: inputs, results and queries carry the accessor and
// ciphertext only. The `breakGlassAudit` query tells who asked, why, who approved, and what became
// of the token.
import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BreakGlassActivities } from '../../activities/break-glass/emergency-token.js';
import {
  type BreakGlassAudit,
  type BreakGlassDelivery,
  BreakGlassFailureType,
  type BreakGlassInput,
  breakGlassProblems,
  DEFAULT_WRAP_TTL,
  newBreakGlassAudit,
  type RevokeRequest,
  revokeRefusal,
} from '../../common/break-glass/break-glass.js';
import { presets } from '../lib/activity-presets.js';
import { type ApprovalGate, approvalGate } from '../lib/approval.js';
import { createSaga } from '../lib/saga.js';
import { SEAL_AWARE_RETRY, sealAware } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import {
  breakGlassAuditQuery,
  breakGlassCollectedSignal,
  breakGlassDeliveryQuery,
  revokeBreakGlassUpdate,
} from './messages.js';

// 2 minutes: a retried attempt may list every token accessor first.
const vault = proxyActivities<BreakGlassActivities>(presets.vaultCall);

// A revocation must land: keep trying for longer than a create would. The token's own TTL (its
// explicit max) still ends it if Vault refuses for good.
const revoking = proxyActivities<BreakGlassActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { ...SEAL_AWARE_RETRY, maximumAttempts: 12, maximumInterval: '1 minute' },
});

export type BreakGlassResult = BreakGlassAudit;

export async function breakGlassWorkflow(input: BreakGlassInput): Promise<BreakGlassResult> {
  const steps = trackSteps(['approve', 'create', 'active', 'revoke']);
  const saga = createSaga({ steps });
  const audit = newBreakGlassAudit(input, Date.now());
  let delivery: BreakGlassDelivery | undefined;
  let revokeRequest: (RevokeRequest & { at: string }) | undefined;
  let gate: ApprovalGate | undefined;

  // The approvals as they come in, not only once the gate has decided.
  const auditNow = (): BreakGlassAudit => {
    const approval = gate?.state();
    return approval && approval.status !== 'not-open'
      ? { ...audit, approvals: approval.approvals, rejections: approval.rejections }
      : { ...audit };
  };
  setHandler(breakGlassAuditQuery, auditNow, {
    description: 'who asked, why, who approved, the token accessor, created/expires/revoked at',
  });
  setHandler(
    breakGlassDeliveryQuery,
    () => ({
      status: audit.status,
      wrapExpiresAt: audit.wrapExpiresAt,
      // Ciphertext only its requester can open; gone once collected or revoked.
      sealedWrappingToken:
        audit.status === 'active' && audit.collectedAt === null
          ? (delivery?.sealedWrappingToken ?? null)
          : null,
    }),
    { description: 'the wrapping token, sealed to the requester’s key, for `break-glass collect`' },
  );
  setHandler(
    revokeBreakGlassUpdate,
    async (request) => {
      const refusal = revokeRefusal(audit, request);
      if (refusal !== undefined) throw refused(refusal); // the validator does not run on replay
      // A token already being revoked (its time is up) keeps the reason it has.
      if (revokeRequest === undefined && (audit.status === 'creating' || audit.status === 'active')) {
        revokeRequest = { by: request.by.trim(), reason: request.reason.trim(), at: now() };
        audit.revokeRequestedAt = revokeRequest.at;
      }
      await condition(() => audit.status === 'revoked' || audit.status === 'failed');
      return auditNow();
    },
    {
      validator: (request) => {
        const refusal = revokeRefusal(audit, request);
        if (refusal !== undefined) throw refused(refusal);
      },
      description: 'revoke the emergency token now: { by, reason }',
    },
  );
  setHandler(breakGlassCollectedSignal, ({ by, at }) => {
    if (audit.collectedAt !== null) return;
    audit.collectedAt = typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? at : now();
    audit.collectedBy = typeof by === 'string' && by.trim() !== '' ? by.trim() : 'unknown';
  });

  // Before anything else: a bad request, or a policy that can gate nothing, changes nothing.
  try {
    gate = approvalGate(input.approval);
    const problems = breakGlassProblems(input);
    if (problems.length > 0) {
      throw ApplicationFailure.create({
        type: BreakGlassFailureType.InvalidRequest,
        message: `the break-glass request is not valid: ${problems.join('; ')}`,
        nonRetryable: true,
      });
    }
  } catch (err) {
    audit.status = 'rejected';
    audit.error = failureDetail(err);
    throw err;
  }
  const approvalGateOf: ApprovalGate = gate;
  const cluster = input.cluster ?? 'default';

  try {
    await saga.run(async () => {
      // Who approved is read from the gate itself (auditNow): no copy to keep in step.
      await steps.run('approve', () => approvalGateOf.approved(), { as: 'waiting-approval' });

      audit.status = 'creating';
      // Not cancellable: a cancellation must not leave behind a token created after we stopped
      // listening. It is seen at the next wait, once the token is known and can be revoked.
      const created = await steps.run('create', () =>
        CancellationScope.nonCancellable(() =>
          sealAware(
            'create',
            () =>
              vault.createBreakGlassToken({
                workflowId: workflowInfo().workflowId,
                policy: input.policy,
                ttl: input.ttl,
                numUses: input.numUses,
                requester: audit.requester,
                recipientPublicKey: input.recipientPublicKey,
                wrapTtl: input.wrapTtl ?? DEFAULT_WRAP_TTL,
                cluster,
              }),
            {
              cluster,
              onQueued: () => steps.set('create', 'queued-sealed'),
              onReleased: () => steps.set('create', 'running'),
            },
          ),
        ),
      );
      delivery = created;
      // From here on, whatever happens (cancellation included), the token is revoked.
      saga.add('create', () => revokeToken(revokeRequest ? 'on request' : 'cancelled'));
      Object.assign(audit, {
        status: 'active',
        accessor: created.accessor,
        wrapAccessor: created.wrapAccessor,
        createdAt: created.createdAt,
        expiresAt: created.expiresAt,
        wrapExpiresAt: created.wrapExpiresAt,
      });

      // The time box: a durable timer from the token's creation, cut short by a revoke request.
      const remainingMs = Date.parse(created.expiresAt) - Date.now();
      await steps.run(
        'active',
        async () => {
          await condition(() => revokeRequest !== undefined, Math.max(remainingMs, 1));
        },
        { as: 'running' },
      );
    });
  } catch (err) {
    // Approval rejected, expired or cancelled before a token existed; or the create failed for
    // good; or the workflow was cancelled while the token was active (the saga revoked it).
    if (audit.status === 'awaiting-approval' || audit.status === 'creating') {
      audit.status = audit.status === 'creating' ? 'failed' : 'rejected';
      audit.error = failureDetail(err);
    }
    throw err;
  }

  try {
    await steps.run('revoke', () => revokeToken(revokeRequest ? 'on request' : 'expired'));
  } finally {
    // A revoke update still waiting for its answer gets it before the workflow closes.
    await condition(allHandlersFinished);
  }
  return auditNow();

  async function revokeToken(why: 'expired' | 'on request' | 'cancelled'): Promise<void> {
    const accessor = delivery?.accessor;
    if (accessor === undefined) return;
    audit.status = 'revoking';
    // Not cancellable: a cancelled workflow must still revoke the token it made.
    await CancellationScope.nonCancellable(async () => {
      try {
        const { revoked } = await sealAware(
          'revoke',
          () => revoking.revokeBreakGlassToken({ accessor, cluster }),
          { cluster },
        );
        Object.assign(audit, {
          status: 'revoked',
          revokedAt: now(),
          revokedBy: {
            'on request': revokeRequest?.by ?? 'unknown',
            expired: 'vaultops (time box ended)',
            cancelled: 'vaultops (workflow cancelled)',
          }[why],
          revokeReason: why === 'on request' ? `on request: ${revokeRequest?.reason ?? ''}` : why,
          alreadyGone: !revoked,
        });
      } catch (err) {
        audit.status = 'failed';
        audit.error = `revocation failed (the token still ends at ${audit.expiresAt}): ${failureDetail(err)}`;
        throw err;
      }
    });
  }
}

function now(): string {
  return new Date(Date.now()).toISOString();
}

function refused(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: BreakGlassFailureType.RevokeRefused,
    message,
    nonRetryable: true,
  });
}
