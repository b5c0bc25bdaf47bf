// Secret rotation with Vault sealed in the middle (issue 9), for real: a 1-node raft cluster, a
// Temporal dev server, the worker with the real activities and the real seal guard. The worker
// reaches Vault through a proxy that can hold a reply: the rotation's write lands, the cluster is
// sealed while its reply is held, then the reply goes and the step's next call meets the seal.
// So the seal lands at a chosen point between two writes, every run. The step waits in the
// guard's queue (`queued-sealed` in the status), nothing moves while sealed, and after the unseal
// the rotation completes once: one new KV version (current = base+1, previous = base), no pending
// sibling, the lock released, the target given the new credential, and no credential in history.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RaftCluster } from '../../../client/stack/raft-cluster.js';
import { pendingPath } from '../../../common/rotation/labels.js';
import type { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { seal, unseal } from '../../../vault/sys.js';
import { sealGuardId, sealGuardStateQuery } from '../../../workflows/lib/seal-signals.js';
import { type StepState, workflowStatusQuery } from '../../../workflows/lib/status.js';
import {
  type SecretRotationInput,
  secretRotationWorkflow,
} from '../../../workflows/rotation/secret-rotation.js';
import { type DatabaseServer, startPostgres } from '../../harness/databases.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { type HeldReply, type LossyProxy, nthWriteTo, startLossyProxy } from '../../harness/lossy-proxy.js';
import { type RaftWorker, startRaftWorker } from '../../harness/raft-worker.js';
import { activityRuns, expectRotatedOnce } from '../../harness/rotation-checks.js';
import { server, unique } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const cluster = `raft-${flavour}`;
const taskQueue = 'rotation-seal';
const mount = 'secret';
const dir = mkdtempSync(join(tmpdir(), `vaultops-rot-seal-${flavour}-`));
let stack: RaftWorker | undefined;
let proxy: LossyProxy | undefined;
let postgres: DatabaseServer | undefined;
let raft: RaftCluster;
let vault: VaultClient;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [stack, postgres] = await Promise.all([
    startRaftWorker({
      flavour,
      cluster,
      taskQueue,
      workerAddress: async (node) => {
        proxy = await startLossyProxy(node);
        return proxy.address;
      },
    }),
    startPostgres(join(dir, 'pg')),
  ]);
  ({ raft, vault, env } = stack);
  rememberSecret(postgres.adminPassword, 'PostgreSQL admin password');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await postgres?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Rotation = WorkflowHandle<typeof secretRotationWorkflow>;

/** Starts a rotation as the CLI names it; its id is the rotation's id (the lock's holder). */
async function startRotation(input: Omit<SecretRotationInput, 'cluster' | 'mount' | 'rotationId'>) {
  const workflowId = `rotate:${cluster}:${mount}/${input.path}:${unique('seal')}`;
  return env.client.workflow.start(secretRotationWorkflow, {
    taskQueue,
    workflowId,
    args: [{ ...input, cluster, mount, rotationId: workflowId }],
  });
}

const stepState = async (handle: Rotation, step: string): Promise<StepState | undefined> =>
  (await handle.query(workflowStatusQuery)).steps.find((s) => s.name === step)?.state;

/**
 * Waits for the worker's request whose reply is `held`, seals the cluster while it is held, lets
 * the reply go, and waits until `step` is queued in the guard and shows `queued-sealed`. Returns
 * the status while the reply was held, and when the seal was called and the step queued.
 */
async function sealAfter(handle: Rotation, held: HeldReply, step: string) {
  const request = await Promise.race([
    held.reached,
    sleep(30_000).then(() => {
      throw new Error(`the rotation sent no request for the seal to follow within 30 s`);
    }),
  ]);
  const statusWhileHeld = await handle.query(workflowStatusQuery);
  const sealedAt = Date.now();
  await seal(vault);
  held.release();
  await waitFor(async () => (await stepState(handle, step)) === 'queued-sealed', 20_000, `${step} queued`);
  const queuedAt = Date.now();
  const guard = await env.client.workflow.getHandle(sealGuardId(cluster)).query(sealGuardStateQuery);
  expect(guard.sealed).toBe(true);
  expect(guard.queue.map((q) => `${q.workflowId}:${q.step}`)).toContain(`${handle.workflowId}:${step}`);
  return { request, statusWhileHeld, sealedAt, queuedAt };
}

/** Nothing moves while sealed: the status a while later is the one seen when the step queued. */
async function expectStillWhileSealed(handle: Rotation, ms: number): Promise<void> {
  const before = await handle.query(workflowStatusQuery);
  await sleep(ms);
  const after = await handle.query(workflowStatusQuery);
  expect(after.steps.map((s) => `${s.name}:${s.state}`)).toEqual(
    before.steps.map((s) => `${s.name}:${s.state}`),
  );
}

describe(`secret rotation with ${flavour} sealed mid-rotation`, () => {
  it('KV: sealed after the pending write landed, create-pending queues, and the rotation completes once after the unseal', async () => {
    const path = unique('api-key');
    await writeSecret(vault, mount, path, { value: 'kv-seal-first-0001', owner: 'billing' });
    await writeSecret(vault, mount, path, { value: 'kv-seal-second-0002', owner: 'billing' });
    rememberSecret('kv-seal-first-0001', 'old KV value 1');
    rememberSecret('kv-seal-second-0002', 'old KV value 2');
    const base = 2;

    // The pending credential's write reaches Vault; the seal comes before its reply, so the
    // step's next call (its label write) meets a sealed Vault.
    const held = (proxy as LossyProxy).holdReply(nthWriteTo(`${mount}/data/${pendingPath(path)}`));
    const handle = await startRotation({
      path,
      target: { kind: 'kv' },
      strategy: 'single-user',
      graceMs: 1000,
    });
    const { statusWhileHeld, sealedAt, queuedAt } = await sealAfter(handle, held, 'create-pending');
    expect(statusWhileHeld.steps.find((s) => s.name === 'create-pending')?.state).toBe('running');
    await expectStillWhileSealed(handle, 1500);
    expect(await stepState(handle, 'set')).toBe('pending');

    const unsealedAt = Date.now();
    await unseal(vault, raft.unsealKey);
    const result = await handle.result();
    const doneAt = Date.now();
    expect(result).toEqual({ outcome: 'rotated', current: base + 1, previous: base, waitedFor: [] });
    await expectRotatedOnce(vault, mount, path, base);
    const latest = (await readSecret(vault, mount, path, { consistent: true })).data;
    expect(latest.owner).toBe('billing');
    expect(latest.value).not.toBe('kv-seal-second-0002');
    rememberSecret(String(latest.value), 'new KV value');

    // Run twice (the seal, then the release), written once: the second run found the landed
    // version 1 of the pending sibling instead of writing a version 2.
    const created = (await activityRuns(handle)).get('rotationCreatePending');
    expect(created?.failed).toEqual(['VaultSealed']);
    expect(created?.completed).toEqual([{ pendingPath: pendingPath(path), pendingVersion: 1 }]);
    const report = await handle.query(workflowStatusQuery);
    expect(report.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['create-pending', 'unlock']));
    expect(report.steps.filter((s) => s.state !== 'done')).toEqual([]);
    const guard = await env.client.workflow.getHandle(sealGuardId(cluster)).query(sealGuardStateQuery);
    expect(guard.released.map((r) => `${r.workflowId}:${r.step}`)).toContain(
      `${handle.workflowId}:create-pending`,
    );
    process.stdout.write(
      `rotation seal (${flavour}, KV): create-pending queued ${queuedAt - sealedAt} ms after the seal call; ` +
        `the rotation completed ${doneAt - unsealedAt} ms after the unseal call (grace 1000 ms)\n`,
    );
  }, 90_000);

  it('PostgreSQL alternating users: sealed right after the idle account got the new password; the old client keeps working; completes once', async () => {
    const db = postgres as DatabaseServer;
    const base = `seal_${Math.random().toString(36).slice(2, 8)}`;
    const oldPassword = `old-${Math.random().toString(36).slice(2)}-pw`;
    rememberSecret(oldPassword, 'old database password');
    const connect = async (user: string, password: string) => {
      const c = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
      await c.connect();
      return c;
    };
    const admin = await connect(db.adminUser, db.adminPassword);
    try {
      await admin.query(`CREATE ROLE ${base}_a LOGIN PASSWORD '${oldPassword}'`);
      await admin.query(`CREATE ROLE ${base}_b LOGIN PASSWORD NULL`);
    } finally {
      await admin.end();
    }
    const adminPath = unique('pg-admin');
    await writeSecret(vault, mount, adminPath, {
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    const path = unique('pg-app');
    await writeSecret(vault, mount, path, { username: `${base}_a`, password: oldPassword });
    const old = await connect(`${base}_a`, oldPassword);
    try {
      // The third metadata write of the secret is `set`'s label (after lock and create-pending):
      // the idle account has its new password; the seal lands before `test`.
      const held = (proxy as LossyProxy).holdReply(nthWriteTo(`${mount}/metadata/${path}`, 3));
      const handle = await startRotation({
        path,
        target: { kind: 'postgres', admin: { path: adminPath }, role: base },
        strategy: 'alternating',
        graceMs: 1000,
        sessionRecheckMs: 500,
      });
      const { statusWhileHeld } = await sealAfter(handle, held, 'test');
      expect(statusWhileHeld.steps.find((s) => s.name === 'set')?.state).toBe('running');
      expect(await stepState(handle, 'set')).toBe('done');
      await expectStillWhileSealed(handle, 1000);
      // Sealed: the application's connection with the current (old) credential still works.
      expect((await old.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);

      await unseal(vault, raft.unsealKey);
      await waitFor(async () => (await stepState(handle, 'promote')) === 'done', 30_000, 'promotion');
      await old.end(); // the one live session of the previous account: retirement waits for it
      const result = await handle.result();
      expect(result.outcome).toBe('rotated');
      expect(result).toMatchObject({ current: 2, previous: 1 });
      await expectRotatedOnce(vault, mount, path, 1);

      const current = (await readSecret(vault, mount, path, { consistent: true })).data;
      expect(current.username).toBe(`${base}_b`);
      rememberSecret(String(current.password), 'new database password');
      const fresh = await connect(`${base}_b`, String(current.password));
      await fresh.end();
      // Retired after the grace period: the previous account's password no longer logs in.
      await expect(connect(`${base}_a`, oldPassword)).rejects.toThrow(/password authentication failed/);
      // `set` ran once: it did not meet the seal (its reply came back), so it is not run again.
      const runs = await activityRuns(handle);
      expect(runs.get('rotationSet')?.scheduled).toBe(1);
      expect(runs.get('rotationTest')?.failed).toEqual(['VaultSealed']);
      expect(runs.get('rotationTest')?.completed).toHaveLength(1);
    } finally {
      await old.end().catch(() => undefined);
    }
  }, 90_000);

  it('KV: sealed during the grace period, retirement waits for the unseal, then the lock is released', async () => {
    const path = unique('grace-key');
    await writeSecret(vault, mount, path, { value: 'kv-grace-first-0001' });
    rememberSecret('kv-grace-first-0001', 'old KV value (grace)');
    const handle = await startRotation({
      path,
      target: { kind: 'kv' },
      strategy: 'single-user',
      graceMs: 5000, // long enough for sys/seal (over a second) to land inside it
    });
    await waitFor(async () => (await stepState(handle, 'grace')) === 'running', 20_000, 'grace');
    await seal(vault);
    const guardHandle = env.client.workflow.getHandle(sealGuardId(cluster));
    // The grace timer ends while sealed: retirement meets the seal and queues.
    await waitFor(
      async () =>
        (await guardHandle.query(sealGuardStateQuery)).queue.some(
          (q) => q.workflowId === handle.workflowId && q.step === 'retire',
        ),
      20_000,
      'retire queued',
    );
    const retireWhileQueued = await stepState(handle, 'retire');
    expect(await stepState(handle, 'unlock')).toBe('pending');
    await unseal(vault, raft.unsealKey);
    expect(await handle.result()).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
    await expectRotatedOnce(vault, mount, path, 1);
    rememberSecret(String((await readSecret(vault, mount, path)).data.value), 'new KV value (grace)');
    // The status tells an operator what the rotation waits for: an unseal, as for the other steps.
    // (Checked last, so that the rest is checked too: the workflow's sealAware('retire', …) calls
    // pass no onQueued/onReleased, so the status says `running` while retire waits for the unseal.)
    expect(retireWhileQueued, 'retire while queued for the unseal').toBe('queued-sealed');
  }, 90_000);

  it('puts no credential, root token or unseal key into Temporal history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { taskQueue });
    expect(scan.runs).toBeGreaterThanOrEqual(4); // three rotations and the seal guard
  });
});
