// The saga helper in Temporal's time-skipping environment, through the approved-change example:
// compensations newest first, a failing compensation recorded without stopping the others, the
// original failure rethrown, and cancellation undoing the steps too.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { approvalStateQuery, approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  changeInput,
  markerStandIns,
  stepStates,
  useApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';

const bed = useApprovalTestBed();

const handle = (workflowId: string) => bed.env.client.workflow.getHandle(workflowId);

async function failureOf(workflowId: string): Promise<Error | undefined> {
  const err = await handle(workflowId)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause;
}

const stepDetail = async (workflowId: string, step: string) =>
  (await handle(workflowId).query(workflowStatusQuery)).steps.find((s) => s.name === step)?.detail;

describe('saga', () => {
  it('undoes the earlier steps newest first when a step fails, and fails with that step’s error', async () => {
    const markers = markerStandIns({
      writeChangeMarker: async ({ path }) => {
        if (path.endsWith('/applied'))
          throw ApplicationFailure.create({
            type: 'VaultPermissionDenied',
            message: 'PUT secret/data/changes/demo/applied: permission denied',
            nonRetryable: true,
          });
      },
    });
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] });
      await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'bob' }] });

      const failure = await failureOf(id);
      // The activity's own failure, as if there had been no saga.
      const cause = failure?.cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('VaultPermissionDenied');
      expect(markers.calls).toEqual([
        'write lock',
        'write staged',
        'write applied',
        'delete staged',
        'delete lock',
      ]);
      expect(await stepStates(bed.env, id)).toEqual({
        lock: 'compensated',
        stage: 'compensated',
        approve: 'done',
        apply: 'failed',
        unlock: 'pending',
      });
      expect(await stepDetail(id, 'apply')).toBe('PUT secret/data/changes/demo/applied: permission denied');
    });
  });

  it('records a compensation that fails and still runs the others', async () => {
    const markers = markerStandIns({
      deleteChangeMarker: async ({ path }) => {
        if (path.endsWith('/staged'))
          throw ApplicationFailure.create({
            type: 'VaultUnavailable',
            message: 'connection refused',
            nonRetryable: true,
          });
      },
    });
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await handle(id).executeUpdate(rejectUpdate, { args: [{ approver: 'alice', reason: 'wrong window' }] });

      const failure = await failureOf(id);
      expect((failure as ApplicationFailure).type).toBe('ApprovalRejected');
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);
      expect(await stepStates(bed.env, id)).toMatchObject({ lock: 'compensated', stage: 'failed' });
      expect(await stepDetail(id, 'stage')).toBe('compensation failed: connection refused');
    });
  });

  it('undoes the steps when the workflow is cancelled while it waits for approval', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] });
      await handle(id).cancel();

      expect(await failureOf(id)).toBeInstanceOf(CancelledFailure);
      expect((await handle(id).describe()).status.name).toBe('CANCELLED');
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);
      expect(await stepStates(bed.env, id)).toMatchObject({
        lock: 'compensated',
        stage: 'compensated',
        approve: 'failed',
      });
      expect(await stepDetail(id, 'approve')).toBe('cancelled');
      expect(await handle(id).query(approvalStateQuery)).toMatchObject({
        status: 'cancelled',
        approvals: [{ approver: 'alice' }],
      });
    });
  });

  it('undoes only the finished steps when the workflow is cancelled during a step', async () => {
    let releaseStage = () => {};
    const stageBlocked = new Promise<void>((resolve) => {
      releaseStage = resolve;
    });
    const markers = markerStandIns({
      writeChangeMarker: async ({ path }) => {
        if (path.endsWith('/staged')) await stageBlocked;
      },
    });
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'stage', 'running');
      await handle(id).cancel();

      expect(await failureOf(id)).toBeInstanceOf(CancelledFailure);
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete lock']);
      expect(await stepStates(bed.env, id)).toMatchObject({ lock: 'compensated', stage: 'failed' });
      releaseStage();
    });
  });
});
