// `vaultops schedule ...` as a user runs it, against a real Temporal dev server (the time-skipping
// test server refuses Schedules). No worker runs: a triggered run shows as started and stays
// running, which is also what lets the overlap policy be seen at work.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer, type TemporalDevServer } from '../../client/stack/temporal-dev.js';
import { REPO_DIR } from '../../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-e2e-schedule-'));
const TASK_QUEUE = 'vaultops-schedule-e2e';

/** This machine's Temporal settings and any dev stack running here must not leak in. */
const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
  ),
  VAULTOPS_STATE_DIR: join(dir, 'no-stack'),
};

let server: TemporalDevServer;
let connection: Connection;
let client: Client;

function vaultops(...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--address', server.address, '--task-queue', TASK_QUEUE, 'schedule', ...args],
      { cwd: dir, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

async function describeJson(id: string) {
  const run = await vaultops('describe', id, '--json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as {
    paused: boolean;
    note: string | null;
    workflowType: string;
    taskQueue: string;
    spec: string;
    policies: { overlap: string; catchupWindow: string; pauseOnFailure: boolean };
    nextRuns: string[];
    recentRuns: { workflowId: string; runId: string }[];
    actions: { taken: number; skippedOverlap: number };
  };
}

async function exists(id: string): Promise<boolean> {
  return client.schedule
    .getHandle(id)
    .describe()
    .then(
      () => true,
      (err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return false;
        throw err;
      },
    );
}

beforeAll(async () => {
  // What `npm install` does (its prepare step): the tests run the compiled CLI users run, which
  // also proves the build bundles the schedule command.
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  server = await startTemporalDevServer({ stateDir: dir, logDir: dir });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vaultops schedule: one schedule through its life', () => {
  const id = 'hourly-preflight';

  it('create --every 1h --overlap skip', async () => {
    const run = await vaultops(
      'create',
      id,
      '--workflow',
      'preflightWorkflow',
      '--every',
      '1h',
      '--overlap',
      'skip',
      '--args',
      '{"namespace": "admin"}',
      '--note',
      'created by the e2e test',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Created schedule ${id}: preflightWorkflow on task queue ${TASK_QUEUE}, every 1h, overlap skip`,
    );
    expect(run.stdout).toMatch(/Next run {4}\d{4}-\d\d-\d\dT\d\d:00:00\.000Z/);
  });

  it('list shows it (schedule listing is eventually consistent: it may take a moment)', async () => {
    let text = '';
    for (let i = 0; i < 40 && !text.includes(id); i++) {
      if (i > 0) await sleep(250);
      const run = await vaultops('list');
      expect(run.code, run.stderr).toBe(0);
      text = run.stdout;
    }
    const row = text.split('\n').find((line) => line.startsWith(id)) ?? '';
    expect(row).toMatch(
      new RegExp(`^${id}\\s+preflightWorkflow\\s+every 1h\\s+active\\s+\\d{4}-\\S+:00:00\\.000Z\\s+none$`),
    );
    const json = JSON.parse((await vaultops('list', '--json')).stdout) as {
      scheduleId: string;
      paused: boolean;
    }[];
    expect(json.find((s) => s.scheduleId === id)).toMatchObject({ paused: false });
  });

  it('describe shows the next 5 runs, an hour apart, and the policies', async () => {
    const text = await vaultops('describe', id);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Spec        every 1h');
    expect(text.stdout).toContain('Policies    overlap skip, catch-up window 365d, pause on failure no');
    expect(text.stdout).toContain('Note        created by the e2e test');
    expect(text.stdout).toContain(
      `Workflow    preflightWorkflow on task queue ${TASK_QUEUE}, args [{"namespace":"admin"}]`,
    );
    const d = await describeJson(id);
    expect(d.nextRuns).toHaveLength(5);
    const times = d.nextRuns.map((t) => Date.parse(t));
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual([
      3_600_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
    expect(d.policies).toEqual({ overlap: 'skip', catchupWindow: '365d', pauseOnFailure: false });
    expect(d.recentRuns).toEqual([]);
  });

  let started = '';
  it('trigger starts a workflow run now', async () => {
    const run = await vaultops('trigger', id);
    expect(run.code, run.stderr).toBe(0);
    started = run.stdout.match(/started workflow (\S+)/)?.[1] ?? '';
    expect(started).toMatch(new RegExp(`^${id}-\\d{4}-`));
    const wf = await client.workflow.getHandle(started).describe();
    expect(wf.type).toBe('preflightWorkflow');
    expect(wf.taskQueue).toBe(TASK_QUEUE);
    expect(wf.status.name).toBe('RUNNING'); // no worker here: started, never picked up
    const d = await describeJson(id);
    expect(d.recentRuns.map((r) => r.workflowId)).toEqual([started]);
  });

  it("a second trigger respects the schedule's overlap policy (skip) while that run goes on", async () => {
    const run = await vaultops('trigger', id);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('no run started, one is still running and the overlap policy is skip');
    const d = await describeJson(id);
    expect(d.actions).toMatchObject({ taken: 1, skippedOverlap: 1 });
  });

  it('trigger --overlap allow-all starts one beside it', async () => {
    const run = await vaultops('trigger', id, '--overlap', 'allow-all');
    expect(run.code, run.stderr).toBe(0);
    const second = run.stdout.match(/started workflow (\S+)/)?.[1] ?? '';
    expect(second).not.toBe('');
    expect(second).not.toBe(started);
  });

  it('pause and unpause flip its state, with the note', async () => {
    const paused = await vaultops('pause', id, '--note', 'change freeze');
    expect(paused.code, paused.stderr).toBe(0);
    expect(await describeJson(id)).toMatchObject({ paused: true, note: 'change freeze' });
    expect((await vaultops('describe', id)).stdout).toContain('State       PAUSED');

    const unpaused = await vaultops('unpause', id);
    expect(unpaused.code, unpaused.stderr).toBe(0);
    expect(unpaused.stdout).toMatch(/^Unpaused schedule hourly-preflight; next run \d{4}-/);
    expect(await describeJson(id)).toMatchObject({ paused: false });
    // Without --note, the note says which command did it, as the user would type it.
    expect((await describeJson(id)).note).toMatch(/^unpaused with `(npx )?vaultops schedule unpause`$/);
  });

  it('delete removes it; the runs it started are left alone', async () => {
    const run = await vaultops('delete', id);
    expect(run.code, run.stderr).toBe(0);
    expect(await exists(id)).toBe(false);
    const again = await vaultops('describe', id);
    expect(again.code).toBe(1);
    // The hint names vaultops as this shell runs it: `npx vaultops` unless it is on PATH.
    expect(again.stderr).toMatch(
      new RegExp(`no schedule "${id}" in namespace default; \`(npx )?vaultops schedule list\` shows them`),
    );
    expect((await client.workflow.getHandle(started).describe()).status.name).toBe('RUNNING');
  });
});

describe('vaultops schedule create refuses a bad spec before anything exists (exit 2)', () => {
  it.each([
    ['a cron with 4 fields (checked by vaultops)', ['--cron', '0 3 * *'], '--cron "0 3 * *" has 4 fields'],
    [
      'a cron value out of range (checked by Temporal)',
      ['--cron', '61 3 * * *'],
      'Temporal refused cron 61 3 * * *: Minute is not in range [0-59]',
    ],
    [
      'an unknown time zone (checked by Temporal)',
      ['--cron', '0 3 * * *', '--timezone', 'Mars/Olympus'],
      'unknown time zone Mars/Olympus',
    ],
    ['a bad duration', ['--every', 'hourly'], '--every: "hourly" is not a duration'],
    [
      '--every and --cron',
      ['--every', '1h', '--cron', '0 3 * * *'],
      'give one of --every, --cron and --calendar',
    ],
    ['neither', [], 'say when it runs: --every <duration>, --cron "<expr>" or --calendar <json>'],
  ])('%s', async (_, spec, message) => {
    const id = `refused-${Math.random().toString(36).slice(2, 8)}`;
    const run = await vaultops('create', id, '--workflow', 'preflightWorkflow', ...spec);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/^vaultops: schedule not created: /);
    expect(run.code).toBe(2);
    expect(await exists(id)).toBe(false);
  });

  it('an unknown workflow type', async () => {
    const run = await vaultops('create', 'refused-type', '--workflow', 'rotateEverything', '--every', '1h');
    expect(run.stderr).toContain('--workflow: "rotateEverything" is not a workflow the vaultops worker runs');
    expect(run.code).toBe(2);
    expect(await exists('refused-type')).toBe(false);
  });

  it('an id that is taken', async () => {
    const first = await vaultops(
      'create',
      'taken',
      '--workflow',
      'preflightWorkflow',
      '--cron',
      '@daily',
      '--paused',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('(paused)');
    const second = await vaultops('create', 'taken', '--workflow', 'preflightWorkflow', '--every', '1h');
    expect(second.stderr).toContain('schedule "taken" already exists in namespace default');
    expect(second.code).toBe(2);
    expect((await describeJson('taken')).spec).toBe('cron @daily'); // the first one, untouched
  });
});
