// The approval options the DR commands share (failover, failback): --approver (repeatable or
// comma-separated), --quorum, --approval-timeout, or --auto-approve (a pre-approved automatic
// policy) instead. Every problem is a UsageError saying what to fix.
import { type ApprovalPolicy, approvalPolicyProblems } from '../../../common/approval.js';
import { UsageError } from '../usage-error.js';

export interface DrApprovalOptions {
  autoApprove?: boolean;
  approver?: string[];
  quorum?: string;
  approvalTimeout?: string;
}

/** The approval policy, or undefined with --auto-approve. `operation` names it in errors. */
export function parseDrApproval(
  opts: DrApprovalOptions,
  requester: string,
  operation: 'failover' | 'failback',
): ApprovalPolicy | undefined {
  const approvers = (opts.approver ?? [])
    .flatMap((a) => a.split(','))
    .map((a) => a.trim())
    .filter(Boolean);
  if (opts.autoApprove && approvers.length > 0)
    throw new UsageError('give --auto-approve (a pre-approved automatic policy) or --approver, not both');
  if (opts.autoApprove) return undefined;
  const quorum = opts.quorum === undefined ? 1 : Number(opts.quorum);
  if (!Number.isInteger(quorum) || quorum < 1)
    throw new UsageError('--quorum must be a whole number, e.g. --quorum 2');
  const approval = { requester, approvers, quorum, timeout: opts.approvalTimeout ?? '1h' };
  const problems = approvalPolicyProblems(approval);
  if (problems.length > 0)
    throw new UsageError(
      `the approval cannot gate the ${operation} (${problems.join('; ')}): give --approver <name> (repeatable), or --auto-approve`,
    );
  return approval;
}
