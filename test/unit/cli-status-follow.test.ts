// `vaultops status <id> --follow` as a user runs it: a spawned CLI follows the approved-change
// example (stand-in activities, time-skipping server) while the test approves or rejects it, and
// prints a line per change (or one JSON object per change), then exits with how it closed.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import { createSealActivities, type SealWatchInput } from '../../activities/seal/watch.js';
import { REPO_DIR } from '../../client/stack/tools.js';
import type { VaultClient } from '../../vault/client.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { sealGuardId } from '../../workflows/lib/seal-signals.js';
import type { MarkerActivities, MarkerInput } from '../fixtures/activities/markers.js';
import type { approvedChangeWorkflow } from '../fixtures/workflows/approved-change.js';
import { orderedWritesWorkflow } from '../fixtures/workflows/ordered-writes.js';
import {
  type ApprovalTestBed,
  changeInput,
  markerStandIns,
  startApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';
import { spawnCollecting } from '../harness/spawned.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');

/** This machine's Temporal settings must not leak in; nor may a dev stack running here. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);
const env = { ...cleanEnv, VAULTOPS_STATE_DIR: join(REPO_DIR, '.vaultops', 'no-stack-here') };

let bed: ApprovalTestBed;
beforeAll(async () => {
  bed = await startApprovalTestBed();
});
afterAll(async () => {
  await bed?.teardown();
});

const follow = (id: string, ...extra: string[]) =>
  spawnCollecting(
    process.execPath,
    [
      CLI,
      '--address',
      bed.env.address,
      '--namespace',
      bed.env.namespace ?? 'default',
      'status',
      id,
      '--follow',
      '--interval',
      '0.2',
      ...extra,
    ],
    { env, cwd: REPO_DIR },
  );

const handle = (id: string) => bed.env.client.workflow.getHandle<typeof approvedChangeWorkflow>(id);

describe('vaultops status --follow', () => {
  it('prints a line per change as the steps move, and exits 0 when the workflow completes', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      const cli = follow(id);
      try {
        await cli.waitFor('approval  waiting: 0 of 2 approvals', 60_000);
        await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: 'CHG-1' }] });
        await cli.waitFor('approval  waiting: 1 of 2 approvals (alice)', 20_000);
        await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'bob' }] });
        expect(await cli.exited).toBe(0);
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      }
      const lines = cli
        .output()
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/^\S+Z {2}/, '')); // the time of each change
      expect(lines[0]).toMatch(
        new RegExp(`^workflow ${id} \\(approvedChangeWorkflow, run \\S+\\) {2}RUNNING$`),
      );
      // The first look shows every step; later lines only what changed, in the order it changed.
      expect(lines[1]).toMatch(/^approval {2}waiting: 0 of 2 approvals; deadline \S+$/);
      expect(lines.slice(2, 7)).toEqual([
        'step lock     done',
        'step stage    done',
        'step approve  waiting-approval',
        'step apply    pending',
        'step unlock   pending',
      ]);
      // What it waits for and what to do, as the user can run it.
      const run = '(npx )?vaultops approve';
      expect(lines[7]).toMatch(
        new RegExp(
          `^waiting for approval \\(0 of 2; approvers alice, bob, carol\\): approvers run \`${run} ${id} --as <approver> --reason <text>\`$`,
        ),
      );
      const at = (line: string) => {
        const i = lines.indexOf(line);
        expect(i, `"${line}" in:\n${lines.join('\n')}`).toBeGreaterThan(0);
        return i;
      };
      const order = [
        lines.findIndex((l) => l.startsWith('approval  waiting: 1 of 2 approvals (alice)')),
        lines.findIndex((l) => l.startsWith('waiting for approval (1 of 2;')),
        at('approval  approved by alice, bob'),
        at('step approve  done'),
        at('step apply    done'),
        at('step unlock   done'),
        at('workflow COMPLETED'),
      ];
      expect(order[0]).toBeGreaterThan(6);
      expect(order, lines.join('\n')).toEqual([...order].sort((a, b) => a - b));
      expect(lines.at(-1)).toBe('workflow COMPLETED');
    });
  });

  it('with --json prints one JSON object per change and exits 1 when the workflow fails', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      const cli = follow(id, '--json');
      try {
        await cli.waitFor('"waiting-approval"', 60_000);
        await handle(id).executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: 'freeze' }] });
        expect(await cli.exited).toBe(1);
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      }
      const [json, stderr] = splitStderr(cli.output());
      expect(stderr).toBe(`vaultops: workflow ${id} closed FAILED`);
      const objects = json.map(
        (line) =>
          JSON.parse(line) as {
            status: string;
            failure: string | null;
            steps: { name: string; state: string }[];
            approval: { status: string } | null;
          },
      );
      expect(objects.length).toBeGreaterThanOrEqual(2);
      const stepsOf = (o: (typeof objects)[number]) =>
        Object.fromEntries(o.steps.map((s) => [s.name, s.state]));
      expect(stepsOf(objects[0] as (typeof objects)[number])).toMatchObject({ approve: 'waiting-approval' });
      const last = objects.at(-1) as (typeof objects)[number];
      expect(last.status).toBe('FAILED');
      expect(last.approval?.status).toBe('rejected');
      expect(last.failure).toContain('freeze');
      // The saga undid what was done: the steps say so.
      expect(stepsOf(last)).toMatchObject({ lock: 'compensated', stage: 'compensated', approve: 'failed' });
      // No two objects in a row are the same: a line means a change.
      for (let i = 1; i < json.length; i++) expect(json[i]).not.toBe(json[i - 1]);
    });
  });

  it('on a terminal, clears the screen and redraws the whole status on each change', async () => {
    await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      // script(1) gives the CLI a pseudo-terminal, as a user's shell does.
      const command = [
        process.execPath,
        CLI,
        '--address',
        bed.env.address,
        'status',
        id,
        '--follow',
        '--interval',
        '0.2',
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      const cli = spawnCollecting('script', ['-qfec', command, '/dev/null'], { env, cwd: REPO_DIR });
      try {
        await cli.waitFor('Following; Ctrl-C to stop', 60_000);
        await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'alice' }] });
        await handle(id).executeUpdate(approveUpdate, { args: [{ approver: 'bob' }] });
        expect(await cli.exited).toBe(0);
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      }
      const frames = cli.output().split('\x1b[H\x1b[2J').slice(1);
      expect(frames.length).toBeGreaterThanOrEqual(2);
      expect(frames[0]).toMatch(/Status {6}RUNNING/);
      expect(frames[0]).toMatch(/approve {2}waiting-approval since /);
      expect(frames[0]).toMatch(
        /Waiting {5}approval \(0 of 2; approvers alice, bob, carol\): approvers run `/,
      );
      const final = frames.at(-1) ?? '';
      expect(final).toMatch(/Status {6}COMPLETED/);
      expect(final).toMatch(/unlock {3}done since /);
      expect(final).toContain('approved by alice at');
      expect(final).not.toContain('Following;');
    });
  });
});

describe('vaultops status --follow on a seal-aware workflow', () => {
  it('shows a step queued-sealed while Vault is sealed, then done after the unseal', async () => {
    const vault = { sealed: true, writes: [] as string[] };
    const real = createSealActivities({ vault: {} as VaultClient, notifier: { notify: async () => {} } });
    // A stand-in Vault, sealed until the test says otherwise (the real seal is the integration suite's).
    const activities: Partial<Activities & MarkerActivities> = {
      enqueueForUnseal: real.enqueueForUnseal,
      async watchSealStatus(input: SealWatchInput) {
        const until = Date.now() + (input.maxWaitMs ?? 60_000);
        const context = Context.current();
        while (vault.sealed === input.knownSealed && Date.now() < until) {
          context.heartbeat();
          await sleep(20);
          if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
        }
        return { sealed: vault.sealed, reachable: true, observedAt: new Date().toISOString() };
      },
      async notifySealEvent() {},
      async writeMarker(input: MarkerInput) {
        if (vault.sealed)
          throw ApplicationFailure.create({ type: 'VaultSealed', message: 'Vault is sealed' });
        vault.writes.push(input.path);
        return { version: 1 };
      },
    };
    const cluster = `follow-${process.pid}-${Date.now()}`;
    await bed.withWorker(activities, async (taskQueue) => {
      const handle = await bed.env.client.workflow.start(orderedWritesWorkflow, {
        taskQueue,
        workflowId: `${taskQueue}-ordered`,
        args: [{ mount: 'secret', prefix: 'follow', steps: 2, pauseMs: 100, cluster }],
      });
      const cli = follow(handle.workflowId);
      try {
        await cli.waitFor('queued-sealed', 60_000);
        vault.sealed = false;
        expect(await cli.exited).toBe(0);
      } finally {
        if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
        await bed.env.client.workflow
          .getHandle(sealGuardId(cluster))
          .terminate('test done')
          .catch(() => undefined);
      }
      const lines = cli
        .output()
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/^\S+Z {2}/, ''));
      const at = (line: string) => lines.indexOf(line);
      expect(
        at('step step-01  queued-sealed: Vault is sealed: queued with the seal guard'),
        lines.join('\n'),
      ).toBeGreaterThan(0);
      const order = [
        at('step step-01  queued-sealed: Vault is sealed: queued with the seal guard'),
        at('step step-01  done'),
        at('step step-02  done'),
        at('workflow COMPLETED'),
      ];
      expect(
        order.every((i) => i > 0),
        lines.join('\n'),
      ).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(vault.writes).toEqual(['follow/step-01', 'follow/step-02']);
    });
  });
});

/** spawnCollecting merges the streams: the CLI's error line is the one that starts with "vaultops:". */
function splitStderr(output: string): [string[], string] {
  const lines = output.trimEnd().split('\n');
  return [
    lines.filter((l) => !l.startsWith('vaultops:')),
    lines.filter((l) => l.startsWith('vaultops:')).join('\n'),
  ];
}
