// What a waiting workflow waits for, and what a person does about it, in the words the CLI prints.
import { describe, expect, it } from 'vitest';
import { VAULTOPS } from '../../client/commands/invocation.js';
import { runnableHints, waitingFor } from '../../client/waiting-for.js';
import type { ApprovalState } from '../../common/approval.js';
import type { StepStatus } from '../../workflows/lib/status.js';

const step = (name: string, state: StepStatus['state'], detail: string | null = null): StepStatus => ({
  name,
  state,
  detail,
  since: null,
});
const view = (workflowId: string, steps: StepStatus[], approval: ApprovalState | null = null) => ({
  workflowId,
  status: 'RUNNING',
  steps: { steps },
  approval,
});
const pending: ApprovalState = {
  status: 'pending',
  requester: 'dana',
  approvers: ['alice', 'bob'],
  quorum: 2,
  timeout: '1h',
  approvals: [{ approver: 'alice', reason: null, at: '2026-12-01T00:00:00Z' }],
  rejections: [],
  deadline: '2026-12-01T01:00:00Z',
  decidedAt: null,
};

describe('waitingFor', () => {
  it('an approval: the tally, the approvers and the command they run', () => {
    expect(waitingFor(view('ca-rotate:x', [step('approve', 'waiting-approval')], pending))).toBe(
      `waiting for approval (1 of 2; approvers alice, bob): approvers run \`${VAULTOPS} approve ca-rotate:x --as <approver> --reason <text>\``,
    );
  });

  it("a failover's unseal: whose, and the unseal-share command", () => {
    // The detail as the DR unseal step writes it.
    const detail =
      'unseal: 0 of 2 shares; key holders: vaultops dr unseal-share dr-failover:p:dr-standby --cluster dr-standby';
    expect(waitingFor(view('dr-failover:p:dr-standby', [step('unseal', 'queued-sealed', detail)]))).toBe(
      `waiting for dr-standby's unseal: key holders run \`${VAULTOPS} dr unseal-share dr-failover:p:dr-standby --cluster dr-standby\``,
    );
  });

  it("a drill's unseal: the target, with the source's keys", () => {
    expect(
      waitingFor(
        view('dr-drill:primary:standby:2026-12-01T00:00:00.000Z', [step('unseal', 'queued-sealed')]),
      ),
    ).toMatch(
      /^waiting for standby's unseal \(step unseal\): key holders unseal standby with primary's unseal keys/,
    );
  });

  it("the migration's freeze: the command that confirms it", () => {
    expect(waitingFor(view('migrate:m1', [step('freeze', 'waiting-approval')]))).toBe(
      `waiting for the freeze: once writes to the source have stopped, run \`${VAULTOPS} migrate freeze migrate:m1 --as <you>\``,
    );
  });

  it('nothing while the steps run, and nothing once the workflow closed', () => {
    expect(waitingFor(view('w', [step('copy', 'running'), step('rollback', 'pending')]))).toBeNull();
    expect(
      waitingFor({ ...view('w', [step('approve', 'waiting-approval')], pending), status: 'FAILED' }),
    ).toBeNull();
  });
});

describe('runnableHints', () => {
  it('names vaultops as the user runs it, once', () => {
    const text = runnableHints('key holders: vaultops dr unseal-share x; or `vaultops status x`');
    expect(text).toBe(`key holders: ${VAULTOPS} dr unseal-share x; or \`${VAULTOPS} status x\``);
    expect(runnableHints(text)).toBe(text);
  });
});
