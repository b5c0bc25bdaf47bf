// An approved change, the shape later runbooks take: take a lock, stage the change, wait for the
// approvers, apply it, release the lock. If the approvers reject it, the deadline passes, a step
// fails or the workflow is cancelled, the staged change and the lock are undone, newest first.
// The "change" here is KV markers, so the example shows the plumbing and nothing else.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ApprovalPolicy, ApprovalVote } from '../../common/approval.js';
import { approvalGate } from '../lib/approval.js';
import { createSaga } from '../lib/saga.js';
import { trackSteps } from '../lib/status.js';

/**
 * What this example asks of the worker. Not among the worker's real activities yet: the unit
 * tests run it with stand-ins. Both must be idempotent (deleting a missing marker succeeds).
 */
export interface ChangeMarkerActivities {
  writeChangeMarker(input: { path: string; value: string }): Promise<void>;
  deleteChangeMarker(input: { path: string }): Promise<void>;
}

const kv = proxyActivities<ChangeMarkerActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
});

export interface ApprovedChangeInput {
  /** KV path under which the markers are written: `<path>/lock`, `<path>/staged`, `<path>/applied`. */
  path: string;
  approval: ApprovalPolicy;
}

export interface ApprovedChangeResult {
  applied: string;
  approvals: ApprovalVote[];
}

export async function approvedChangeWorkflow(input: ApprovedChangeInput): Promise<ApprovedChangeResult> {
  const steps = trackSteps(['lock', 'stage', 'approve', 'apply', 'unlock']);
  const saga = createSaga({ steps });
  const gate = approvalGate(input.approval); // before any write: a bad policy changes nothing
  const { workflowId } = workflowInfo();
  const lock = { path: `${input.path}/lock` };
  const staged = { path: `${input.path}/staged` };
  const applied = { path: `${input.path}/applied` };

  const approval = await saga.run(async () => {
    await steps.run('lock', () => kv.writeChangeMarker({ ...lock, value: workflowId }));
    saga.add('lock', () => kv.deleteChangeMarker(lock));

    await steps.run('stage', () =>
      kv.writeChangeMarker({ ...staged, value: `requested by ${gate.state().requester}` }),
    );
    saga.add('stage', () => kv.deleteChangeMarker(staged));

    const approval = await steps.run('approve', () => gate.approved(), { as: 'waiting-approval' });

    const approvers = approval.approvals.map((v) => v.approver).join(', ');
    await steps.run('apply', () => kv.writeChangeMarker({ ...applied, value: `approved by ${approvers}` }));
    return approval;
  });

  // Applied: the lock goes whatever happens next, so it is no longer the saga's to undo.
  await steps.run('unlock', () => kv.deleteChangeMarker(lock));
  return { applied: applied.path, approvals: approval.approvals };
}
