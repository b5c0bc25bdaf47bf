// The approval step of the DR runbooks (failover, failback, replication failover): nobody fences a
// primary alone. Either the approvers' quorum through the gate, or a pre-approved automatic policy
// (`--auto-approve`), named in the status and the report.
import { ApplicationFailure } from '@temporalio/workflow';
import type { ApprovalPolicy } from '../../../common/approval.js';
import { type ApprovalGate, approvalGate } from '../../lib/approval.js';
import type { StepTracker } from '../../lib/status.js';

/** Returns the line the report keeps: who approved, or whose automatic policy did. */
export async function drApproval<N extends string>(o: {
  gate: ApprovalGate | undefined;
  autoApprove: { by: string } | undefined;
  steps: StepTracker<N>;
  step: N;
}): Promise<string> {
  const { gate, steps, step } = o;
  if (!gate) {
    const by = `pre-approved by the automatic policy of ${o.autoApprove?.by}`;
    steps.set(step, 'done', by);
    return by;
  }
  const decided = await steps.run(step, () => gate.approved(), { as: 'waiting-approval' });
  const by = `approved by ${decided.approvals.map((a) => a.approver).join(', ')}`;
  steps.set(step, 'done', by);
  return by;
}

/**
 * The checks every DR runbook makes of its input before anything runs (non-retryable DrBadInput):
 * two distinct clusters, and exactly one of an approval policy or autoApprove. Returns the gate
 * (a bad policy fails here), or undefined under autoApprove.
 */
export function drApprovalGate(
  input: {
    fromCluster: string;
    toCluster: string;
    approval?: ApprovalPolicy | undefined;
    autoApprove?: { by: string } | undefined;
  },
  runbook: 'failover' | 'failback',
): ApprovalGate | undefined {
  const bad = (message: string) =>
    ApplicationFailure.create({ type: 'DrBadInput', nonRetryable: true, message });
  if (input.fromCluster === input.toCluster)
    throw bad(`a ${runbook} goes to another cluster; both are "${input.fromCluster}"`);
  if (!input.approval === !input.autoApprove)
    throw bad('give either an approval policy or autoApprove (a pre-approved automatic policy)');
  return input.approval ? approvalGate(input.approval) : undefined;
}
