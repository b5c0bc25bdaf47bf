// Human-readable steps and approval gates for `vaultops status`, `approve` and `reject`.
// Type-only imports: formatting loads no workflow code.
import { type ApprovalState, describeApproval } from '../common/approval.js';
import type { WorkflowStatusReport } from '../workflows/lib/status.js';
import { runnableHints } from './waiting-for.js';

/**
 * A step still pending when its workflow has closed will never run: in a completed workflow it was
 * not needed (the rollback of a migration that succeeded), in a failed one it was not reached.
 */
function stateOf(state: string, workflowStatus: string | undefined): string {
  if (state !== 'pending' || workflowStatus === undefined || workflowStatus === 'RUNNING') return state;
  return workflowStatus === 'COMPLETED' ? 'not needed' : 'not reached';
}

/** The steps, one line each; `workflowStatus` (e.g. COMPLETED) tells how to read a pending one. */
export function formatSteps(report: WorkflowStatusReport, workflowStatus?: string): string[] {
  const width = Math.max(...report.steps.map((s) => s.name.length));
  return report.steps.map((s, i) => {
    const since = s.since && s.state !== 'pending' ? ` since ${s.since}` : '';
    const detail = s.detail ? `: ${runnableHints(s.detail)}` : '';
    const state = stateOf(s.state, workflowStatus);
    return `${i === 0 ? 'Steps      ' : '           '} ${s.name.padEnd(width)}  ${state}${since}${detail}`;
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
