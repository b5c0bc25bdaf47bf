// The approval step of the DR runbooks (failover, failback, replication failover): nobody fences a
// primary alone. Either the approvers' quorum through the gate, or a pre-approved automatic policy
// (`--auto-approve`), named in the status and the report.
import type { ApprovalGate } from './approval.js';
import type { StepTracker } from './status.js';

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
