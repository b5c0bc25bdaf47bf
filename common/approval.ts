// The rules of an approval gate: who may approve or reject, when the quorum is reached, what the
// gate looks like to `vaultops status`. Pure (no I/O, no clock: callers pass workflow time), so the
// workflow replays it deterministically and the unit tests call it directly.
import { formatDuration, parseDuration } from './durations.js';

export interface ApprovalPolicy {
  /** Who asked for the change. They may withdraw it (reject) but never approve it. */
  requester: string;
  /** Who may approve or reject, by the names they give to `vaultops approve --as`. */
  approvers: string[];
  /** How many distinct approvers must approve. */
  quorum: number;
  /** Go-style duration ("30m", "24h") from the gate's opening; after it the change counts as rejected. */
  timeout: string;
}

export interface ApprovalDecision {
  approver: string;
  reason?: string;
}

export interface ApprovalVote {
  approver: string;
  reason: string | null;
  /** Workflow time, ISO 8601. */
  at: string;
}

/** `not-open`: the workflow has not reached its gate yet. */
export type ApprovalStatus = 'not-open' | 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

export interface ApprovalState {
  status: ApprovalStatus;
  requester: string;
  approvers: string[];
  quorum: number;
  timeout: string;
  approvals: ApprovalVote[];
  rejections: ApprovalVote[];
  /** ISO 8601; null until the gate opens. */
  deadline: string | null;
  /** When the gate was decided (approved, rejected, expired or cancelled); ISO 8601. */
  decidedAt: string | null;
}

export type ApprovalAction = 'approve' | 'reject';

/** Failure types a workflow fails with when its gate does not approve; the saga then compensates. */
export const ApprovalFailureType = {
  Rejected: 'ApprovalRejected',
  Expired: 'ApprovalExpired',
  /** A validator's refusal of one approve or reject (the gate keeps waiting). */
  Refused: 'ApprovalRefused',
  InvalidPolicy: 'InvalidApprovalPolicy',
} as const;

/** Long enough for a ticket reference and a sentence; short enough to keep histories small. */
export const MAX_REASON_LENGTH = 500;

const key = (name: string) => name.trim().toLowerCase();

/** What is wrong with a policy; empty when it can gate a change. */
export function approvalPolicyProblems(policy: ApprovalPolicy): string[] {
  const problems: string[] = [];
  if (typeof policy.requester !== 'string' || policy.requester.trim() === '')
    problems.push('requester: name who asks for the change');
  const approvers = Array.isArray(policy.approvers) ? policy.approvers : [];
  if (approvers.length === 0) problems.push('approvers: list at least one approver');
  if (approvers.some((a) => typeof a !== 'string' || a.trim() === ''))
    problems.push('approvers: names must not be empty');
  const seen = new Set<string>();
  for (const a of approvers) {
    if (typeof a !== 'string') continue;
    if (seen.has(key(a))) problems.push(`approvers: "${a}" is listed twice`);
    seen.add(key(a));
  }
  if (!Number.isInteger(policy.quorum) || policy.quorum < 1) {
    problems.push('quorum: must be a whole number of approvals, at least 1');
  } else {
    // The requester cannot approve, so a quorum that needs them could never be reached.
    const eligible = [...seen].filter((a) => a !== key(String(policy.requester))).length;
    if (policy.quorum > eligible)
      problems.push(
        `quorum: ${policy.quorum} approvals needed but only ${eligible} approver(s) other than the requester`,
      );
  }
  const timeoutMs = typeof policy.timeout === 'string' ? parseDuration(policy.timeout) : undefined;
  if (timeoutMs === undefined || timeoutMs <= 0)
    problems.push('timeout: must be a positive duration such as "30m" or "24h"');
  return problems;
}

export function newApprovalState(policy: ApprovalPolicy): ApprovalState {
  return {
    status: 'not-open',
    requester: policy.requester.trim(),
    approvers: policy.approvers.map((a) => a.trim()),
    quorum: policy.quorum,
    timeout: formatDuration(parseDuration(policy.timeout) ?? 0),
    approvals: [],
    rejections: [],
    deadline: null,
    decidedAt: null,
  };
}

/** Opens the gate at `nowMs` (workflow time): decisions are accepted until the deadline. */
export function openApproval(state: ApprovalState, nowMs: number): ApprovalState {
  if (state.status !== 'not-open') return state;
  const timeoutMs = parseDuration(state.timeout) ?? 0;
  return { ...state, status: 'pending', deadline: new Date(nowMs + timeoutMs).toISOString() };
}

/**
 * Why `decision` may not be recorded now, in words for the person who sent it; undefined when it
 * may. The input comes from a client, so its shape is checked too.
 */
export function approvalRefusal(
  state: ApprovalState,
  action: ApprovalAction,
  decision: ApprovalDecision,
): string | undefined {
  if (state.status === 'not-open') return 'the workflow has not reached its approval step yet';
  if (state.status !== 'pending') return `the approval is already decided: ${describeApproval(state)}`;
  const name = typeof decision?.approver === 'string' ? decision.approver.trim() : '';
  if (name === '') return 'name the approver (--as <name>)';
  if (decision.reason !== undefined && typeof decision.reason !== 'string') return 'the reason must be text';
  const reason = decision.reason?.trim() ?? '';
  if (reason.length > MAX_REASON_LENGTH) return `the reason is longer than ${MAX_REASON_LENGTH} characters`;
  const isRequester = key(name) === key(state.requester);
  const approver = canonicalApprover(state, name);
  if (action === 'reject') {
    if (reason === '') return 'a rejection needs a reason (--reason <text>)';
    // Rejecting is the safe direction: the requester may withdraw their own change.
    if (approver === undefined && !isRequester) return notAnApprover(state, name);
    return undefined;
  }
  if (isRequester) return `${name} requested this change and cannot approve it`;
  if (approver === undefined) return notAnApprover(state, name);
  if (state.approvals.some((v) => key(v.approver) === key(approver)))
    return `${approver} has already approved; ${state.quorum} distinct approvers are needed`;
  return undefined;
}

/**
 * Records an approval or rejection that approvalRefusal allowed, at `nowMs` (workflow time). The
 * quorum approves the change; one rejection rejects it.
 */
export function recordDecision(
  state: ApprovalState,
  action: ApprovalAction,
  decision: ApprovalDecision,
  nowMs: number,
): ApprovalState {
  const name = decision.approver.trim();
  const at = new Date(nowMs).toISOString();
  const vote: ApprovalVote = {
    // Approvers are recorded as the policy spells them, so "Alice" and "alice" are one person.
    approver: canonicalApprover(state, name) ?? name,
    reason: decision.reason?.trim() || null,
    at,
  };
  if (action === 'reject') {
    return { ...state, status: 'rejected', rejections: [...state.rejections, vote], decidedAt: at };
  }
  const approvals = [...state.approvals, vote];
  const approved = approvals.length >= state.quorum;
  return { ...state, approvals, status: approved ? 'approved' : 'pending', decidedAt: approved ? at : null };
}

/** The end of a gate that was not decided by an approver: its deadline passed, or the workflow was cancelled. */
export function closeApproval(
  state: ApprovalState,
  status: 'expired' | 'cancelled',
  nowMs: number,
): ApprovalState {
  if (state.status !== 'pending' && state.status !== 'not-open') return state;
  return { ...state, status, decidedAt: new Date(nowMs).toISOString() };
}

/** One line saying where the gate stands, for failures and the CLI. */
export function describeApproval(state: ApprovalState): string {
  const approvedBy = state.approvals.map((v) => v.approver).join(', ');
  const tally = `${state.approvals.length} of ${state.quorum} approvals${approvedBy ? ` (${approvedBy})` : ''}`;
  switch (state.status) {
    case 'not-open':
      return `not open yet; needs ${state.quorum} of ${state.approvers.join(', ')}`;
    case 'pending':
      return `waiting: ${tally}; deadline ${state.deadline}`;
    case 'approved':
      return `approved by ${approvedBy}`;
    case 'rejected': {
      const last = state.rejections.at(-1);
      return `rejected by ${last?.approver}${last?.reason ? `: ${last.reason}` : ''}`;
    }
    case 'expired':
      return `expired at ${state.deadline} with ${tally}`;
    case 'cancelled':
      return `cancelled with ${tally}`;
  }
}

function canonicalApprover(state: ApprovalState, name: string): string | undefined {
  return state.approvers.find((a) => key(a) === key(name));
}

function notAnApprover(state: ApprovalState, name: string): string {
  return `${name} is not an approver of this change (approvers: ${state.approvers.join(', ')})`;
}
