// `vaultops lease keep` without a server: its input becomes the keeper's input and workflow id,
// and bad input exits 2 with a message saying what to fix (spawned, as a user meets it).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leaseKeepRequest } from '../../client/commands/lease/lease.js';
import { REPO_DIR } from '../../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

function vaultops(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      // Nothing listens on port 1: input checks must come before any connection.
      {
        cwd: dir,
        env: { ...cleanEnv, VAULTOPS_STATE_DIR: join(dir, 'no-stack'), TEMPORAL_ADDRESS: '127.0.0.1:1' },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

describe('vaultops lease keep', () => {
  it('maps the command line to the keeper input and a workflow id naming credentials and destination', () => {
    expect(
      leaseKeepRequest(
        'db/prod/app',
        { toFile: 'run/db.json', kv: 'secret/app/db', renewBefore: '5m', overlap: '30s', cluster: 'dr' },
        '/srv',
      ),
    ).toEqual({
      workflowId: 'lease:dr:db/prod/app:/srv/run/db.json',
      input: {
        cluster: 'dr',
        dbMount: 'db/prod',
        role: 'app',
        deliver: { file: '/srv/run/db.json', kv: { mount: 'secret', path: 'app/db' } },
        renewBeforeMs: 300_000,
        overlapMs: 30_000,
      },
    });
    expect(leaseKeepRequest('database/app', { kv: 'secret/app/db' }).workflowId).toBe(
      'lease:default:database/app:kv:secret/app/db',
    );
  });

  it.each([
    [['database/app'], 'say where the credentials go: --to-file <path>, --kv <kv-mount>/<path>, or both'],
    [['app', '--to-file', '/tmp/db.json'], '"app" is not <db-mount>/<role>'],
    [['database/../app', '--to-file', '/tmp/db.json'], 'is not <db-mount>/<role>'],
    [
      ['database/app', '--to-file', '/tmp/db.json', '--renew-before', 'soon'],
      '--renew-before must be a duration',
    ],
    [
      ['database/app', '--to-file', '/tmp/db.json', '--renew-before', '0s'],
      '--renew-before must be a duration',
    ],
    [['database/app', '--kv', 'secret'], '--kv must be <kv-mount>/<path>'],
    [
      ['database/app', '--kv', 'secret/app', '--remove-file-on-cancel'],
      '--remove-file-on-cancel needs --to-file',
    ],
    [['database/app', '--to-file', '/tmp/db.json', '--cluster', 'Bad'], '--cluster must be a cluster name'],
  ])('vaultops lease keep %j exits 2', async (args, message) => {
    const run = await vaultops(['lease', 'keep', ...args]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });
});
