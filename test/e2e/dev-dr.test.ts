// The DR walkthrough of docs/dr.md, as a user runs it: `vaultops dev --dr` brings up the stack
// with a DR pair (two single-node raft clusters, dr-primary and dr-standby); a secret written on
// the primary; `dr protect --now` snapshots it; `dr drill` restores it into the standby, which
// seals itself after the restore and is unsealed by the key holder with the primary's key (here
// the test, from env.sh); the drill reports verified, and the secret reads back on the standby.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { type Spawned, spawnCollecting } from '../harness/spawned.js';
import { waitFor } from '../harness/wait.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-e2e-dr-'));
const env = { ...process.env, VAULTOPS_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '', VAULTOPS_CONFIG: '' };
let dev: Spawned;

beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  dev = spawnCollecting(process.execPath, [CLI, 'dev', '--dr', '--no-preflight', '--state-dir', stateDir], {
    env,
    cwd: REPO_DIR,
  });
  await dev.waitFor('Press Ctrl-C to stop.', 180_000);
}, 200_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await dev.exited;
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** The VAULTOPS_DR_* exports of env.sh, as `source` would set them. */
function drExports(): Record<string, string> {
  const text = readFileSync(join(stateDir, 'env.sh'), 'utf8');
  return Object.fromEntries([...text.matchAll(/(VAULTOPS_[A-Z_]+)='([^']*)'/g)].map((m) => [m[1], m[2]]));
}

async function api(address: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers: { ...(token ? { 'X-Vault-Token': token } : {}), 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

function vaultops(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { env, cwd: REPO_DIR, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('vaultops dev --dr: protect and drill on the embedded DR pair', () => {
  it('snapshots the primary, restores it into the standby, unsealed by the key holder, verified', async () => {
    const dr = drExports();
    const primary = dr.VAULTOPS_DR_PRIMARY_ADDR as string;
    const standby = dr.VAULTOPS_DR_STANDBY_ADDR as string;
    const token = dr.VAULTOPS_DR_PRIMARY_TOKEN as string;
    expect(dev.output()).toMatch(/DR primary: +http:\/\/127\.0\.0\.1:\d+ \(cluster dr-primary, raft\)/);
    const written = await api(primary, 'POST', 'secret/data/app/db', token, { data: { owner: 'billing' } });
    expect(written.status).toBe(200);

    const protect = vaultops('dr', 'protect', '--cluster', 'dr-primary', '--now');
    expect(protect.code, protect.stderr).toBe(0);
    expect(protect.stdout).toMatch(/^Snapshot +dr-primary-\S+ \(usable\)$/m);
    expect(vaultops('dr', 'snapshots').stdout).toMatch(/dr-primary-\S+ +usable +\S+ +dr-primary/);

    const drill = spawn(
      process.execPath,
      [CLI, 'dr', 'drill', '--from', 'dr-primary', '--into', 'dr-standby'],
      {
        env,
        cwd: REPO_DIR,
      },
    );
    let output = '';
    drill.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => drill.on('exit', resolve));
    // The restored standby seals itself; the key holder unseals it with the primary's key.
    await waitFor(
      // While the restore runs the standby may not answer in time: ask again.
      async () => (await api(standby, 'GET', 'sys/seal-status').catch(() => undefined))?.body.sealed === true,
      60_000,
      'the standby sealed after the restore',
    );
    const unsealed = await api(standby, 'PUT', 'sys/unseal', undefined, { key: dr.VAULTOPS_DR_UNSEAL_KEY });
    expect(unsealed.body.sealed).toBe(false);
    expect(await exited).toBe(0);
    expect(output).toMatch(/^Outcome +verified: dr-standby matches dr-primary at snapshot time$/m);
    expect(output).toMatch(/^RPO +\d+ms/m);

    const read = await api(standby, 'GET', 'secret/data/app/db', token);
    expect(read.body.data?.data).toEqual({ owner: 'billing' });
  }, 180_000);

  it('fails over when the primary dies: detected, approved, fenced, restored, unsealed by the key holder, switched', async () => {
    const dr = drExports();
    const [primary, standby, token] = [
      dr.VAULTOPS_DR_PRIMARY_ADDR as string,
      dr.VAULTOPS_DR_STANDBY_ADDR as string,
      dr.VAULTOPS_DR_PRIMARY_TOKEN as string,
    ];
    // The standby serves the drill's restore; the primary goes on taking writes, then a snapshot.
    expect(
      (await api(primary, 'POST', 'secret/data/app/api', token, { data: { tier: 'gold' } })).status,
    ).toBe(200);
    expect(vaultops('dr', 'protect', '--cluster', 'dr-primary', '--now').code).toBe(0);
    // The primary's host is lost.
    const killed = spawnSync('pkill', ['-KILL', '-f', join(stateDir, 'dr', 'primary')]);
    expect(killed.status).toBe(0);

    const id = 'dr-failover:dr-primary:dr-standby';
    const started = vaultops(
      'dr',
      'failover',
      '--from',
      'dr-primary',
      '--to',
      'dr-standby',
      '--approver',
      'bob',
    );
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`vaultops approve ${id} --as <approver>`);
    const stepOf = (name: string) =>
      vaultops('status', id).stdout.match(new RegExp(`^\\s*(?:Steps\\s+)?${name}\\s+(\\S+)`, 'm'))?.[1];
    await waitFor(async () => stepOf('approve') === 'waiting-approval', 60_000, 'the approval gate');
    expect(stepOf('fence')).toBe('pending'); // nothing fenced before the approval
    expect(vaultops('approve', id, '--as', 'bob', '--reason', 'e2e: primary host lost').code).toBe(0);
    // The restored standby seals itself and waits for the key holder; a standby that already
    // holds the primary's keyring (the drill restored it) may stay unsealed and go straight on.
    await waitFor(
      async () => ['queued-sealed', 'done'].includes(stepOf('unseal') ?? ''),
      90_000,
      'the unseal step',
    );
    if (stepOf('unseal') === 'queued-sealed') {
      // The key holder's share goes from the CLI to the standby; the workflow learns the progress.
      const share = spawnSync(process.execPath, [CLI, 'dr', 'unseal-share', id, '--cluster', 'dr-standby'], {
        env,
        cwd: REPO_DIR,
        encoding: 'utf8',
        input: `${dr.VAULTOPS_DR_UNSEAL_KEY}\n`,
      });
      expect(share.status, share.stderr).toBe(0);
    }
    await waitFor(async () => stepOf('switch') === 'done', 60_000, 'the switch');
    const status = vaultops('status', id).stdout;
    expect(status).toMatch(/fence +done .*unreachable/);
    expect(status).toMatch(/verify +done .*canary present/);
    expect(status).not.toContain(dr.VAULTOPS_DR_UNSEAL_KEY as string);
    const record = JSON.parse(readFileSync(join(stateDir, 'snapshots', 'current-primary.json'), 'utf8'));
    expect(record).toMatchObject({ cluster: 'dr-standby', previous: 'dr-primary', workflowId: id });
    // Every write acknowledged before the snapshot is on the new primary.
    expect((await api(standby, 'GET', 'secret/data/app/api', token)).body.data?.data).toEqual({
      tier: 'gold',
    });
    vaultops('cancel', id); // ends the fence watch (an hour by default)
  }, 180_000);
});
