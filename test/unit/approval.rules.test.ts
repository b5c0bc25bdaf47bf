// The approval gate's pure rules: what a policy must say, who may decide, when the quorum is met.
import { describe, expect, it } from 'vitest';
import {
  type ApprovalPolicy,
  type ApprovalState,
  approvalPolicyProblems,
  approvalRefusal,
  closeApproval,
  describeApproval,
  MAX_REASON_LENGTH,
  newApprovalState,
  openApproval,
  recordDecision,
} from '../../common/approval.js';

const policy = (over: Partial<ApprovalPolicy> = {}): ApprovalPolicy => ({
  requester: 'carol',
  approvers: ['Alice', 'bob', 'carol'],
  quorum: 2,
  timeout: '24h',
  ...over,
});

const T0 = Date.parse('2030-01-01T00:00:00Z');
const open = (over: Partial<ApprovalPolicy> = {}): ApprovalState =>
  openApproval(newApprovalState(policy(over)), T0);

describe('approvalPolicyProblems', () => {
  it('accepts a quorum the approvers other than the requester can reach', () => {
    expect(approvalPolicyProblems(policy())).toEqual([]);
    expect(approvalPolicyProblems(policy({ requester: 'dave', quorum: 3 }))).toEqual([]);
  });

  it('names each problem', () => {
    expect(approvalPolicyProblems(policy({ quorum: 3 }))).toEqual([
      'quorum: 3 approvals needed but only 2 approver(s) other than the requester',
    ]);
    expect(
      approvalPolicyProblems({ requester: ' ', approvers: ['bob', 'BOB ', ''], quorum: 0, timeout: 'soon' }),
    ).toEqual([
      'requester: name who asks for the change',
      'approvers: names must not be empty',
      'approvers: "BOB " is listed twice',
      'quorum: must be a whole number of approvals, at least 1',
      'timeout: must be a positive duration such as "30m" or "24h"',
    ]);
    expect(approvalPolicyProblems(policy({ approvers: [], quorum: 1 }))).toContain(
      'approvers: list at least one approver',
    );
    expect(approvalPolicyProblems(policy({ timeout: '0s' }))).toHaveLength(1);
  });
});

describe('approvalRefusal', () => {
  it('takes decisions only while the gate is open', () => {
    const notOpen = newApprovalState(policy());
    expect(approvalRefusal(notOpen, 'approve', { approver: 'bob' })).toBe(
      'the workflow has not reached its approval step yet',
    );
    const expired = closeApproval(open(), 'expired', T0 + 86_400_000);
    expect(approvalRefusal(expired, 'reject', { approver: 'bob', reason: 'x' })).toBe(
      'the approval is already decided: expired at 2030-01-02T00:00:00.000Z with 0 of 2 approvals',
    );
  });

  it('refuses the requester, strangers, a second approval by the same person (any spelling)', () => {
    const state = recordDecision(open(), 'approve', { approver: 'alice' }, T0 + 1000);
    expect(approvalRefusal(state, 'approve', { approver: 'Carol' })).toBe(
      'Carol requested this change and cannot approve it',
    );
    expect(approvalRefusal(state, 'approve', { approver: 'mallory' })).toBe(
      'mallory is not an approver of this change (approvers: Alice, bob, carol)',
    );
    expect(approvalRefusal(state, 'approve', { approver: ' ALICE' })).toBe(
      'Alice has already approved; 2 distinct approvers are needed',
    );
    expect(approvalRefusal(state, 'approve', { approver: 'bob' })).toBeUndefined();
  });

  it('checks the shape of what a client sent', () => {
    const state = open();
    expect(approvalRefusal(state, 'approve', { approver: '  ' })).toBe('name the approver (--as <name>)');
    expect(approvalRefusal(state, 'approve', {} as never)).toBe('name the approver (--as <name>)');
    expect(approvalRefusal(state, 'approve', { approver: 'bob', reason: 7 } as never)).toBe(
      'the reason must be text',
    );
    expect(
      approvalRefusal(state, 'approve', { approver: 'bob', reason: 'x'.repeat(MAX_REASON_LENGTH + 1) }),
    ).toBe(`the reason is longer than ${MAX_REASON_LENGTH} characters`);
  });

  it('lets approvers and the requester reject, with a reason', () => {
    const state = open();
    expect(approvalRefusal(state, 'reject', { approver: 'bob' })).toBe(
      'a rejection needs a reason (--reason <text>)',
    );
    expect(approvalRefusal(state, 'reject', { approver: 'bob', reason: 'freeze' })).toBeUndefined();
    expect(approvalRefusal(state, 'reject', { approver: 'carol', reason: 'withdrawn' })).toBeUndefined();
    expect(approvalRefusal(state, 'reject', { approver: 'mallory', reason: 'no' })).toContain(
      'not an approver',
    );
  });
});

describe('recordDecision', () => {
  it('approves at the quorum, recording approvers as the policy spells them, in workflow time', () => {
    const one = recordDecision(open(), 'approve', { approver: 'ALICE', reason: ' CHG-1 ' }, T0 + 1000);
    expect(one.status).toBe('pending');
    expect(one.approvals).toEqual([{ approver: 'Alice', reason: 'CHG-1', at: '2030-01-01T00:00:01.000Z' }]);
    expect(describeApproval(one)).toBe(
      'waiting: 1 of 2 approvals (Alice); deadline 2030-01-02T00:00:00.000Z',
    );
    const two = recordDecision(one, 'approve', { approver: 'bob' }, T0 + 2000);
    expect(two).toMatchObject({ status: 'approved', decidedAt: '2030-01-01T00:00:02.000Z' });
    expect(two.approvals[1]).toEqual({ approver: 'bob', reason: null, at: '2030-01-01T00:00:02.000Z' });
    expect(describeApproval(two)).toBe('approved by Alice, bob');
  });

  it('rejects on one rejection', () => {
    const rejected = recordDecision(open(), 'reject', { approver: 'bob', reason: 'freeze' }, T0 + 5000);
    expect(rejected.status).toBe('rejected');
    expect(describeApproval(rejected)).toBe('rejected by bob: freeze');
  });

  it('opens once, with the deadline counted from the opening', () => {
    const state = open();
    expect(state.deadline).toBe('2030-01-02T00:00:00.000Z');
    expect(openApproval(state, T0 + 60_000)).toBe(state);
    expect(newApprovalState(policy()).deadline).toBeNull();
  });
});
