// The whole secretRotationWorkflow, with the real activities, against a real Vault-API server and
// real PostgreSQL and MariaDB servers (one each for the file), in the time-skipping environment.
// Alternating users: a client holding the old password keeps working and the old password still
// logs in through the grace period, the new one logs in too; a live session of the old account
// holds retirement (the status step names it) until it disconnects; then the old password is
// refused. Single user: the new password works and the old one is refused right after the set.
// The servers log every statement: the rotated passwords must not be in their logs (the activities
// send hashes), and no credential may be in the workflow histories.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationTargetSpec } from '../../../activities/rotation/inputs.js';
import { mariaDbTarget, parseMariaDbAdmin } from '../../../activities/rotation/mariadb-target.js';
import { createRotationActivities } from '../../../activities/rotation/protocol.js';
import { mysqlNativePasswordHash } from '../../../activities/rotation/scram.js';
import { parseRotationLabels } from '../../../common/rotation/labels.js';
import { readMetadata, readSecret, writeSecret } from '../../../vault/kv.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { type WorkflowStatusReport, workflowStatusQuery } from '../../../workflows/lib/status.js';
import {
  rotationPhaseQuery,
  type SecretRotationResult,
  secretRotationWorkflow,
} from '../../../workflows/rotation/secret-rotation.js';
import { type DatabaseServer, startMariaDb, startPostgres } from '../../harness/databases.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const GRACE_MS = 3_600_000;
const RECHECK_MS = 60_000;

const vault = rootClient();
const mount = unique('kv-rotdb');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-rotdb-'));
const workflowIds: string[] = [];
const rotatedPasswords: string[] = [];
let env: TestWorkflowEnvironment | undefined;
let bundle: WorkflowBundle;

interface Session {
  ping(): Promise<void>;
  end(): Promise<void>;
}

/** One database engine as the test drives it: accounts, logins, and what a refusal says. */
interface Engine {
  name: string;
  server?: DatabaseServer;
  start(): Promise<DatabaseServer>;
  /** Makes the server log every statement to `statementLog`. */
  logStatements(): Promise<void>;
  statementLog: string;
  /** What the log shows of a password change vaultops makes (a hash, never the plaintext). */
  hashedChange: RegExp;
  adminData(): Record<string, unknown>;
  target(adminPath: string, role: string): RotationTargetSpec;
  createAccount(user: string, password: string): Promise<void>;
  login(user: string, password: string): Promise<Session>;
  refused: RegExp;
  /** What the status step shows of a session of `user`. */
  sessionShown(user: string): RegExp;
}

const db = (e: Engine) => e.server as DatabaseServer;

const postgres: Engine = {
  name: 'PostgreSQL',
  start: () => startPostgres(join(dir, 'pg')),
  statementLog: join(dir, 'pg', 'postgres.log'),
  hashedChange: /ALTER ROLE "\w+" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/,
  async logStatements() {
    await pgAdmin(async (c) => {
      await c.query(`ALTER SYSTEM SET log_statement = 'all'`);
      await c.query('SELECT pg_reload_conf()');
    });
  },
  adminData: () => ({
    host: db(postgres).host,
    port: db(postgres).port,
    user: db(postgres).adminUser,
    password: db(postgres).adminPassword,
    database: 'postgres',
  }),
  target: (adminPath, role) => ({ kind: 'postgres', admin: { path: adminPath }, role }),
  createAccount: (user, password) =>
    pgAdmin(async (c) => {
      await c.query(`CREATE ROLE ${c.escapeIdentifier(user)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
    }),
  async login(user, password) {
    const c = new pg.Client({
      host: db(postgres).host,
      port: db(postgres).port,
      user,
      password,
      database: 'postgres',
      application_name: 'billing',
    });
    c.on('error', () => {}); // a server stopped under a failed test must not add an unhandled error
    await c.connect();
    return { ping: async () => void (await c.query('SELECT 1')), end: () => c.end() };
  },
  refused: /password authentication failed/,
  sessionShown: (user) => new RegExp(`${user} pid \\d+ from 127\\.0\\.0\\.1 \\(billing\\)`),
};

async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ ...(postgres.adminData() as pg.ClientConfig) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const mariadb: Engine = {
  name: 'MariaDB',
  start: () => startMariaDb(join(dir, 'maria')),
  statementLog: join(dir, 'maria-general.log'),
  hashedChange: /ALTER USER '\w+'@'%' IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'/,
  async logStatements() {
    await mariaAdmin(async (c) => {
      await c.query('SET GLOBAL general_log_file = ?', [mariadb.statementLog]);
      await c.query('SET GLOBAL general_log = 1');
    });
  },
  // `username` rather than `user`: the admin reference takes either.
  adminData: () => ({
    host: db(mariadb).host,
    port: db(mariadb).port,
    username: db(mariadb).adminUser,
    password: db(mariadb).adminPassword,
  }),
  target: (adminPath, role) => ({ kind: 'mariadb', admin: { path: adminPath }, role }),
  createAccount: (user, password) =>
    mariaAdmin(async (c) => {
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
    }),
  async login(user, password) {
    const c = await createConnection({ host: db(mariadb).host, port: db(mariadb).port, user, password });
    return { ping: async () => void (await c.query('SELECT 1')), end: () => c.end() };
  },
  refused: /Access denied for user/,
  sessionShown: (user) => new RegExp(`${user} pid \\d+ from 127\\.0\\.0\\.1:\\d+ \\(Sleep\\)`),
};

async function mariaAdmin<T>(fn: (c: Awaited<ReturnType<typeof createConnection>>) => Promise<T>) {
  const c = await createConnection({
    host: db(mariadb).host,
    port: db(mariadb).port,
    user: db(mariadb).adminUser,
    password: db(mariadb).adminPassword,
  });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const ENGINES = [postgres, mariadb];

beforeAll(async () => {
  await vault.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
  let started: TestWorkflowEnvironment;
  [postgres.server, mariadb.server, started, bundle] = await Promise.all([
    postgres.start(),
    mariadb.start(),
    createTimeSkippingEnv(),
    bundleVaultopsWorkflows(),
  ]);
  env = started;
  for (const e of ENGINES) {
    rememberSecret(db(e).adminPassword, `${e.name} admin password`);
    await e.logStatements();
  }
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  await Promise.all(ENGINES.map((e) => e.server?.process.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const password = (what: string) => {
  const p = `${what}-${randomBytes(12).toString('base64url')}`;
  rememberSecret(p, what);
  return p;
};
const accountBase = () => `app_${randomBytes(4).toString('hex')}`;
const latest = async (path: string) => (await readSecret(vault, mount, path, { consistent: true })).data;
const labels = async (path: string) =>
  parseRotationLabels((await readMetadata(vault, mount, path)).custom_metadata);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Remembers the rotated password (and its hashes' plain form) for the history and log scans. */
async function rotatedCredential(path: string): Promise<{ username: string; password: string }> {
  const data = await latest(path);
  const pw = String(data.password);
  rememberSecret(pw, 'rotated password');
  rememberSecret(mysqlNativePasswordHash(pw), 'rotated password hash');
  rotatedPasswords.push(pw);
  return { username: String(data.username), password: pw };
}

async function setUp(e: Engine, username: string, pw: string) {
  const adminPath = unique('db-admin');
  await writeSecret(vault, mount, adminPath, e.adminData());
  const path = unique('db-app');
  await writeSecret(vault, mount, path, { username, password: pw });
  return { adminPath, path };
}

/** Runs one rotation on its own worker; `during` acts while the workflow runs. */
async function rotate(
  e: Engine,
  input: { path: string; target: RotationTargetSpec; strategy: 'single-user' | 'alternating' },
  during: (handle: {
    phase(): Promise<string>;
    status(): Promise<WorkflowStatusReport>;
    result(): Promise<SecretRotationResult>;
  }) => Promise<SecretRotationResult>,
): Promise<SecretRotationResult> {
  const testEnv = env as TestWorkflowEnvironment;
  const taskQueue = unique(`rotdb-${e.name.toLowerCase()}`);
  workflowIds.push(taskQueue);
  const worker = await createVaultopsWorker({
    connection: testEnv.nativeConnection,
    namespace: testEnv.namespace ?? 'default',
    taskQueue,
    activities: createRotationActivities({ vault }),
    workflowBundle: bundle,
  });
  return worker.runUntil(async () => {
    const handle = await testEnv.client.workflow.start(secretRotationWorkflow, {
      taskQueue,
      workflowId: taskQueue,
      args: [
        {
          mount,
          ...input,
          graceMs: GRACE_MS,
          rotationId: taskQueue,
          sessionRecheckMs: RECHECK_MS,
        },
      ],
    });
    return during({
      phase: () => handle.query(rotationPhaseQuery),
      status: () => handle.query(workflowStatusQuery),
      result: () => handle.result(),
    });
  });
}

/** A login with `pw` is refused (a login that succeeds is closed, then reported). */
async function expectRefused(e: Engine, user: string, pw: string) {
  const outcome = await e.login(user, pw).catch((err: unknown) => err);
  if (!(outcome instanceof Error)) {
    await (outcome as Session).end();
    throw new Error(`${e.name} still lets ${user} log in with the old password`);
  }
  expect(outcome.message).toMatch(e.refused);
}

const stepDetail = (report: WorkflowStatusReport, name: string) => report.steps.find((s) => s.name === name);

describe(`database rotation on ${server().flavour}`, () => {
  for (const e of ENGINES) {
    it(`${e.name} alternating users: old and new both log in through the grace period; a live old session holds retirement; then the old password is refused`, async () => {
      const base = accountBase();
      const oldPassword = password(`${e.name} old password`);
      await e.createAccount(`${base}_a`, oldPassword);
      await e.createAccount(`${base}_b`, password(`${e.name} unused password`));
      const { adminPath, path } = await setUp(e, `${base}_a`, oldPassword);
      const held = await e.login(`${base}_a`, oldPassword);
      try {
        const result = await rotate(
          e,
          { path, target: e.target(adminPath, base), strategy: 'alternating' },
          async (wf) => {
            await eventually('the grace period', async () =>
              (await wf.phase()) === 'grace' ? true : undefined,
            );
            const current = await rotatedCredential(path);
            expect(current.username).toBe(`${base}_b`);
            expect(current.password).not.toBe(oldPassword);
            // Grace period: the held client works, the old password logs in, so does the new one.
            await held.ping();
            await (await e.login(`${base}_a`, oldPassword)).end();
            const fresh = await e.login(`${base}_b`, current.password);
            await fresh.ping();
            await fresh.end();

            // The grace period ends; the held session keeps the retirement waiting, and says whose.
            await (env as TestWorkflowEnvironment).sleep(GRACE_MS);
            const waiting = await eventually('retirement to wait for the held session', async () => {
              const retire = stepDetail(await wf.status(), 'retire');
              return retire?.detail?.includes('waiting for') ? retire.detail : undefined;
            });
            expect(waiting).toMatch(e.sessionShown(`${base}_a`));
            expect(waiting).toContain('1 live session');
            expect(await wf.phase()).toBe('retire');
            // Not retired yet: the old password still logs in.
            await held.ping();
            await (await e.login(`${base}_a`, oldPassword)).end();

            await held.end();
            return wf.result();
          },
        );
        expect(result).toMatchObject({ outcome: 'rotated', current: 2, previous: 1 });
        expect(result.waitedFor).toEqual([expect.objectContaining({ user: `${base}_a` })]);
        expect(JSON.stringify(result)).not.toContain(oldPassword);

        // Retired: the old password is refused, the new one works.
        await expectRefused(e, `${base}_a`, oldPassword);
        const current = await rotatedCredential(path);
        await (await e.login(current.username, current.password)).end();
        expect(await labels(path)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
        expect((await labels(path)).rotation).toBeUndefined();
      } finally {
        await held.end().catch(() => {});
      }
    });

    it(`${e.name} single user: the new password works and the old one is refused right after`, async () => {
      const role = accountBase();
      const oldPassword = password(`${e.name} old single-user password`);
      await e.createAccount(role, oldPassword);
      const { adminPath, path } = await setUp(e, role, oldPassword);
      const held = await e.login(role, oldPassword);
      try {
        const result = await rotate(
          e,
          { path, target: e.target(adminPath, role), strategy: 'single-user' },
          async (wf) => {
            await eventually('the grace period', async () =>
              (await wf.phase()) === 'grace' ? true : undefined,
            );
            const current = await rotatedCredential(path);
            expect(current.username).toBe(role);
            await expectRefused(e, role, oldPassword);
            await (await e.login(role, current.password)).end();
            await held.ping(); // a session logged in before the change stays logged in
            return wf.result();
          },
        );
        expect(result).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
        await expectRefused(e, role, oldPassword);
        const current = await rotatedCredential(path);
        await (await e.login(role, current.password)).end();
        expect(await labels(path)).toMatchObject({ current: 2, previous: 1, state: 'retired' });
      } finally {
        await held.end().catch(() => {});
      }
    });
  }

  it('MariaDB: a missing account or a bad host is a clear error that shows no password or hash', async () => {
    const admin = parseMariaDbAdmin(mariadb.adminData());
    const target = mariaDbTarget({ admin, strategy: 'single-user', role: 'nobody_here' });
    const secret = password('password for a missing account');
    try {
      const err = await target
        .set({ username: 'nobody_here', password: secret }, null)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const shown = `${(err as Error).message} ${JSON.stringify(err)} ${(err as Error).stack}`;
      expect(shown).toMatch(/'nobody_here'@'%'.*does the account exist/);
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(mysqlNativePasswordHash(secret));
    } finally {
      await target.close();
    }
    expect(() => mariaDbTarget({ admin, strategy: 'single-user', role: 'app', host: "x'; DROP" })).toThrow(
      /not a MariaDB account host/,
    );
    expect(() => mariaDbTarget({ admin, strategy: 'single-user', role: 'bad-name' })).toThrow(
      /not a MariaDB user name/,
    );
  });

  it('the servers logged the password changes as hashes, never the rotated passwords', () => {
    expect(rotatedPasswords.length).toBeGreaterThanOrEqual(4);
    for (const e of ENGINES) {
      const log = readFileSync(e.statementLog, 'utf8');
      expect(log, `${e.name} logged the password changes`).toMatch(e.hashedChange);
      for (const pw of rotatedPasswords) {
        expect(log.includes(pw), `a rotated password is in the ${e.name} statement log`).toBe(false);
      }
    }
  });

  it('no credential in the workflow histories', async () => {
    expect(workflowIds).toHaveLength(4);
    await expectNoSecretsInHistory((env as TestWorkflowEnvironment).client, { workflowIds });
  });
});
