// A command blocked on a workflow says what it waits for and what to do, each time that changes,
// and on a terminal follows every step: the approved-change example (stand-in activities,
// time-skipping server) approved by the test while the watcher reports.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowClosedError } from '../../client/commands/status.js';
import { followOnTerminal, reportWhile } from '../../client/commands/watch.js';
import type { TemporalTarget } from '../../client/temporal-client.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import {
  type ApprovalTestBed,
  changeInput,
  markerStandIns,
  startApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';

let bed: ApprovalTestBed;
beforeAll(async () => {
  bed = await startApprovalTestBed();
});
afterAll(async () => {
  await bed?.teardown();
});

async function until(lines: string[], wanted: RegExp) {
  const deadline = Date.now() + 20_000;
  while (!lines.some((l) => wanted.test(l))) {
    if (Date.now() > deadline) throw new Error(`no line like ${wanted} in:\n${lines.join('\n')}`);
    await sleep(50);
  }
}

/** Approves as alice, then bob, once the watcher has said who must; resolves when the change is done. */
const approveAsTold = (id: string, lines: string[]) => async () => {
  const handle = bed.env.client.workflow.getHandle(id);
  await until(lines, /waiting for approval \(0 of 2/);
  await handle.executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] });
  await until(lines, /waiting for approval \(1 of 2/);
  await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob' }] });
  await waitForStep(bed.env, id, 'unlock', 'done');
  return 'applied';
};

describe('reportWhile', () => {
  it('off a terminal: only what it waits for, once per change, and the result of what it waited on', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      const lines: string[] = [];
      const result = await reportWhile(bed.env.client, id, approveAsTold(id, lines)(), {
        live: false,
        intervalMs: 100,
        print: (l) => lines.push(l),
      });
      expect(result).toBe('applied');
      const approve = `vaultops approve ${id} --as <approver> --reason <text>`;
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^waiting for approval \(0 of 2; approvers alice, bob, carol\): approvers run `/,
      );
      expect(lines[0]).toContain(approve);
      expect(lines[1]).toMatch(/^waiting for approval \(1 of 2; approvers alice, bob, carol\)/);
    });
  });

  it('on a terminal: every step as it moves, and a failure of what it waited on passes through', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      const lines: string[] = [];
      const failing = approveAsTold(id, lines)().then(() => {
        throw new Error('the command failed');
      });
      await expect(
        reportWhile(bed.env.client, id, failing, {
          live: true,
          intervalMs: 100,
          print: (l) => lines.push(l),
        }),
      ).rejects.toThrow('the command failed');
      const text = lines.map((l) => l.replace(/^\S+Z {2}/, '')).join('\n');
      expect(text).toMatch(/^step approve {2}waiting-approval$/m);
      expect(text).toMatch(/^approval {2}waiting: 1 of 2 approvals \(alice\)/m);
      expect(text).toMatch(/^step apply {4}done$/m);
    });
  });
});

describe('followOnTerminal', () => {
  const target = (taskQueue: string): TemporalTarget => ({
    temporal: { address: bed.env.address, namespace: bed.env.namespace ?? 'default', task_queue: taskQueue },
    uiUrl: undefined,
  });
  const asTerminal = async <T>(isTTY: boolean, fn: () => Promise<T>): Promise<T> => {
    const before = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: isTTY, configurable: true });
    try {
      return await fn();
    } finally {
      if (before) Object.defineProperty(process.stdout, 'isTTY', before);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
  };

  it('off a terminal returns at once, as a script expects', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      const lines: string[] = [];
      await asTerminal(false, () => followOnTerminal(target(id), id, (l) => lines.push(l)));
      expect(lines).toEqual([]);
    });
  });

  it('on a terminal follows to the end, and fails unless the workflow completes', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      const lines: string[] = [];
      await asTerminal(true, () =>
        Promise.all([followOnTerminal(target(id), id, (l) => lines.push(l)), approveAsTold(id, lines)()]),
      );
      expect(lines[0]).toBe('Following it here (Ctrl-C stops following; the workflow keeps running):');
      expect(lines.at(-1)).toMatch(/ {2}workflow COMPLETED$/);
    });
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      const lines: string[] = [];
      const rejected = (async () => {
        await until(lines, /waiting for approval \(0 of 2/);
        await bed.env.client.workflow
          .getHandle(id)
          .executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: 'not now' }] });
      })();
      const followed = asTerminal(true, () => followOnTerminal(target(id), id, (l) => lines.push(l)));
      await expect(followed).rejects.toBeInstanceOf(WorkflowClosedError);
      await rejected;
      expect(lines.at(-1)).toMatch(/ {2}workflow FAILED: .*rejected by bob: not now$/);
    });
  });
});
