// `vaultops approve`, `reject`, `cancel` and `status` as a user runs them: spawned CLI processes
// against the time-skipping server, the approved-change example served by a worker in this process.
// Workflow time stays put while the CLI talks to the server, so no deadline passes meanwhile.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { preflightWorkflow } from '../../workflows/preflight/preflight.js';
import {
  type ApprovalTestBed,
  changeInput,
  markerStandIns,
  startApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');

/** This machine's Temporal settings must not leak in; nor may a dev stack running here. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

let bed: ApprovalTestBed;
beforeAll(async () => {
  bed = await startApprovalTestBed();
});
afterAll(async () => {
  await bed?.teardown();
});

function vaultops(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--address', bed.env.address, '--namespace', bed.env.namespace ?? 'default'],
      {
        env: { ...cleanEnv, VAULTOPS_STATE_DIR: join(REPO_DIR, '.vaultops', 'no-stack-here') },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

async function failureOf(workflowId: string): Promise<Error | undefined> {
  const err = await bed.env.client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause;
}

describe('vaultops approve / reject / status', () => {
  it('records an approval, refuses with the reason (exit 1), shows it in status, rejects', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');

      const approved = await vaultops(['approve', id, '--as', 'alice', '--reason', 'CHG-1234']);
      expect(approved.stderr).toBe('');
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain(`Approved ${id} as alice`);
      expect(approved.stdout).toMatch(/Approval {4}waiting: 1 of 2 approvals \(alice\); deadline /);

      const refused = await vaultops(['approve', id, '--as', 'carol']);
      expect(refused.stderr.trim()).toBe(
        'vaultops: approval refused: carol requested this change and cannot approve it',
      );
      expect(refused.code).toBe(1);

      const status = await vaultops(['status', id]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/Steps {7}lock {5}done since \S+/);
      expect(status.stdout).toMatch(/ {12}approve {2}waiting-approval since /);
      expect(status.stdout).toMatch(/ {12}apply {4}pending\n/);
      expect(status.stdout).toMatch(/approved by alice at \S+: CHG-1234/);
      expect(status.stdout).toContain('needs 2 of alice, bob, carol; requested by carol\n');

      const rejected = await vaultops(['reject', id, '--as', 'bob', '--reason', 'not during the freeze']);
      expect(rejected.code).toBe(0);
      expect(rejected.stdout).toContain('Approval    rejected by bob: not during the freeze');
      expect(((await failureOf(id)) as ApplicationFailure).type).toBe('ApprovalRejected');
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);

      const late = await vaultops(['approve', id, '--as', 'alice']);
      expect(late.stderr.trim()).toBe(`vaultops: workflow ${id} is no longer running (FAILED)`);
      expect(late.code).toBe(1);
    });
  }, 120_000);

  it('exits 2 on bad input before it talks to the workflow', async () => {
    for (const [args, message] of [
      [['approve', 'some-id'], "required option '--as <name>' not specified"],
      [['reject', 'some-id', '--as', 'bob'], "required option '--reason <text>' not specified"],
      [['approve', 'some-id', '--as', ' '], '--as must name who decides'],
      [['reject', 'some-id', '--as', 'bob', '--reason', ' '], '--reason is required to reject'],
    ] as const) {
      const run = await vaultops([...args]);
      expect(run.stderr).toContain(message);
      expect(run.code).toBe(2);
    }
  }, 120_000);

  it('says so when the workflow does not exist', async () => {
    const missing = await vaultops(['approve', 'no-such-workflow', '--as', 'alice']);
    expect(missing.stderr).toContain('no workflow with id "no-such-workflow"');
    expect(missing.code).toBe(1);
  }, 60_000);
});

describe('vaultops status of a workflow without steps', () => {
  it('shows what Temporal knows, as before', async () => {
    // No activities: preflight's first one fails and retries, so the workflow stays running.
    await bed.withWorker({}, async (taskQueue) => {
      await bed.env.client.workflow.start(preflightWorkflow, {
        taskQueue,
        workflowId: taskQueue,
        args: [{}],
      });
      const status = await vaultops(['status', taskQueue]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('Type        preflightWorkflow');
      expect(status.stdout).not.toContain('Steps');
      expect(status.stdout).not.toContain('Approval');
      await bed.env.client.workflow.getHandle(taskQueue).terminate('test over');
    });
  }, 60_000);
});

describe('vaultops cancel', () => {
  it('cancels the workflow, which undoes its finished steps', async () => {
    const markers = markerStandIns();
    await bed.withChange(markers, changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      const cancelled = await vaultops(['cancel', id]);
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toContain(`Cancellation requested for ${id}`);
      expect(await failureOf(id)).toBeInstanceOf(CancelledFailure);
      expect(markers.calls).toEqual(['write lock', 'write staged', 'delete staged', 'delete lock']);
    });
  }, 60_000);
});
