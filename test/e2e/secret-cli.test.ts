// `vaultops secret ...` as an operator runs it: an OpenBao dev server, a Temporal dev server and
// `vaultops worker` as its own process (encrypted payloads, as in worker-kill.test.ts), and the
// CLI binary. A KV secret is rotated with a 30 s grace period; `secret status` shows it held and
// at its grace phase; a second rotation is refused; `secret rollback <id>` puts the old value
// back as latest; a rotation with --wait; `secret rollback <path> --to-version 1` restores the
// first value; `secret history` lists versions and rotations. No command prints a secret value.

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer, type TemporalDevServer } from '../../client/stack/temporal-dev.js';
import { REPO_DIR } from '../../client/stack/tools.js';
import { startVaultDevServer, type VaultDevServer } from '../../client/stack/vault-dev.js';
import { EncryptionCodec } from '../../codec/codec.js';
import { encryptingDataConverter } from '../../codec/data-converter.js';
import { loadKeyFile } from '../../codec/key-file.js';
import { VaultClient } from '../../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../../vault/kv.js';
import { sealGuardId } from '../../workflows/lib/seal-signals.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { type Spawned, spawnCollecting } from '../harness/spawned.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const TASK_QUEUE = 'secret-cli-e2e';
const dir = mkdtempSync(join(tmpdir(), 'vaultops-secret-cli-'));
const keyFile = join(dir, 'codec-keys.json');
const configFile = join(dir, 'vaultops.yaml');
const secretPath = `app-${randomBytes(4).toString('hex')}`;
const where = `secret/${secretPath}`;

let vaultServer: VaultDevServer;
let temporal: TemporalDevServer;
let vault: VaultClient;
let connection: Connection;
let client: Client;
let worker: Spawned;

/** This machine's settings must not leak in; the CLI reads metadata with the operator's token. */
const baseEnv = () => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(k)),
  ),
  VAULT_ADDR: vaultServer.address,
  VAULT_TOKEN: vaultServer.rootToken,
  VAULTOPS_STATE_DIR: join(dir, 'no-dev-stack'),
});

/** Everything the CLI printed, to look for secret values in at the end. */
const printed: string[] = [];

function vaultops(...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--config', configFile, 'secret', ...args],
      { cwd: dir, env: baseEnv(), timeout: 60_000 },
      (err, stdout, stderr) => {
        printed.push(stdout, stderr);
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

const latest = async () => (await readSecret(vault, 'secret', secretPath, { consistent: true })).data;

beforeAll(async () => {
  // The compiled CLI, as `npm install` builds it: each command starts without compiling TypeScript.
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  [vaultServer, temporal] = await Promise.all([
    startVaultDevServer({ flavour: 'openbao', logDir: dir }),
    startTemporalDevServer({ stateDir: dir, logDir: dir }),
  ]);
  rememberSecret(vaultServer.rootToken, 'OpenBao root token');
  vault = new VaultClient({ address: vaultServer.address, timeoutMs: 10_000 });
  vault.tokens.set(vaultServer.rootToken);
  // One file for the worker and the CLI: where Temporal is, the task queue, the codec key.
  const keyring = loadKeyFile(keyFile, { create: true });
  writeFileSync(
    configFile,
    [
      'vault_integration:',
      `  address: "${vaultServer.address}"`,
      'temporal:',
      `  address: "${temporal.address}"`,
      `  task_queue: "${TASK_QUEUE}"`,
      'codec:',
      `  key_file: "${keyFile}"`,
    ].join('\n'),
  );
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({
    connection,
    namespace: temporal.namespace,
    dataConverter: encryptingDataConverter(keyring),
  });
  worker = spawnCollecting(process.execPath, [CLI, '--config', configFile, 'worker'], {
    cwd: REPO_DIR,
    env: baseEnv(),
  });
  await worker.waitFor('"msg":"worker polling"', 120_000);
  const first = { user: 'app', password: `v1-${randomBytes(12).toString('hex')}` };
  rememberSecret(first.password, 'version 1 password');
  await writeSecret(vault, 'secret', secretPath, first, { cas: 0 });
}, 240_000);

afterAll(async () => {
  await client?.workflow
    .getHandle(sealGuardId('default'))
    .terminate('test done')
    .catch(() => undefined);
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await connection?.close();
  await vault?.close();
  await vaultServer?.stop();
  await temporal?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('vaultops secret: a KV secret through rotation, rollback and restore', () => {
  let first = '';
  let v1: Record<string, unknown> = {};
  let startedAt = 0;
  /** Every password the secret has held, to look for in what was printed. */
  const passwords: string[] = [];
  const remember = (value: unknown, label: string) => {
    passwords.push(String(value));
    rememberSecret(String(value), label);
  };

  it('rotate --grace 30s starts the rotation and says how to follow it', async () => {
    startedAt = Date.now();
    v1 = await latest();
    passwords.push(String(v1.password));
    const run = await vaultops('rotate', where, '--target', 'kv', '--field', 'password', '--grace', '30s');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    first = run.stdout.match(/workflow (rotate:default:\S+)/)?.[1] ?? '';
    expect(first).toMatch(new RegExp(`^rotate:default:${where}:\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    expect(run.stdout).toContain('target kv, strategy single-user, grace 30s');
    expect(run.stdout).toContain(`vaultops status ${first} --follow`);
    expect(run.stdout).toMatch(/locked; now at /);
  });

  it('status shows the secret held by it, in its grace period', async () => {
    let text = '';
    for (let i = 0; i < 40 && !text.includes('phase grace'); i++) {
      if (i > 0) await sleep(250);
      const run = await vaultops('status', where);
      expect(run.code, run.stderr).toBe(0);
      text = run.stdout;
    }
    expect(text).toContain(`Held by     ${first}`);
    expect(text).toContain('Workflow    RUNNING, phase grace');
    expect(text).toContain('Current     version 2');
    expect(text).toContain('Previous    version 1');
    expect(text).toContain('State       promoted');
    expect(text).toMatch(/Steps\s+notice\s+done/);
    expect(text).toMatch(/ promote\s+done/);
    expect(text).toMatch(/ grace\s+running/);
    expect(text).toContain(`vaultops secret rollback ${first} --as <who>`);
    const json = JSON.parse((await vaultops('status', where, '--json')).stdout);
    expect(json).toMatchObject({
      mount: 'secret',
      path: secretPath,
      current: 2,
      previous: 1,
      rotation: first,
      state: 'promoted',
      holder: { workflowId: first, status: 'RUNNING', phase: 'grace' },
    });
  });

  it('a second rotation of the held secret is refused with a clear message', async () => {
    const run = await vaultops('rotate', where, '--target', 'kv', '--field', 'password', '--id', 'second');
    expect(run.stderr).toContain(
      `vaultops: rotation refused: secret ${where} is being rotated by ${first}; wait for it to finish or roll it back`,
    );
    expect(run.code).toBe(1);
    expect((await readMetadata(vault, 'secret', secretPath)).current_version).toBe(2);
  });

  it('rollback <id> in the grace period puts the old value back as the latest version', async () => {
    const rotated = await latest();
    remember(rotated.password, 'version 2 password');
    expect(rotated.password).not.toBe(v1.password);
    const run = await vaultops('rollback', first, '--as', 'alice', '--reason', 'clients fail');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Rolled back ${first} as alice: version 3 (the previous credential) is current again`,
    );
    expect(await latest()).toEqual(v1);
    const result = await client.workflow.getHandle(first).result();
    expect(result).toMatchObject({ outcome: 'rolled-back', current: 3 });
    // Closed now: a second rollback is refused, exit 1.
    const again = await vaultops('rollback', first, '--as', 'alice');
    expect(again.stderr).toContain(`rollback refused: workflow ${first} is no longer running (COMPLETED)`);
    expect(again.code).toBe(1);
  });

  it('rotate --wait waits and prints the outcome', async () => {
    const run = await vaultops(
      'rotate',
      where,
      '--target',
      'kv',
      '--field',
      'password',
      '--grace',
      '0s',
      '--id',
      'third',
      '--wait',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Rotated ${where}: version 4 is current, version 3 previous`);
    remember((await latest()).password, 'version 4 password');
  });

  it('rollback <path> --to-version 1 restores the first value', async () => {
    const refused = await vaultops('rollback', where, '--to-version', '9', '--as', 'bob', '--target', 'kv');
    expect(refused.stderr).toContain(`version 9 of ${where} is not retained (versions 1-4 exist)`);
    expect(refused.code).toBe(2);
    const run = await vaultops(
      'rollback',
      where,
      '--to-version',
      '1',
      '--as',
      'bob',
      '--reason',
      'back to the known good one',
      '--target',
      'kv',
      '--grace',
      '0s',
      '--wait',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Restoring version 1 of ${where}: workflow rotate:default:${where}:restore-v1-`,
    );
    expect(run.stdout).toContain(`Rotated ${where}: version 5 is current, version 4 previous`);
    expect(await latest()).toEqual(v1);
  });

  it('history lists every version and every rotation, newest first', async () => {
    const run = await vaultops('history', where);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`Secret ${where}: 5 retained version(s)`);
    expect(lines[1]).toMatch(/^VERSION\s+CREATED\s+STATE\s+LABEL$/);
    expect(
      lines.slice(2, 7).map((l) =>
        l
          .trim()
          .split(/\s+/)
          .filter((_, i) => i !== 1) // the creation time
          .join(' '),
      ),
    ).toEqual(['1 live', '2 live', '3 live', '4 live previous', '5 live current']);
    const json = JSON.parse((await vaultops('history', where, '--json')).stdout) as {
      versions: { version: number; label: string | null }[];
      rotations: { workflowId: string; status: string; outcome: string | null }[];
    };
    expect(json.versions.map((v) => v.label)).toEqual([null, null, null, 'previous', 'current']);
    const rotations = [...json.rotations].sort((a, b) => a.workflowId.localeCompare(b.workflowId));
    expect(rotations).toHaveLength(4);
    const byId = Object.fromEntries(json.rotations.map((r) => [r.workflowId, r]));
    expect(byId[first]).toMatchObject({
      status: 'COMPLETED',
      outcome: 'rolled-back: current v3, previous v2',
    });
    expect(byId[`rotate:default:${where}:second`]).toMatchObject({ status: 'FAILED' });
    expect(byId[`rotate:default:${where}:second`]?.outcome).toContain(`is being rotated by ${first}`);
    expect(byId[`rotate:default:${where}:third`]).toMatchObject({
      status: 'COMPLETED',
      outcome: 'rotated: current v4, previous v3',
    });
    const restore = json.rotations.find((r) => r.workflowId.includes(':restore-v1-'));
    expect(restore).toMatchObject({ status: 'COMPLETED', outcome: 'rotated: current v5, previous v4' });
    expect(run.stdout).toContain(`Rotations (cluster default, newest first)`);
    expect(run.stdout).toContain(first);
  });

  it("a rollback outside the grace period is refused with the workflow's own words, exit 1", async () => {
    const other = `secret/${secretPath}-noticed`;
    const run = await vaultops('rotate', other, '--target', 'kv', '--notice', '10m', '--id', 'noticed');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('announced; it begins after the notice period');
    const id = `rotate:default:${other}:noticed`;
    const refused = await vaultops('rollback', id, '--as', 'carol');
    expect(refused.stderr).toContain(
      'vaultops: rollback refused: a rollback is taken during the grace period only; the rotation is at "notice"',
    );
    expect(refused.code).toBe(1);
    await client.workflow.getHandle(id).cancel();
  });

  it('schedule: one schedule per secret, staggered, overlap skip', async () => {
    const run = await vaultops(
      'schedule',
      `${where}-a`,
      `${where}-b`,
      '--target',
      'kv',
      '--every',
      '30d',
      '--stagger',
      '2d',
      '--grace',
      '1h',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /`(npx )?vaultops schedule list` shows them; `(npx )?vaultops secret history <mount\/path>` shows their runs\./,
    );
    const ids = [`rotate:default:secret.${secretPath}-a`, `rotate:default:secret.${secretPath}-b`];
    const described = await Promise.all(ids.map((id) => client.schedule.getHandle(id).describe()));
    expect(described.map((d) => d.spec.intervals?.map((i) => [i.every, i.offset ?? 0]))).toEqual([
      [[2_592_000_000, 0]],
      [[2_592_000_000, 172_800_000]],
    ]);
    expect(described.map((d) => d.policies.overlap)).toEqual(['SKIP', 'SKIP']);
    expect(described[1]?.action).toMatchObject({
      workflowType: 'secretRotationWorkflow',
      workflowId: `rotate:default:${where}-b:scheduled`,
      taskQueue: TASK_QUEUE,
      args: [{ mount: 'secret', path: `${secretPath}-b`, target: { kind: 'kv' }, graceMs: 3_600_000 }],
    });
    expect(run.stdout).toContain(
      `Scheduled ${where}-b: schedule ${ids[1]}, every 720h offset 48h, overlap skip`,
    );
    const again = await vaultops(
      'schedule',
      `${where}-a`,
      '--target',
      'kv',
      '--every',
      '30d',
      '--grace',
      '1h',
    );
    expect(again.stderr).toContain(`${ids[0]} exists already; delete it first`);
    expect(again.code).toBe(2);
    await Promise.all(ids.map((id) => client.schedule.getHandle(id).delete()));
  });

  it('no command printed a secret value, and no history holds one', async () => {
    const all = printed.join('\n');
    expect(passwords).toHaveLength(3);
    for (const password of passwords) expect(all).not.toContain(password);
    const rotations = JSON.parse((await vaultops('history', where, '--json')).stdout).rotations as {
      workflowId: string;
    }[];
    const scan = await expectNoSecretsInHistory(
      client,
      { workflowIds: rotations.map((r) => r.workflowId) },
      { codecs: [new EncryptionCodec(loadKeyFile(keyFile, { create: false }))] },
    );
    expect(worker.output()).not.toContain(vaultServer.rootToken);
    process.stdout.write(
      `secret CLI e2e: rotate, status, refusal, rollback, --wait, restore, history in ${Date.now() - startedAt} ms; ` +
        `history scan: ${scan.runs} runs, ${scan.events} events, no secret\n`,
    );
  });
});
