// The approval gate in Temporal's time-skipping environment, through the approved-change example:
// quorum, the validators' refusals, the deadline, and what the queries show at each point.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { ApprovalState } from '../../common/approval.js';
import { approvalStateQuery, approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import type { approvedChangeWorkflow } from '../fixtures/workflows/approved-change.js';
import {
  changeInput,
  markerStandIns,
  stepStates,
  useApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';

const bed = useApprovalTestBed();

const handle = (workflowId: string) =>
  bed.env.client.workflow.getHandle<typeof approvedChangeWorkflow>(workflowId);
const approve = (workflowId: string, approver: string, reason?: string) =>
  handle(workflowId).executeUpdate(approveUpdate, { args: [{ approver, ...(reason ? { reason } : {}) }] });
const reject = (workflowId: string, approver: string, reason: string) =>
  handle(workflowId).executeUpdate(rejectUpdate, { args: [{ approver, reason }] });
const approvalState = (workflowId: string): Promise<ApprovalState> =>
  handle(workflowId).query(approvalStateQuery);

/** The validator's words, from the update call it refused. */
async function refusal(update: Promise<unknown>): Promise<string> {
  const err = await update.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('ApprovalRefused');
  return (cause as ApplicationFailure).message;
}

async function failureOf(workflowId: string): Promise<ApplicationFailure> {
  const err = await handle(workflowId)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('approval gate', () => {
  it('completes once 2 of 3 approvers approve; the queries show each point', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      expect(await stepStates(bed.env, id)).toEqual({
        lock: 'done',
        stage: 'done',
        approve: 'waiting-approval',
        apply: 'pending',
        unlock: 'pending',
      });
      const waiting = await approvalState(id);
      expect(waiting).toMatchObject({
        status: 'pending',
        quorum: 2,
        requester: 'carol',
        approvers: ['alice', 'bob', 'carol'],
        approvals: [],
        rejections: [],
      });
      // The deadline is a durable timer from the gate's opening, in workflow time.
      const { steps } = await handle(id).query(workflowStatusQuery);
      const openedAt = Date.parse(steps.find((s) => s.name === 'approve')?.since ?? '');
      expect(Date.parse(waiting.deadline ?? '') - openedAt).toBe(3_600_000);

      const afterAlice = await approve(id, 'alice', 'CHG-1234 reviewed');
      expect(afterAlice.status).toBe('pending');
      expect(afterAlice.approvals).toEqual([
        { approver: 'alice', reason: 'CHG-1234 reviewed', at: expect.any(String) },
      ]);
      expect(await approvalState(id)).toEqual(afterAlice);

      const afterBob = await approve(id, 'bob');
      expect(afterBob.status).toBe('approved');
      expect(afterBob.approvals.map((v) => v.approver)).toEqual(['alice', 'bob']);

      const result = await handle(id).result();
      expect(result.approvals.map((v) => v.approver)).toEqual(['alice', 'bob']);
      expect(markers.calls).toEqual(['write lock', 'write staged', 'write applied', 'delete lock']);
      expect(await stepStates(bed.env, id)).toEqual({
        lock: 'done',
        stage: 'done',
        approve: 'done',
        apply: 'done',
        unlock: 'done',
      });
      expect((await approvalState(id)).status).toBe('approved');
    });
  });

  it('refuses self-approval, unknown approvers and a second approval; the workflow keeps waiting', async () => {
    let releaseApply = () => {};
    const applyBlocked = new Promise<void>((resolve) => {
      releaseApply = resolve;
    });
    const markers = markerStandIns({
      writeChangeMarker: async ({ path }) => {
        if (path.endsWith('/applied')) await applyBlocked;
      },
    });
    const input = changeInput({ approvers: ['alice', 'bob', 'carol', 'dave'] });
    await bed.withChange(markers, input, async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await approve(id, 'alice');

      expect(await refusal(approve(id, 'carol'))).toBe('carol requested this change and cannot approve it');
      expect(await refusal(approve(id, 'mallory'))).toBe(
        'mallory is not an approver of this change (approvers: alice, bob, carol, dave)',
      );
      expect(await refusal(approve(id, 'Alice '))).toBe(
        'alice has already approved; 2 distinct approvers are needed',
      );
      expect(await refusal(reject(id, 'mallory', 'no'))).toContain('mallory is not an approver');
      expect(await refusal(reject(id, 'bob', ' '))).toBe('a rejection needs a reason (--reason <text>)');

      // Nothing refused was recorded, and the gate still waits.
      const state = await approvalState(id);
      expect(state.status).toBe('pending');
      expect(state.approvals.map((v) => v.approver)).toEqual(['alice']);
      expect((await stepStates(bed.env, id)).approve).toBe('waiting-approval');

      await approve(id, 'bob');
      await waitForStep(bed.env, id, 'apply', 'running');
      // Decided: nothing more is taken, neither an approval nor a rejection.
      expect(await refusal(approve(id, 'dave'))).toBe(
        'the approval is already decided: approved by alice, bob',
      );
      expect(await refusal(reject(id, 'dave', 'too late'))).toContain('already decided');
      releaseApply();
      await handle(id).result();
    });
  });

  it('refuses an approval sent before the workflow reaches its gate', async () => {
    let releaseLock = () => {};
    const lockBlocked = new Promise<void>((resolve) => {
      releaseLock = resolve;
    });
    const markers = markerStandIns({
      writeChangeMarker: async ({ path }) => {
        if (path.endsWith('/lock')) await lockBlocked;
      },
    });
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'lock', 'running');
      expect((await approvalState(id)).status).toBe('not-open');
      expect(await refusal(approve(id, 'alice'))).toBe('the workflow has not reached its approval step yet');
      releaseLock();
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await reject(id, 'carol', 'withdrawn by the requester');
      expect((await failureOf(id)).type).toBe('ApprovalRejected');
    });
  });

  it('counts as rejected when the deadline passes, and undoes the steps newest first', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await approve(id, 'alice', 'fine by me');
      const { deadline } = await approvalState(id);

      // Awaiting the result lets the test server skip time: the hour passes at once.
      const failure = await failureOf(id);
      expect(failure.type).toBe('ApprovalExpired');
      expect(failure.message).toBe(`the change was expired at ${deadline} with 1 of 2 approvals (alice)`);
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);

      expect(await stepStates(bed.env, id)).toEqual({
        lock: 'compensated',
        stage: 'compensated',
        approve: 'failed',
        apply: 'pending',
        unlock: 'pending',
      });
      const state = await approvalState(id);
      expect(state.status).toBe('expired');
      // Decided when the timer fired: at the deadline, give or take the task's few milliseconds.
      expect(Date.parse(state.decidedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(deadline ?? ''));
    });
  });

  it('fails with ApprovalRejected on one rejection, even after an approval', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await approve(id, 'alice');
      const rejected = await reject(id, 'bob', 'not during the freeze');
      expect(rejected.status).toBe('rejected');
      expect(rejected.rejections).toEqual([
        { approver: 'bob', reason: 'not during the freeze', at: expect.any(String) },
      ]);

      const failure = await failureOf(id);
      expect(failure.type).toBe('ApprovalRejected');
      expect(failure.message).toBe('the change was rejected by bob: not during the freeze');
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);
    });
  });

  it('refuses to start on a policy whose quorum cannot be reached, before any write', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput({ quorum: 3 }), async (id) => {
      const failure = await failureOf(id);
      expect(failure.type).toBe('InvalidApprovalPolicy');
      expect(failure.message).toContain('3 approvals needed but only 2 approver(s) other than the requester');
      expect(markers.calls).toEqual([]);
    });
  });
});

describe('approval gate history', () => {
  it('holds no token: every run of this file is scanned, raw and decoded', async () => {
    // Approvers, reasons and marker values are no secrets; a Vault token would be. The stand-ins
    // hold none, so this stands for the root token the real runs use (see the integration suite).
    rememberSecret('hvs.unit-approval-stand-in-root-token', 'stand-in root token');
    const scan = await expectNoSecretsInHistory(bed.env.client, { all: true });
    expect(scan.runs).toBeGreaterThanOrEqual(5);
  });
});
