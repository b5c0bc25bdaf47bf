// The lease keeper for real: a Vault database mount over a real PostgreSQL, a dynamic role with a
// short default TTL (6 s) and max TTL (15 s), a Temporal dev server (real time: the leases' times
// are real in Vault) and a worker with the real activities, started and stopped with the CLI
// (`vaultops lease keep`, `vaultops cancel`). Throughout, the delivered file (0600)
// holds a credential that logs in; it is replaced before the max TTL; the old lease is revoked
// (before it could have expired); KV holds the same credential; the lease id reads no password;
// cancelling revokes the last lease (its login is then refused) and removes the file; the history
// holds no password.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseActivities } from '../../../activities/lease/keeper.js';
import type { Alert } from '../../../activities/notifier.js';
import { REPO_DIR, toolPath } from '../../../client/stack/tools.js';
import { configureConnection, writeDynamicRole } from '../../../vault/database.js';
import { readSecret } from '../../../vault/kv.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import {
  type LeaseKeeperStatus,
  leaseKeeperStatusQuery,
  type leaseKeeperWorkflow,
} from '../../../workflows/lease/keeper.js';
import { type DatabaseServer, startPostgres } from '../../harness/databases.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const flavour = server().flavour;
const vault = rootClient();
const dbMount = unique('db-lease');
const kvMount = unique('kv-lease');
const dir = mkdtempSync(join(tmpdir(), `vaultops-lease-${flavour}-`));
const taskQueue = unique('lease-keeper');
const alerts: Alert[] = [];
let postgres: DatabaseServer | undefined;
let env: TestWorkflowEnvironment | undefined;
let worker: Worker | undefined;
let running: Promise<void> | undefined;

beforeAll(async () => {
  let started: TestWorkflowEnvironment;
  let bundle: Awaited<ReturnType<typeof bundleVaultopsWorkflows>>;
  [postgres, started, bundle] = await Promise.all([
    startPostgres(join(dir, 'pg')),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
    bundleVaultopsWorkflows(),
  ]);
  env = started;
  rememberSecret(postgres.adminPassword, 'PostgreSQL admin password');
  await vault.write(`sys/mounts/${dbMount}`, { type: 'database' });
  await vault.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  await configureConnection(vault, dbMount, {
    plugin: 'postgresql',
    name: 'pg',
    allowed_roles: ['app'],
    username: postgres.adminUser,
    password: postgres.adminPassword,
    connection_url: `postgresql://{{username}}:{{password}}@${postgres.host}:${postgres.port}/postgres?sslmode=disable`,
  });
  await writeDynamicRole(vault, dbMount, 'app', {
    db: 'pg',
    creationStatements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    ],
    defaultTtl: '6s',
    maxTtl: '15s',
  });
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: bundle,
    deps: {
      vault,
      notifier: {
        async notify(alert) {
          alerts.push(alert);
        },
      },
    },
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => {});
  await env?.teardown();
  await vault.close();
  await postgres?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Delivered {
  username: string;
  password: string;
  lease_id: string;
  issued_at: string;
}

/** Logs in as the credential; resolves to the user PostgreSQL says we are, or rejects. */
async function login(c: { username: string; password: string }): Promise<string> {
  const db = postgres as DatabaseServer;
  const client = new pg.Client({
    host: db.host,
    port: db.port,
    user: c.username,
    password: c.password,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
  } finally {
    await client.end();
  }
}

const CLI = join(REPO_DIR, 'bin/vaultops.js');
/** This machine's Temporal and Vault settings must not leak into the CLI; nor a dev stack here. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

function vaultops(args: string[]) {
  const target = ['--address', (env as TestWorkflowEnvironment).address, '--task-queue', taskQueue];
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [CLI, ...target, ...args],
      { env: { ...cleanEnv, VAULTOPS_STATE_DIR: join(dir, 'no-stack') }, timeout: 30_000 },
      (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

const lookup = (leaseId: string) => vault.put('sys/leases/lookup', { lease_id: leaseId });

/** The role's live leases, as Vault lists them. */
const liveLeases = async (): Promise<string[]> => {
  try {
    const body = (await vault.list(`sys/leases/lookup/${dbMount}/creds/app/`)) as {
      data: { keys: string[] };
    };
    return body.data.keys;
  } catch {
    return []; // Vault answers 404 for a prefix without leases
  }
};

describe(`lease keeper on ${flavour} with PostgreSQL (real time)`, () => {
  it('keeps a working credential delivered, replaces it before the max TTL, revokes old and last leases', async () => {
    const client = (env as TestWorkflowEnvironment).client;
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const file = join(outDir, 'db.json');
    const kvPath = unique('app-db');
    // Started and stopped as a user does: `vaultops lease keep`, `vaultops cancel`.
    const started = await vaultops([
      'lease',
      'keep',
      `${dbMount}/app`,
      '--to-file',
      file,
      '--kv',
      `${kvMount}/${kvPath}`,
      '--renew-before',
      '4s',
      '--overlap',
      '1s',
      '--remove-file-on-cancel',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const workflowId = started.stdout.split('\n')[0] as string;
    expect(workflowId).toBe(`lease:default:${dbMount}/app:${file}`);
    const handle = client.workflow.getHandle<typeof leaseKeeperWorkflow>(workflowId);
    const status = () => handle.query(leaseKeeperStatusQuery);

    // Poll as a client of the file would: every read must hold a credential that logs in.
    const seen = new Map<string, Delivered>(); // by lease id
    const startedAt = Date.now();
    let logins = 0;
    let s: LeaseKeeperStatus | undefined;
    let oldLease: Delivered | undefined;
    let oldRevokedAt: number | undefined;
    while (Date.now() - startedAt < 40_000) {
      let delivered: Delivered | undefined;
      try {
        delivered = JSON.parse(readFileSync(file, 'utf8')) as Delivered;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || seen.size > 0) throw err;
      }
      if (delivered) {
        if (!seen.has(delivered.lease_id)) {
          rememberSecret(delivered.password, `dynamic password of ${delivered.lease_id}`);
          seen.set(delivered.lease_id, delivered);
        }
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(await login(delivered)).toBe(delivered.username);
        logins += 1;
      }
      s = await status();
      if (s.reissues >= 1 && s.retiring.length === 0 && !oldRevokedAt) {
        oldRevokedAt = Date.now();
        oldLease = [...seen.values()][0];
      }
      // Keep reading through a renewal of the new lease, then stop.
      if (oldRevokedAt && Date.now() - oldRevokedAt > 2500) break;
      await sleep(250);
    }
    expect(s?.reissues).toBeGreaterThanOrEqual(1);
    expect(s?.renewals).toBeGreaterThanOrEqual(4);
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect(logins).toBeGreaterThan(20);
    expect(alerts).toEqual([]);

    // The first credential was replaced before the max TTL, and its lease revoked (not expired):
    // Vault no longer knows it, and PostgreSQL refuses its login.
    const first = oldLease as Delivered;
    const firstIssued = Date.parse(first.issued_at);
    expect((oldRevokedAt as number) - firstIssued).toBeLessThan(15_000);
    await expect(lookup(first.lease_id)).rejects.toThrow();
    await expect(login(first)).rejects.toThrow();

    // KV holds the same credential as the file.
    const current = JSON.parse(readFileSync(file, 'utf8')) as Delivered;
    expect(s?.leaseId).toBe(current.lease_id);
    expect((await readSecret(vault, kvMount, kvPath, { consistent: true })).data).toEqual(current);

    // The lease id is a reference: looking it up answers times, not the password or the user.
    const looked = JSON.stringify(await lookup(current.lease_id));
    expect(looked).toContain('expire_time');
    expect(looked).not.toContain(current.password);

    // A second keeper for the same credentials and file is refused.
    const again = await vaultops(['lease', 'keep', `${dbMount}/app`, '--to-file', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('running already');

    // Cancelled: the last lease is revoked (login refused), the file removed.
    const cancelled = await vaultops(['cancel', workflowId]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    await expect(login(current)).rejects.toThrow();
    await expect(lookup(current.lease_id)).rejects.toThrow();
    expect(() => statSync(file)).toThrow();

    process.stdout.write(
      `lease keeper (${flavour}): ${s?.renewals} renewals, ${s?.reissues} reissues, ${seen.size} credentials, ` +
        `${logins} logins from the file all accepted; first lease revoked ${(oldRevokedAt as number) - firstIssued} ms after issue (max TTL 15 s)\n`,
    );

    const scan = await expectNoSecretsInHistory(client, { workflowIds: [workflowId] });
    expect(scan.events).toBeGreaterThan(20);
  }, 60_000);

  it('activities: a refusal and a capped grant are answers; an undeliverable credential is revoked at once', async () => {
    const act = createLeaseActivities({ vault, notifier: { notify: async () => {} } });
    const actDir = join(dir, 'activities');
    mkdirSync(actDir);
    const file = join(actDir, 'db.json');
    const issued = await act.leaseIssue({ dbMount, role: 'app', deliver: { file } });
    // References only: no username, no password.
    expect(Object.keys(issued).sort()).toEqual(['durationSeconds', 'issuedAt', 'leaseId', 'renewable']);
    expect(issued).toMatchObject({ durationSeconds: 6, renewable: true });
    const delivered = JSON.parse(readFileSync(file, 'utf8')) as Delivered;
    rememberSecret(delivered.password, 'dynamic password (activities)');
    expect(delivered.lease_id).toBe(issued.leaseId);
    expect(JSON.stringify(issued)).not.toContain(delivered.password);
    expect(await liveLeases()).toContain(issued.leaseId.split('/').at(-1));

    expect(await act.leaseRenew({ leaseId: issued.leaseId, incrementSeconds: 6 })).toEqual({
      renewed: true,
      grantedSeconds: 6,
      renewable: true,
      capped: false,
    });
    const capped = await act.leaseRenew({ leaseId: issued.leaseId, incrementSeconds: 60 });
    expect(capped).toMatchObject({ renewed: true, capped: true });
    expect(capped.renewed && capped.grantedSeconds).toBeLessThanOrEqual(15);

    // The file is removed only while it holds this lease's credential.
    expect(await act.leaseRemoveFile({ path: file, leaseId: `${dbMount}/creds/app/someone-else` })).toEqual({
      removed: false,
    });
    expect(statSync(file).isFile()).toBe(true);

    expect(await act.leaseRevoke({ leaseId: issued.leaseId })).toEqual({ revoked: true });
    await expect(login(delivered)).rejects.toThrow();
    const refused = await act.leaseRenew({ leaseId: issued.leaseId, incrementSeconds: 6 });
    expect(refused.renewed).toBe(false);
    await act.leaseRevoke({ leaseId: issued.leaseId }); // gone already: no failure
    expect(await act.leaseRemoveFile({ path: file, leaseId: issued.leaseId })).toEqual({ removed: true });

    // A directory that does not exist: a clear, typed failure, and no lease left behind.
    const before = await liveLeases();
    const missing = join(dir, 'no-such-dir', 'db.json');
    expect(await failureType(act.leaseIssue({ dbMount, role: 'app', deliver: { file: missing } }))).toBe(
      'LeaseDeliveryFailed',
    );
    await expect(act.leaseIssue({ dbMount, role: 'app', deliver: { file: missing } })).rejects.toThrow(
      /does not exist on the worker/,
    );
    expect(await liveLeases()).toEqual(before);
    expect(await failureType(act.leaseIssue({ dbMount, role: 'app', deliver: { file: 'db.json' } }))).toBe(
      'LeaseBadInput',
    );
  });
});
