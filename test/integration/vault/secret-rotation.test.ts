// The rotation activities against a real Vault-API server and a real PostgreSQL: a KV-only
// rotation promotes only a tested version and labels current/previous in custom_metadata (a
// reader of the latest version never sees the pending credential); a concurrent rotation is
// refused; a rollback writes the previous credential back; PostgreSQL alternating users keep an
// old client working through the grace period while new logins use the new password.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationRef } from '../../../activities/rotation/inputs.js';
import { createRotationActivities } from '../../../activities/rotation/protocol.js';
import { parseRotationLabels, pendingPath } from '../../../common/rotation/labels.js';
import { destroy, readMetadata, readSecret, softDelete, writeSecret } from '../../../vault/kv.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { secretRotationWorkflow } from '../../../workflows/rotation/secret-rotation.js';
import { type DatabaseServer, startPostgres } from '../../harness/databases.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const vault = rootClient();
const mount = unique('kv-rot');
const act = createRotationActivities({ vault });
const dir = mkdtempSync(join(tmpdir(), 'vaultops-rot-'));
let postgres: DatabaseServer | undefined;
let env: TestWorkflowEnvironment | undefined;
let bundle: WorkflowBundle;

beforeAll(async () => {
  await vault.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
  let started: TestWorkflowEnvironment;
  [postgres, started, bundle] = await Promise.all([
    startPostgres(join(dir, 'pg')),
    createTimeSkippingEnv(),
    bundleVaultopsWorkflows(),
  ]);
  env = started;
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  await postgres?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

const latest = async (path: string) => (await readSecret(vault, mount, path, { consistent: true })).data;
const labels = async (path: string) =>
  parseRotationLabels((await readMetadata(vault, mount, path)).custom_metadata);

describe(`secret rotation on ${server().flavour}`, () => {
  it('KV only: promotes a tested version, labels it, and never shows the pending one to readers', async () => {
    const path = unique('api-key');
    await writeSecret(vault, mount, path, { value: 'old-api-key-0001', owner: 'billing' });
    const ref: RotationRef = {
      mount,
      path,
      rotationId: unique('rot'),
      target: { kind: 'kv' },
      strategy: 'single-user',
    };

    const { baseVersion } = await act.rotationLock(ref);
    expect(baseVersion).toBe(1);
    expect(await labels(path)).toMatchObject({ current: 1, rotation: ref.rotationId, state: 'locked' });
    // The same rotation again is idempotent; another one is refused.
    expect((await act.rotationLock(ref)).baseVersion).toBe(1);
    const other = { ...ref, rotationId: unique('rot') };
    expect(await failureType(act.rotationLock(other))).toBe('RotationInProgress');
    await expect(act.rotationLock(other)).rejects.toThrow(ref.rotationId);

    const input = { ...ref, baseVersion };
    const created = await act.rotationCreatePending(input);
    expect(created).toEqual({ pendingPath: pendingPath(path), pendingVersion: 1 });
    expect(await act.rotationCreatePending(input)).toEqual(created); // once
    const pending = await latest(pendingPath(path));
    expect(pending.value).not.toBe('old-api-key-0001');
    expect(pending.owner).toBe('billing');
    expect(JSON.stringify(created)).not.toContain(String(pending.value)); // references only

    await act.rotationSet(input);
    await act.rotationTest(ref);
    // Until the promotion, the latest version is the current, tested credential.
    expect((await latest(path)).value).toBe('old-api-key-0001');
    expect(await labels(path)).toMatchObject({ current: 1, pending: 1, state: 'tested' });

    const promoted = await act.rotationPromote(input);
    expect(promoted).toEqual({ current: 2, previous: 1 });
    expect(await act.rotationPromote(input)).toEqual(promoted); // once
    expect(await latest(path)).toEqual(pending);
    const after = await labels(path);
    expect(after).toMatchObject({ current: 2, previous: 1, state: 'promoted' });
    expect(after.pending).toBeUndefined();
    await expect(readMetadata(vault, mount, pendingPath(path))).rejects.toThrow();

    expect(await act.rotationSessions({ ...ref, previous: 1, current: 2 })).toEqual({ sessions: [] });
    await act.rotationRetire({ ...ref, previous: 1, current: 2 });
    await act.rotationUnlock(ref);
    const unlocked = (await readMetadata(vault, mount, path)).custom_metadata ?? {};
    expect(unlocked.vaultops_rotation).toBeUndefined();
    expect(unlocked).toMatchObject({
      vaultops_current: '2',
      vaultops_previous: '1',
      vaultops_rotation_state: 'retired',
    });
  });

  it('KV only: a rollback writes the previous credential back as the latest version', async () => {
    const path = unique('token');
    await writeSecret(vault, mount, path, { value: 'first-value-0001' });
    const ref: RotationRef = {
      mount,
      path,
      rotationId: unique('rot'),
      target: { kind: 'kv' },
      strategy: 'single-user',
    };
    const { baseVersion } = await act.rotationLock(ref);
    const input = { ...ref, baseVersion };
    await act.rotationCreatePending(input);
    await act.rotationSet(input);
    await act.rotationTest(ref);
    await act.rotationPromote(input);
    const rolled = await act.rotationRollback({ ...input, previous: 1, current: 2 });
    expect(rolled).toEqual({ current: 3, previous: 2 });
    expect(await act.rotationRollback({ ...input, previous: 1, current: 2 })).toEqual(rolled); // once
    expect((await latest(path)).value).toBe('first-value-0001');
    expect(await labels(path)).toMatchObject({ current: 3, previous: 2, state: 'rolled-back' });
    await act.rotationUnlock(ref);
  });

  it('KV only: restores any retained version, and refuses one that is deleted, destroyed, current or gone', async () => {
    const path = unique('restore');
    for (const value of ['value-one-0001', 'value-two-0002', 'value-three-0003', 'value-four-0004'])
      await writeSecret(vault, mount, path, { value });
    await softDelete(vault, mount, path, [2]);
    await destroy(vault, mount, path, [3]);
    const ref: RotationRef = {
      mount,
      path,
      rotationId: unique('rot'),
      target: { kind: 'kv' },
      strategy: 'single-user',
    };
    const { baseVersion } = await act.rotationLock(ref);
    expect(baseVersion).toBe(4);
    for (const [restoreVersion, why] of [
      [2, /was deleted/],
      [3, /was destroyed/],
      [4, /already the current version/],
      [9, /no such version/],
    ] as const) {
      const attempt = act.rotationCreatePending({ ...ref, baseVersion, restoreVersion });
      expect(await failureType(attempt)).toBe('RotationBadInput');
      await expect(act.rotationCreatePending({ ...ref, baseVersion, restoreVersion })).rejects.toThrow(why);
    }
    const input = { ...ref, baseVersion, restoreVersion: 1 };
    await act.rotationCreatePending(input);
    await act.rotationSet(input);
    await act.rotationTest(ref);
    expect(await act.rotationPromote(input)).toEqual({ current: 5, previous: 4 });
    expect(await latest(path)).toEqual({ value: 'value-one-0001' });
    await act.rotationUnlock(ref);
  });

  it('posts rotation events to a real webhook: references and outcomes, no credential', async () => {
    const received: unknown[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(received.length === 1 ? 503 : 204).end(); // the first try is refused
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const ref: RotationRef = {
        mount,
        path: 'app/hooked',
        rotationId: unique('rot'),
        target: { kind: 'kv' },
        strategy: 'single-user',
      };
      const event = {
        ...ref,
        event: 'rotated' as const,
        detail: { current: 2, previous: 1 },
        webhookUrl: url,
      };
      await expect(act.rotationNotify(event)).rejects.toThrow(/HTTP 503/);
      await act.rotationNotify(event);
      expect(received[1]).toMatchObject({
        event: 'rotation.rotated',
        cluster: 'default',
        mount,
        path: 'app/hooked',
        rotation: ref.rotationId,
        target: 'kv',
        detail: { current: 2, previous: 1 },
      });
    } finally {
      hook.close();
    }
  });

  it('KV only: an abandoned rotation leaves the secret as it was', async () => {
    const path = unique('abandoned');
    await writeSecret(vault, mount, path, { value: 'kept-value-0001' });
    const ref: RotationRef = {
      mount,
      path,
      rotationId: unique('rot'),
      target: { kind: 'kv' },
      strategy: 'single-user',
    };
    const { baseVersion } = await act.rotationLock(ref);
    const input = { ...ref, baseVersion };
    await act.rotationCreatePending(input);
    await act.rotationRevertTarget(input);
    await act.rotationDiscardPending(ref);
    await act.rotationUnlock(ref);
    expect(await latest(path)).toEqual({ value: 'kept-value-0001' });
    const meta = await readMetadata(vault, mount, path);
    expect(meta.current_version).toBe(1);
    expect(meta.custom_metadata?.vaultops_rotation).toBeUndefined();
    expect(meta.custom_metadata?.vaultops_pending).toBeUndefined();
    await expect(readMetadata(vault, mount, pendingPath(path))).rejects.toThrow();
  });

  it('PostgreSQL alternating users: the old client works through the grace period, new logins use the new password', async () => {
    const db = postgres as DatabaseServer;
    const base = `app_${Math.random().toString(36).slice(2, 8)}`;
    const oldPassword = `old-${Math.random().toString(36).slice(2)}-pw`;
    const admin = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    await admin.connect();
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
    const login = async (user: string, password: string) => {
      const c = new pg.Client({
        host: db.host,
        port: db.port,
        user,
        password,
        database: 'postgres',
        application_name: 'billing',
      });
      await c.connect();
      return c;
    };
    const old = await login(`${base}_a`, oldPassword);
    try {
      const ref: RotationRef = {
        mount,
        path,
        rotationId: unique('rot'),
        target: { kind: 'postgres', admin: { path: adminPath }, role: base },
        strategy: 'alternating',
      };
      const { baseVersion } = await act.rotationLock(ref);
      const input = { ...ref, baseVersion };
      await act.rotationCreatePending(input);
      await act.rotationSet(input);
      await act.rotationTest(ref);
      expect((await latest(path)).username).toBe(`${base}_a`); // still the tested current one
      const promoted = await act.rotationPromote(input);
      const current = await latest(path);
      expect(current.username).toBe(`${base}_b`);
      expect(current.password).not.toBe(oldPassword);

      // Grace period: the old session keeps working, the old password still logs in, the new one too.
      expect((await old.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      await (await login(`${base}_a`, oldPassword)).end();
      const fresh = await login(`${base}_b`, String(current.password));
      expect((await fresh.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).toBe(`${base}_b`);
      await fresh.end();

      // Retirement is told who still uses the previous credential.
      const live = await act.rotationSessions({
        ...ref,
        previous: promoted.previous ?? 0,
        current: promoted.current,
      });
      expect(live.sessions).toEqual([expect.objectContaining({ user: `${base}_a`, application: 'billing' })]);
      expect(JSON.stringify(live)).not.toContain(oldPassword);
      await old.end();
      expect(
        await act.rotationSessions({ ...ref, previous: promoted.previous ?? 0, current: promoted.current }),
      ).toEqual({
        sessions: [],
      });
      await act.rotationRetire({ ...ref, previous: promoted.previous ?? 0, current: promoted.current });
      await act.rotationUnlock(ref);
      expect(await labels(path)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
    } finally {
      await old.end().catch(() => {});
    }
  });

  it('a compensation after a promotion that landed writes the old credential back', async () => {
    const path = unique('landed');
    await writeSecret(vault, mount, path, { value: 'before-landing-01' });
    const ref: RotationRef = {
      mount,
      path,
      rotationId: unique('rot'),
      target: { kind: 'kv' },
      strategy: 'single-user',
    };
    const { baseVersion } = await act.rotationLock(ref);
    const input = { ...ref, baseVersion };
    await act.rotationCreatePending(input);
    await act.rotationSet(input);
    await act.rotationTest(ref);
    await act.rotationPromote(input); // as if its reply had been lost and its step had failed
    await act.rotationRevertTarget(input);
    await act.rotationDiscardPending(ref);
    await act.rotationUnlock(ref);
    expect(await latest(path)).toEqual({ value: 'before-landing-01' });
    expect(await labels(path)).toMatchObject({ current: 3, previous: 2, state: 'rolled-back' });
  });

  it('the workflow rotates KV and PostgreSQL (single user, password policy) end to end; no credential in history', async () => {
    const db = postgres as DatabaseServer;
    const testEnv = env as TestWorkflowEnvironment;
    const policy = unique('rot-policy');
    await vault.write(`sys/policies/password/${policy}`, {
      policy: 'length = 28\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz0123456789"\n}\n',
    });
    const role = `single_${Math.random().toString(36).slice(2, 8)}`;
    const oldPassword = `old-${Math.random().toString(36).slice(2)}-pw`;
    rememberSecret(oldPassword, 'old database password');
    rememberSecret(db.adminPassword, 'database admin password');
    const admin = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${oldPassword}'`).finally(() => admin.end());
    const adminPath = unique('pg-admin');
    await writeSecret(vault, mount, adminPath, {
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    const dbPath = unique('pg-single');
    await writeSecret(vault, mount, dbPath, { username: role, password: oldPassword });
    const kvPath = unique('kv-key');
    rememberSecret('kv-old-value-0001', 'old KV value');
    await writeSecret(vault, mount, kvPath, { value: 'kv-old-value-0001' });

    const taskQueue = unique('rotation-it');
    const worker = await createVaultopsWorker({
      connection: testEnv.nativeConnection,
      namespace: testEnv.namespace ?? 'default',
      taskQueue,
      activities: createRotationActivities({ vault }),
      workflowBundle: bundle,
    });
    const ids = [`${taskQueue}-pg`, `${taskQueue}-kv`];
    // One after the other: the time-skipping server loses track of time skipping when two
    // results are awaited at once, and then times out workflow tasks in skipped time.
    const [pgResult, kvResult] = await worker.runUntil(async () => [
      await testEnv.client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: ids[0] as string,
        args: [
          {
            mount,
            path: dbPath,
            target: { kind: 'postgres', admin: { path: adminPath }, role },
            strategy: 'single-user',
            graceMs: 3_600_000,
            rotationId: ids[0] as string,
            passwordPolicy: policy,
          },
        ],
      }),
      await testEnv.client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: ids[1] as string,
        args: [
          {
            mount,
            path: kvPath,
            target: { kind: 'kv' },
            strategy: 'single-user',
            graceMs: 3_600_000,
            rotationId: ids[1] as string,
          },
        ],
      }),
    ]);
    expect(pgResult).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
    expect(kvResult).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });

    const rotated = await latest(dbPath);
    expect(String(rotated.password)).toMatch(/^[a-z0-9]{28}$/); // from the password policy
    rememberSecret(String(rotated.password), 'new database password');
    const kvNew = String((await latest(kvPath)).value);
    rememberSecret(kvNew, 'new KV value');
    const c = new pg.Client({
      host: db.host,
      port: db.port,
      user: role,
      password: String(rotated.password),
      database: 'postgres',
    });
    await c.connect();
    await c.end();
    const stale = new pg.Client({
      host: db.host,
      port: db.port,
      user: role,
      password: oldPassword,
      database: 'postgres',
    });
    await expect(stale.connect()).rejects.toThrow(/password authentication failed/);
    await stale.end().catch(() => {});
    expect(await labels(dbPath)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
    expect((await labels(dbPath)).rotation).toBeUndefined();

    await expectNoSecretsInHistory(testEnv.client, { workflowIds: ids });
  });
});
