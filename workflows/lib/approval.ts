// The approval gate every runbook uses before a step that needs a second pair of eyes: a quorum of
// distinct approvers, given by Workflow Updates (so `vaultops approve` learns at once whether its
// approval counted, and why not), with a deadline after which the change counts as rejected.
// The rules live in common/approval.ts; this file wires them to Temporal.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import {
  type ApprovalAction,
  type ApprovalDecision,
  ApprovalFailureType,
  type ApprovalPolicy,
  type ApprovalState,
  approvalPolicyProblems,
  approvalRefusal,
  closeApproval,
  describeApproval,
  newApprovalState,
  openApproval,
  recordDecision,
} from '../../common/approval.js';

/** Both answer the gate's state after the decision was recorded. */
export const approveUpdate = defineUpdate<ApprovalState, [ApprovalDecision]>('approve');
export const rejectUpdate = defineUpdate<ApprovalState, [ApprovalDecision]>('reject');
export const approvalStateQuery = defineQuery<ApprovalState>('approvalState');

export interface ApprovalGate {
  state(): ApprovalState;
  /**
   * Opens the gate (its deadline starts now) and waits for the decision. Resolves once the quorum
   * has approved; throws ApplicationFailure `ApprovalRejected` or `ApprovalExpired` otherwise, and
   * the workflow's cancellation as it came.
   */
  approved(): Promise<ApprovalState>;
}

/**
 * Registers the `approve` and `reject` updates and the `approvalState` query. Call it at the top
 * of the workflow, so that an approval sent too early is refused with a reason instead of an
 * unknown-update error. One gate per workflow at a time: a later gate takes over the handlers.
 */
export function approvalGate(policy: ApprovalPolicy): ApprovalGate {
  const problems = approvalPolicyProblems(policy);
  if (problems.length > 0) {
    throw ApplicationFailure.create({
      type: ApprovalFailureType.InvalidPolicy,
      message: `the approval policy cannot gate a change: ${problems.join('; ')}`,
      nonRetryable: true,
    });
  }
  let state = newApprovalState(policy);

  const refuse = (action: ApprovalAction, decision: ApprovalDecision) => {
    const refusal = approvalRefusal(state, action, decision);
    if (refusal !== undefined)
      throw ApplicationFailure.create({
        type: ApprovalFailureType.Refused,
        message: refusal,
        nonRetryable: true,
      });
  };
  const decide = (action: ApprovalAction) => (decision: ApprovalDecision) => {
    // Checked again: the validator does not run on replay, and two updates delivered in one
    // workflow task are each validated before either is recorded.
    refuse(action, decision);
    state = recordDecision(state, action, decision, Date.now());
    return state;
  };
  setHandler(approveUpdate, decide('approve'), {
    validator: (decision) => refuse('approve', decision),
    description: 'approve the change as one of its approvers: { approver, reason? }',
  });
  setHandler(rejectUpdate, decide('reject'), {
    validator: (decision) => refuse('reject', decision),
    description: 'reject the change, as an approver or its requester: { approver, reason }',
  });
  setHandler(approvalStateQuery, () => state, { description: 'the approval gate: who approved, deadline' });

  return {
    state: () => state,
    async approved() {
      state = openApproval(state, Date.now());
      const remainingMs = Date.parse(state.deadline ?? '') - Date.now();
      let decided: boolean;
      try {
        // A durable timer: the deadline holds through worker restarts.
        decided = await condition(() => state.status !== 'pending', Math.max(remainingMs, 1));
      } catch (err) {
        if (isCancellation(err)) state = closeApproval(state, 'cancelled', Date.now());
        throw err;
      }
      if (!decided) state = closeApproval(state, 'expired', Date.now());
      if (state.status === 'approved') return state;
      throw ApplicationFailure.create({
        type: state.status === 'expired' ? ApprovalFailureType.Expired : ApprovalFailureType.Rejected,
        message: `the change was ${describeApproval(state)}`,
        nonRetryable: true,
      });
    },
  };
}
