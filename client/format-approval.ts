// Human-readable steps and approval gates for `vaultops status`, `approve` and `reject`.
// Type-only imports: formatting loads no workflow code.
import { type ApprovalState, describeApproval } from '../common/approval.js';
import type { WorkflowStatusReport } from '../workflows/lib/status.js';

export function formatSteps(report: WorkflowStatusReport): string[] {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  return report.steps.map((s, i) => {
    const since = s.since && s.state !== 'pending' ? ` since ${s.since}` : '';
    const detail = s.detail ? `: ${s.detail}` : '';
    return `${i === 0 ? 'Steps      ' : '           '} ${s.name.padEnd(width)}  ${s.state}${since}${detail}`;
  });
}

export function formatApproval(state: ApprovalState): string[] {
  const lines = [
    `Approval    ${describeApproval(state)}`,
    `            needs ${state.quorum} of ${state.approvers.join(', ')}; requested by ${state.requester}`,
  ];
  for (const v of state.approvals)
    lines.push(`            approved by ${v.approver} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
  for (const v of state.rejections)
    lines.push(`            rejected by ${v.approver} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
  return lines;
}
