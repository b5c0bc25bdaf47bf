// A secret rotation survives its worker being SIGKILLed (issue 9), for real: an OpenBao dev
// server, a Temporal dev server, `vaultops worker` as its own process with encrypted payloads.
// The worker reaches Vault through a proxy that can hold a reply, so a kill can land at a chosen
// point: during the grace period (the rotation waits on a durable timer, no step in flight), and
// in the middle of create-pending (its write has landed, its reply has not). A new worker takes
// over; the rotation completes with exactly one new KV version (current = base+1, previous =
// base), each step's activity completed once, no pending sibling, the lock released, and neither
// the history nor the workers' logs hold a credential. The time to resume is printed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRotationLabels, pendingPath } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../../vault/kv.js';
import { type StepState, workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  type SecretRotationInput,
  secretRotationWorkflow,
} from '../../workflows/rotation/secret-rotation.js';
import { type DatabaseServer, startPostgres } from '../harness/databases.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { type LossyProxy, nthWriteTo, startLossyProxy } from '../harness/lossy-proxy.js';
import { activityRuns, expectRotatedOnce } from '../harness/rotation-checks.js';
import type { Spawned } from '../harness/spawned.js';
import { waitFor } from '../harness/wait.js';
import { startWorkerStack, type WorkerStack } from '../harness/worker-process.js';

const TASK_QUEUE = 'rotation-worker-kill';
const mount = 'secret';
const dir = mkdtempSync(join(tmpdir(), 'vaultops-rotation-kill-pg-'));
let stack: WorkerStack | undefined;
let proxy: LossyProxy | undefined;
let postgres: DatabaseServer | undefined;
let vault: VaultClient;

beforeAll(async () => {
  [stack, postgres] = await Promise.all([
    startWorkerStack({
      taskQueue: TASK_QUEUE,
      name: 'rotation-worker-kill',
      workerVaultAddress: async (address) => {
        proxy = await startLossyProxy(address);
        return proxy.address;
      },
    }),
    startPostgres(join(dir, 'pg')),
  ]);
  ({ vault } = stack);
  rememberSecret(postgres.adminPassword, 'PostgreSQL admin password');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await postgres?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Rotation = WorkflowHandle<typeof secretRotationWorkflow>;

/** A KV secret with `versions` versions of a value that must stay out of history and logs. */
async function secretWithVersions(versions: number): Promise<{ path: string; values: string[] }> {
  const path = `kill-${randomBytes(4).toString('hex')}`;
  const values: string[] = [];
  for (let i = 1; i <= versions; i++) {
    const value = `kv-kill-${randomBytes(8).toString('hex')}`;
    rememberSecret(value, `${path} value ${i}`);
    await writeSecret(vault, mount, path, { value, owner: 'billing' });
    values.push(value);
  }
  return { path, values };
}

/** Starts a rotation as the CLI names it, on the default cluster; its id is the rotation's id. */
async function startRotation(input: Omit<SecretRotationInput, 'mount' | 'rotationId'>): Promise<Rotation> {
  const workflowId = `rotate:default:${mount}/${input.path}:${randomBytes(4).toString('hex')}`;
  return (stack as WorkerStack).client.workflow.start(secretRotationWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId,
    args: [{ ...input, mount, rotationId: workflowId }],
  });
}

const stepState = async (handle: Rotation, step: string): Promise<StepState | undefined> =>
  (await handle.query(workflowStatusQuery)).steps.find((s) => s.name === step)?.state;

const labels = async (path: string) =>
  parseRotationLabels((await readMetadata(vault, mount, path, { consistent: true })).custom_metadata);

async function kill(worker: Spawned): Promise<number> {
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBeNull(); // killed by the signal, no exit code
  return Date.now();
}

/** After the kill, with a new worker: the rotation's outcome and what the kill cost. */
async function finish(
  handle: Rotation,
  path: string,
  base: number,
  workers: Spawned[],
  field: 'value' | 'password' = 'value',
) {
  const result = await handle.result();
  const doneAt = Date.now();
  expect(result).toEqual({ outcome: 'rotated', current: base + 1, previous: base, waitedFor: [] });
  await expectRotatedOnce(vault, mount, path, base);
  const latest = (await readSecret(vault, mount, path, { consistent: true })).data;
  rememberSecret(String(latest[field]), `${path} rotated ${field}`);

  // No step done twice: every activity of the rotation completed once, none failed.
  const runs = await activityRuns(handle, { codecs: (stack as WorkerStack).codecs() });
  const steps = [
    'rotationLock',
    'rotationCreatePending',
    'rotationSet',
    'rotationTest',
    'rotationPromote',
    'rotationSessions',
    'rotationRetire',
    'rotationUnlock',
  ];
  for (const type of steps) {
    expect(runs.get(type)?.completed, `${type} completions`).toHaveLength(1);
    expect(runs.get(type)?.failed ?? [], `${type} failures`).toEqual([]);
  }
  const scan = await expectNoSecretsInHistory(
    (stack as WorkerStack).client,
    { workflowIds: [handle.workflowId] },
    { codecs: (stack as WorkerStack).codecs() },
  );
  const logs = workers.map((w) => w.output()).join('');
  for (const secret of [String(latest[field]), (stack as WorkerStack).vaultServer.rootToken])
    expect(logs.includes(secret), 'a credential in the workers’ logs').toBe(false);
  return { doneAt, runs, scan, latest };
}

describe('a secret rotation whose worker is killed', () => {
  it('killed during the grace period: a new worker finishes it, every step once', async () => {
    const { path } = await secretWithVersions(2);
    const base = 2;
    const first = await stack?.startWorker();
    const handle = await startRotation({
      path,
      target: { kind: 'kv' },
      strategy: 'single-user',
      graceMs: 5000,
    });
    await waitFor(async () => (await stepState(handle, 'grace')) === 'running', 30_000, 'grace');
    const killedAt = await kill(first as Spawned);

    // No worker: the promotion stands, the lock is held, nothing else moves.
    await sleep(2000);
    const during = await readMetadata(vault, mount, path, { consistent: true });
    expect(during.current_version).toBe(base + 1);
    expect(parseRotationLabels(during.custom_metadata)).toMatchObject({
      current: base + 1,
      previous: base,
      rotation: handle.workflowId,
      state: 'promoted',
    });

    const restartAt = Date.now();
    const second = await stack?.startWorker();
    const pollingAt = Date.now();
    const { doneAt, scan, latest } = await finish(handle, path, base, [first, second] as Spawned[]);
    expect(latest.owner).toBe('billing');
    (second as Spawned).child.kill('SIGTERM');
    expect(await (second as Spawned).exited).toBe(0);
    process.stdout.write(
      `rotation worker kill (grace): killed during a 5000 ms grace; the new worker polled ${pollingAt - restartAt} ms ` +
        `after its start; the rotation completed ${doneAt - pollingAt} ms after it polled (${doneAt - killedAt} ms ` +
        `after the kill); ${base + 1} versions, every step once; history scan: ${scan.runs} run, ${scan.events} events, no secret\n`,
    );
  }, 240_000);

  it('killed in the middle of create-pending (its write landed, its reply not): the retried step writes nothing twice', async () => {
    const { path } = await secretWithVersions(1);
    const base = 1;
    const first = await stack?.startWorker();
    const held = (proxy as LossyProxy).holdReply(nthWriteTo(`${mount}/data/${pendingPath(path)}`));
    const handle = await startRotation({
      path,
      target: { kind: 'kv' },
      strategy: 'single-user',
      graceMs: 2000,
    });
    await held.reached;
    expect(await stepState(handle, 'create-pending')).toBe('running');
    const killedAt = await kill(first as Spawned);
    held.release(); // to a dead worker: nobody hears that the write landed

    // No worker: the pending credential is written (version 1), the secret untouched and locked.
    await sleep(2000);
    expect((await readMetadata(vault, mount, pendingPath(path), { consistent: true })).current_version).toBe(
      1,
    );
    expect((await readMetadata(vault, mount, path, { consistent: true })).current_version).toBe(base);
    expect(await labels(path)).toMatchObject({ current: base, rotation: handle.workflowId, state: 'locked' });

    const restartAt = Date.now();
    const second = await stack?.startWorker();
    const pollingAt = Date.now();
    // The dead worker's attempt is given up when its heartbeats stop (the 10 s heartbeat timeout).
    await waitFor(
      async () => (await stepState(handle, 'create-pending')) === 'done',
      60_000, // well under the 2-minute start-to-close: the heartbeat timeout must have ended it
      'create-pending',
    );
    const resumedAt = Date.now();
    const { doneAt, runs, scan, latest } = await finish(handle, path, base, [first, second] as Spawned[]);
    expect(latest.owner).toBe('billing');
    const created = runs.get('rotationCreatePending');
    expect(created?.attempts).toEqual([2]); // the dead worker's attempt, then this one
    expect(created?.completed).toEqual([{ pendingPath: pendingPath(path), pendingVersion: 1 }]); // found, not rewritten
    (second as Spawned).child.kill('SIGTERM');
    expect(await (second as Spawned).exited).toBe(0);
    process.stdout.write(
      `rotation worker kill (mid create-pending): the new worker polled ${pollingAt - restartAt} ms after its start; ` +
        `create-pending was retried and done ${resumedAt - killedAt} ms after the kill (its heartbeats stopped: ` +
        `10 s heartbeat timeout); the rotation completed ${doneAt - killedAt} ms after the kill; pending ` +
        `version 1 found, not rewritten; ${base + 1} versions; history scan: ${scan.runs} run, ${scan.events} events, no secret\n`,
    );
  }, 240_000);

  it('PostgreSQL alternating users, killed during the grace period: the old client keeps working, a new worker retires the old account', async () => {
    const db = postgres as DatabaseServer;
    const role = `kill_${randomBytes(3).toString('hex')}`;
    const oldPassword = `old-${randomBytes(8).toString('hex')}`;
    rememberSecret(oldPassword, 'old database password');
    const connect = async (user: string, password: string) => {
      const c = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
      await c.connect();
      return c;
    };
    const admin = await connect(db.adminUser, db.adminPassword);
    try {
      await admin.query(`CREATE ROLE ${role}_a LOGIN PASSWORD '${oldPassword}'`);
      await admin.query(`CREATE ROLE ${role}_b LOGIN PASSWORD NULL`);
    } finally {
      await admin.end();
    }
    const adminPath = `pg-admin-${role}`;
    await writeSecret(vault, mount, adminPath, {
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    const path = `pg-app-${role}`;
    await writeSecret(vault, mount, path, { username: `${role}_a`, password: oldPassword });
    const old = await connect(`${role}_a`, oldPassword);
    const first = await stack?.startWorker();
    try {
      const handle = await startRotation({
        path,
        target: { kind: 'postgres', admin: { path: adminPath }, role },
        strategy: 'alternating',
        graceMs: 4000,
        sessionRecheckMs: 500,
      });
      await waitFor(async () => (await stepState(handle, 'grace')) === 'running', 30_000, 'grace');
      const killedAt = await kill(first as Spawned);

      // No worker: both accounts work, the application's connection too; the lock is held.
      await sleep(2000);
      const promoted = (await readSecret(vault, mount, path, { consistent: true })).data;
      expect(promoted.username).toBe(`${role}_b`);
      rememberSecret(String(promoted.password), 'new database password');
      await (await connect(`${role}_b`, String(promoted.password))).end();
      await (await connect(`${role}_a`, oldPassword)).end();
      expect((await old.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      expect(await labels(path)).toMatchObject({ current: 2, previous: 1, rotation: handle.workflowId });
      await old.end(); // the application has moved on: retirement need not wait for it

      const restartAt = Date.now();
      const second = await stack?.startWorker();
      const pollingAt = Date.now();
      const { doneAt, scan } = await finish(handle, path, 1, [first, second] as Spawned[], 'password');
      // Retired by the new worker: the previous account's password no longer logs in.
      await expect(connect(`${role}_a`, oldPassword)).rejects.toThrow(/password authentication failed/);
      await (await connect(`${role}_b`, String(promoted.password))).end();
      (second as Spawned).child.kill('SIGTERM');
      expect(await (second as Spawned).exited).toBe(0);
      process.stdout.write(
        `rotation worker kill (PostgreSQL alternating, grace): the new worker polled ${pollingAt - restartAt} ms after ` +
          `its start; the rotation completed ${doneAt - pollingAt} ms after it polled (${doneAt - killedAt} ms after ` +
          `the kill); every step once; history scan: ${scan.runs} run, ${scan.events} events, no secret\n`,
      );
    } finally {
      await old.end().catch(() => undefined);
    }
  }, 240_000);
});
