// Bad input to the CLI, as a user meets it: spawned `vaultops` processes, no server needed.
// Exit code 2 means "fix your input or configuration", 1 "the operation failed".
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../client/stack/ports.js';
import { REPO_DIR } from '../../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This machine's Vault and Temporal settings must not leak in; nor may a dev stack running here. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

function vaultops(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: dir, env: { ...cleanEnv, VAULTOPS_STATE_DIR: join(dir, 'no-stack'), ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

describe('usage errors exit 2, as ours do', () => {
  it.each([
    [['list', '--bogus'], "unknown option '--bogus'"],
    [['status'], "missing required argument 'workflow-id'"],
    [['dev', '--temporal-port', '0'], 'must be a port number (1-65535)'],
    [['no-such-command'], "unknown command 'no-such-command'"],
    [['list', '--limit', '0'], '--limit'],
  ])('vaultops %j', async (args, message) => {
    const run = await vaultops(args);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });

  it('--help exits 0', async () => {
    const run = await vaultops(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: vaultops');
  });
});

describe('a corrupt dev-stack state file', () => {
  it.each([
    ['invalid JSON', '{"pid": 12', 'is not valid JSON'],
    ['JSON of another shape', '{"pid": "twelve"}', 'is not a dev stack state file'],
  ])('(%s) is named with its fix, exit 2', async (_, text, problem) => {
    const stateDir = mkdtempSync(join(dir, 'state-'));
    const file = join(stateDir, 'stack.json');
    writeFileSync(file, text);
    for (const args of [['list'], ['status', 'some-id'], ['preflight']]) {
      const run = await vaultops(args, { VAULTOPS_STATE_DIR: stateDir });
      expect(run.stderr).toContain(`${file} ${problem}`);
      expect(run.stderr).toContain('delete it or run `vaultops dev` again');
      expect(run.code).toBe(2);
    }
  });
});

describe('commands that only talk to Temporal', () => {
  it('read neither the Vault section of a worker file nor the VAULT_* environment', async () => {
    const file = join(dir, 'worker.yaml');
    writeFileSync(
      file,
      [
        'vault_integration:',
        '  address: vault.example.com # not a URL',
        '  authentication:',
        '    method: approle',
        '    role_id: "${VAULTOPS_TEST_UNSET_ROLE_ID}"',
        'temporal:',
        `  address: "127.0.0.1:${await freePort()}" # nothing listens here`,
      ].join('\n'),
    );
    // Without a Temporal to reach they fail (1) at connecting, after the configuration passed.
    const runs = await Promise.all([
      vaultops(['--config', file, 'list']),
      vaultops(['--config', file, 'status', 'some-id']),
      vaultops(['preflight', '--no-wait'], { VAULTOPS_CONFIG: file }),
      vaultops(['list'], { VAULT_ADDR: 'not a url', TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }),
    ]);
    for (const run of runs) {
      expect(run.stderr).toContain('cannot reach Temporal at 127.0.0.1:');
      expect(run.stderr).not.toContain('vault_integration');
      expect(run.code).toBe(1);
    }
  });

  it('still refuse a broken temporal section, naming the field, exit 2', async () => {
    const file = join(dir, 'bad-temporal.yaml');
    writeFileSync(
      file,
      'temporal:\n  address: "temporal.example.com"\n  namespace: "${VAULTOPS_TEST_UNSET_NS}"\n',
    );
    const run = await vaultops(['--config', file, 'list']);
    expect(run.stderr).toContain('temporal.namespace: refers to ${VAULTOPS_TEST_UNSET_NS}, which is not set');
    expect(run.code).toBe(2);
    writeFileSync(file, 'temporal:\n  address: "temporal.example.com"\n');
    const address = await vaultops(['--config', file, 'list']);
    expect(address.stderr).toContain('temporal.address: must be host:port');
    expect(address.code).toBe(2);
  });
});
