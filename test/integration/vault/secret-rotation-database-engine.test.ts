// The secret rotation workflow on Vault's database secrets engine, with the real activities, a
// real Vault-API server, a real PostgreSQL and MariaDB: the KV secret is a pointer to a static role (or a
// connection), never a password. Alternating static roles keep the old password working through
// the grace period and retire it after; a single static role and the root credential rotate and
// Vault still serves working credentials; no password reaches the history.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationRef } from '../../../activities/rotation/inputs.js';
import { createRotationActivities } from '../../../activities/rotation/protocol.js';
import { parseRotationLabels } from '../../../common/rotation/labels.js';
import {
  configureConnection,
  dynamicCredentials,
  staticCredentials,
  writeDynamicRole,
  writeStaticRole,
} from '../../../vault/database.js';
import { readMetadata, readSecret, writeSecret } from '../../../vault/kv.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { rotationPhaseQuery, secretRotationWorkflow } from '../../../workflows/rotation/secret-rotation.js';
import { type DatabaseServer, startMariaDb, startPostgres } from '../../harness/databases.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const vault = rootClient();
const kv = unique('kv-dbe');
const dbMount = unique('db-rot');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-dbe-'));
const suffix = Math.random().toString(36).slice(2, 8);
let postgres: DatabaseServer;
let mariadb: DatabaseServer;
let env: TestWorkflowEnvironment | undefined;
let bundle: WorkflowBundle;
const workflowIds: string[] = [];

const url = (db: DatabaseServer) =>
  `postgresql://{{username}}:{{password}}@${db.host}:${db.port}/postgres?sslmode=disable`;

async function asAdmin(sql: string): Promise<void> {
  const c = new pg.Client({
    host: postgres.host,
    port: postgres.port,
    user: postgres.adminUser,
    password: postgres.adminPassword,
    database: 'postgres',
  });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

async function asMariaDbAdmin(sql: string): Promise<void> {
  const c = await mysql.createConnection({
    host: mariadb.host,
    port: mariadb.port,
    user: mariadb.adminUser,
    password: mariadb.adminPassword,
    multipleStatements: true,
  });
  await c.query(sql).finally(() => c.end());
}

/** Logs in to MariaDB and returns the user it says we are; rejects when the password is refused. */
async function mariaDbLoginAs(user: string, password: string): Promise<string> {
  const c = await mysql.createConnection({ host: mariadb.host, port: mariadb.port, user, password });
  try {
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    return String((rows as { u: string }[])[0]?.u).split('@')[0] ?? '';
  } finally {
    await c.end();
  }
}

/** Logs in and returns the user PostgreSQL says we are; rejects when the password is refused. */
async function loginAs(user: string, password: string): Promise<string> {
  const c = new pg.Client({ host: postgres.host, port: postgres.port, user, password, database: 'postgres' });
  try {
    await c.connect();
    return (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
  } finally {
    await c.end().catch(() => {});
  }
}

/** Reads a static role's password, as an application would, and registers it for the history scan. */
async function staticPassword(role: string): Promise<string> {
  const { password } = await staticCredentials(vault, dbMount, role);
  rememberSecret(password, `password of static role ${role}`);
  return password;
}

const latest = async (path: string) => (await readSecret(vault, kv, path, { consistent: true })).data;
const labels = async (path: string) =>
  parseRotationLabels((await readMetadata(vault, kv, path)).custom_metadata);

beforeAll(async () => {
  let started: TestWorkflowEnvironment;
  [postgres, mariadb, started, bundle] = await Promise.all([
    startPostgres(join(dir, 'pg')),
    startMariaDb(join(dir, 'my')),
    createTimeSkippingEnv(),
    bundleVaultopsWorkflows(),
    vault.write(`sys/mounts/${kv}`, { type: 'kv', options: { version: '2' } }),
    vault.write(`sys/mounts/${dbMount}`, { type: 'database' }),
  ]);
  env = started;
  rememberSecret(postgres.adminPassword, 'database admin password');
  rememberSecret(mariadb.adminPassword, 'MariaDB admin password');
  // Two connections, each with a Vault root user of its own: rotating one's root never touches
  // the other's static roles.
  await asAdmin(`CREATE ROLE vault_app_${suffix} LOGIN SUPERUSER PASSWORD 'app-root-initial-pw'`);
  await asAdmin(`CREATE ROLE vault_root_${suffix} LOGIN SUPERUSER PASSWORD 'root-initial-pw-0'`);
  rememberSecret('app-root-initial-pw', 'initial root password (app connection)');
  rememberSecret('root-initial-pw-0', 'initial root password (root connection)');
  for (const [name, user, password] of [
    ['apps', `vault_app_${suffix}`, 'app-root-initial-pw'],
    ['rooted', `vault_root_${suffix}`, 'root-initial-pw-0'],
  ] as const) {
    await configureConnection(vault, dbMount, {
      plugin: 'postgresql',
      name,
      allowed_roles: ['*'],
      username: user,
      password,
      connection_url: url(postgres),
    });
  }
  for (const user of [`billing_ua_${suffix}`, `billing_ub_${suffix}`, `reports_u_${suffix}`])
    await asAdmin(`CREATE ROLE ${user} LOGIN PASSWORD 'set-by-a-human-0'`);
  // Creating a static role makes Vault rotate its user's password at once (both servers).
  await writeStaticRole(vault, dbMount, 'billing_a', {
    db: 'apps',
    username: `billing_ua_${suffix}`,
    rotationPeriod: '720h',
  });
  await writeStaticRole(vault, dbMount, 'billing_b', {
    db: 'apps',
    username: `billing_ub_${suffix}`,
    rotationPeriod: '720h',
  });
  await writeStaticRole(vault, dbMount, 'reports', {
    db: 'apps',
    username: `reports_u_${suffix}`,
    rotationPeriod: '720h',
  });
  await writeDynamicRole(vault, dbMount, 'rooted-reader', {
    db: 'rooted',
    creationStatements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    ],
    defaultTtl: '5m',
    maxTtl: '1h',
  });
  // MariaDB: a connection through Vault's mysql plugin, and one static role.
  await asMariaDbAdmin(
    `CREATE USER 'vault_my_${suffix}'@'%' IDENTIFIED BY 'maria-root-initial-pw'; ` +
      `GRANT ALL PRIVILEGES ON *.* TO 'vault_my_${suffix}'@'%' WITH GRANT OPTION; ` +
      `CREATE USER 'shop_u_${suffix}'@'%' IDENTIFIED BY 'set-by-a-human-0';`,
  );
  rememberSecret('maria-root-initial-pw', 'initial root password (MariaDB connection)');
  await configureConnection(vault, dbMount, {
    plugin: 'mysql',
    name: 'maria',
    allowed_roles: ['*'],
    username: `vault_my_${suffix}`,
    password: 'maria-root-initial-pw',
    connection_url: `{{username}}:{{password}}@tcp(${mariadb.host}:${mariadb.port})/`,
  });
  await writeStaticRole(vault, dbMount, 'shop', {
    db: 'maria',
    username: `shop_u_${suffix}`,
    rotationPeriod: '720h',
  });
  await writeDynamicRole(vault, dbMount, 'rooted-nologin', {
    db: 'rooted',
    creationStatements: [`CREATE ROLE "{{name}}" WITH NOLOGIN PASSWORD '{{password}}';`],
    defaultTtl: '5m',
    maxTtl: '1h',
  });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  await Promise.all([postgres?.process.stop(), mariadb?.process.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const testEnv = env as TestWorkflowEnvironment;
  const taskQueue = unique('dbe-rotation');
  const worker = await createVaultopsWorker({
    connection: testEnv.nativeConnection,
    namespace: testEnv.namespace ?? 'default',
    taskQueue,
    activities: createRotationActivities({ vault }),
    workflowBundle: bundle,
  });
  return worker.runUntil(fn(taskQueue));
}

/** An error's message and its causes' messages, outermost first. */
function causes(err: unknown): string {
  const out: string[] = [];
  for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) out.push(e.message);
  return out.join(' <- ');
}

/** No value of the record is a password Vault handed out. */
function expectPointerOnly(record: Record<string, unknown>, passwords: string[]): void {
  expect(record.password).toBeUndefined();
  const text = JSON.stringify(record);
  for (const p of passwords) expect(text).not.toContain(p);
}

describe(`database-engine rotation on ${server().flavour}`, () => {
  it('alternating static roles: the old password works through the grace period, is refused after it', async () => {
    const path = unique('billing-db');
    const oldPassword = await staticPassword('billing_a');
    await writeSecret(vault, kv, path, {
      static_role: 'billing_a',
      username: `billing_ua_${suffix}`,
      db_mount: dbMount,
      creds_path: `${dbMount}/static-creds/billing_a`,
    });
    const bBefore = await staticPassword('billing_b');
    // A client logged in with the old password before the rotation, and still working.
    const held = new pg.Client({
      host: postgres.host,
      port: postgres.port,
      user: `billing_ua_${suffix}`,
      password: oldPassword,
      database: 'postgres',
      application_name: 'billing',
    });
    await held.connect();
    let heldOpen = true;
    const release = async () => {
      if (heldOpen) await held.end().catch(() => {});
      heldOpen = false;
    };

    const result = await withWorker(async (taskQueue) => {
      const id = `${taskQueue}-alternating`;
      workflowIds.push(id);
      const handle = await (env as TestWorkflowEnvironment).client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [
          {
            mount: kv,
            path,
            target: { kind: 'database-static', dbMount, role: 'billing' },
            strategy: 'alternating',
            graceMs: 3_600_000,
            sessionRecheckMs: 60_000,
          },
        ],
      });
      // Time skips only while the result is awaited: the grace period holds until then.
      for (let waited = 0; (await handle.query(rotationPhaseQuery)) !== 'grace'; waited += 100) {
        if (waited > 30_000) throw new Error('the rotation did not reach its grace period');
        await sleep(100);
      }
      // KV latest is the pointer to the rotated idle role, and holds no password.
      const current = await latest(path);
      expect(current).toMatchObject({
        static_role: 'billing_b',
        username: `billing_ub_${suffix}`,
        db_mount: dbMount,
        creds_path: `${dbMount}/static-creds/billing_b`,
      });
      const newPassword = await staticPassword('billing_b');
      expect(newPassword).not.toBe(bBefore); // Vault rotated the idle role
      expectPointerOnly(current, [oldPassword, newPassword, bBefore]);
      // Through the grace period: the old client works, the old password logs in, the new one too.
      expect((await held.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      expect(await loginAs(`billing_ua_${suffix}`, oldPassword)).toBe(`billing_ua_${suffix}`);
      expect(await loginAs(`billing_ub_${suffix}`, newPassword)).toBe(`billing_ub_${suffix}`);

      // After the grace period, retirement waits while the old client is logged in, and says who.
      const done = handle.result();
      for (let waited = 0; ; waited += 100) {
        const retire = (await handle.query(workflowStatusQuery)).steps.find((s) => s.name === 'retire');
        if (retire?.detail?.includes('live session')) {
          expect(retire.detail).toContain(`billing_ua_${suffix}`);
          expect(retire.detail).toContain('(billing)');
          break;
        }
        if (waited > 30_000) throw new Error('retirement did not wait for the old session');
        await sleep(100);
      }
      await release();
      return done;
    }).finally(release);

    expect(result).toMatchObject({ outcome: 'rotated', current: 2, previous: 1 });
    expect(result.waitedFor).toEqual([
      expect.objectContaining({ user: `billing_ua_${suffix}`, application: 'billing' }),
    ]);
    // After the grace period the previous role was rotated again: its old password is refused.
    await expect(loginAs(`billing_ua_${suffix}`, oldPassword)).rejects.toThrow(
      /password authentication failed/,
    );
    expect(await loginAs(`billing_ua_${suffix}`, await staticPassword('billing_a'))).toBe(
      `billing_ua_${suffix}`,
    );
    expect((await latest(path)).static_role).toBe('billing_b');
    expect(await labels(path)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
    expect((await labels(path)).rotation).toBeUndefined();
  });

  it('single static role and root credentials rotate; Vault still serves working credentials', async () => {
    const staticPath = unique('reports-db');
    const rootPath = unique('root-db');
    const oldPassword = await staticPassword('reports');
    await writeSecret(vault, kv, staticPath, { static_role: 'reports', db_mount: dbMount });
    await writeSecret(vault, kv, rootPath, { connection: 'rooted', db_mount: dbMount });

    const [staticResult, rootResult] = await withWorker(async (taskQueue) => {
      const ids = [`${taskQueue}-single`, `${taskQueue}-root`];
      workflowIds.push(...ids);
      const client = (env as TestWorkflowEnvironment).client;
      // One after the other: the time-skipping server loses track of time skipping when two
      // results are awaited at once.
      return [
        await client.workflow.execute(secretRotationWorkflow, {
          taskQueue,
          workflowId: ids[0] as string,
          args: [
            {
              mount: kv,
              path: staticPath,
              target: { kind: 'database-static', dbMount, role: 'reports' },
              strategy: 'single-user',
              graceMs: 60_000,
            },
          ],
        }),
        await client.workflow.execute(secretRotationWorkflow, {
          taskQueue,
          workflowId: ids[1] as string,
          args: [
            {
              mount: kv,
              path: rootPath,
              target: { kind: 'database-root', dbMount, connection: 'rooted', verifyRole: 'rooted-reader' },
              strategy: 'single-user',
              graceMs: 60_000,
            },
          ],
        }),
      ];
    });
    expect(staticResult).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
    expect(rootResult).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });

    // Single user: the old password is gone at once (no grace possible), the new one logs in.
    const newPassword = await staticPassword('reports');
    expect(newPassword).not.toBe(oldPassword);
    await expect(loginAs(`reports_u_${suffix}`, oldPassword)).rejects.toThrow(
      /password authentication failed/,
    );
    expect(await loginAs(`reports_u_${suffix}`, newPassword)).toBe(`reports_u_${suffix}`);
    const pointer = await latest(staticPath);
    expect(pointer).toMatchObject({
      static_role: 'reports',
      username: `reports_u_${suffix}`,
      db_mount: dbMount,
    });
    expectPointerOnly(pointer, [oldPassword, newPassword]);
    expect(await labels(staticPath)).toMatchObject({ current: 2, previous: 1, state: 'retired' });

    // Root: only Vault knows the new root password, and it still creates working users with it.
    await expect(loginAs(`vault_root_${suffix}`, 'root-initial-pw-0')).rejects.toThrow(
      /password authentication failed/,
    );
    const creds = await dynamicCredentials(vault, dbMount, 'rooted-reader');
    rememberSecret(creds.password, 'dynamic password after root rotation');
    expect(await loginAs(creds.username, creds.password)).toBe(creds.username);
    expect(await latest(rootPath)).toMatchObject({
      connection: 'rooted',
      username: `vault_root_${suffix}`,
      db_mount: dbMount,
    });
    expect(await labels(rootPath)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
  });

  it('MariaDB single static role: rotated through the mysql plugin, the test logs in over its DSN', async () => {
    const path = unique('shop-db');
    const oldPassword = await staticPassword('shop');
    await writeSecret(vault, kv, path, { static_role: 'shop', db_mount: dbMount });
    const result = await withWorker(async (taskQueue) => {
      const id = `${taskQueue}-mariadb`;
      workflowIds.push(id);
      return (env as TestWorkflowEnvironment).client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [
          {
            mount: kv,
            path,
            target: { kind: 'database-static', dbMount, role: 'shop' },
            strategy: 'single-user',
            graceMs: 60_000,
          },
        ],
      });
    });
    expect(result).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
    const newPassword = await staticPassword('shop');
    expect(newPassword).not.toBe(oldPassword);
    await expect(mariaDbLoginAs(`shop_u_${suffix}`, oldPassword)).rejects.toThrow(/Access denied/);
    expect(await mariaDbLoginAs(`shop_u_${suffix}`, newPassword)).toBe(`shop_u_${suffix}`);
    const pointer = await latest(path);
    expect(pointer).toMatchObject({ static_role: 'shop', username: `shop_u_${suffix}`, db_mount: dbMount });
    expectPointerOnly(pointer, [oldPassword, newPassword]);
  });

  it('root credentials: a failed test after rotate-root rolls forward (KV kept, Vault keeps the new root)', async () => {
    const path = unique('root-fails');
    await writeSecret(vault, kv, path, { connection: 'rooted', db_mount: dbMount });
    const outcome = await withWorker(async (taskQueue) => {
      const id = `${taskQueue}-root-fails`;
      workflowIds.push(id);
      return (env as TestWorkflowEnvironment).client.workflow
        .execute(secretRotationWorkflow, {
          taskQueue,
          workflowId: id,
          args: [
            {
              mount: kv,
              path,
              // Its users cannot log in: the test's login is refused after the root was rotated.
              target: { kind: 'database-root', dbMount, connection: 'rooted', verifyRole: 'rooted-nologin' },
              strategy: 'single-user',
              graceMs: 60_000,
            },
          ],
        })
        .then(
          () => 'completed',
          (err: unknown) => causes(err),
        );
    });
    // The test step failed on the refused login (after rotate-root: nothing could be put back).
    expect(outcome).toMatch(/not permitted to log in/);
    // KV as it was: version 1, unlocked, no pending sibling.
    const meta = await readMetadata(vault, kv, path);
    expect(meta.current_version).toBe(1);
    expect(meta.custom_metadata?.vaultops_rotation).toBeUndefined();
    await expect(readMetadata(vault, kv, `${path}.pending`)).rejects.toThrow();
    // Rolled forward: Vault holds the new root and still creates working users with it.
    const creds = await dynamicCredentials(vault, dbMount, 'rooted-reader');
    rememberSecret(creds.password, 'dynamic password after the failed rotation');
    expect(await loginAs(creds.username, creds.password)).toBe(creds.username);
  });

  it('refuses a verify role that does not exist before rotating anything', async () => {
    const act = createRotationActivities({ vault });
    const path = unique('root-badrole');
    await writeSecret(vault, kv, path, { connection: 'rooted', db_mount: dbMount });
    const ref: RotationRef = {
      mount: kv,
      path,
      rotationId: unique('rot'),
      target: { kind: 'database-root', dbMount, connection: 'rooted', verifyRole: 'no-such-role' },
      strategy: 'single-user',
    };
    const { baseVersion } = await act.rotationLock(ref);
    await expect(act.rotationCreatePending({ ...ref, baseVersion })).rejects.toThrow(
      /dynamic role .*no-such-role does not exist/,
    );
    await act.rotationDiscardPending(ref);
    await act.rotationUnlock(ref);
  });

  it('refuses root credentials with the alternating strategy, and leaves the secret as it was', async () => {
    const path = unique('root-alt');
    await writeSecret(vault, kv, path, { connection: 'rooted', db_mount: dbMount });
    const act = createRotationActivities({ vault });
    const ref: RotationRef = {
      mount: kv,
      path,
      rotationId: unique('rot'),
      target: { kind: 'database-root', dbMount, connection: 'rooted' },
      strategy: 'alternating',
    };
    const { baseVersion } = await act.rotationLock(ref);
    const pending = act.rotationCreatePending({ ...ref, baseVersion });
    expect(await failureType(pending)).toBe('RotationBadTarget');
    await expect(act.rotationCreatePending({ ...ref, baseVersion })).rejects.toThrow(/single-user only/);
    await act.rotationDiscardPending(ref);
    await act.rotationUnlock(ref);
    const meta = await readMetadata(vault, kv, path);
    expect(meta.current_version).toBe(1);
    expect(meta.custom_metadata?.vaultops_rotation).toBeUndefined();
  });

  it('the history scan finds no password of the rotations above', async () => {
    expect(workflowIds).toHaveLength(5);
    await expectNoSecretsInHistory((env as TestWorkflowEnvironment).client, { workflowIds });
  });
});
