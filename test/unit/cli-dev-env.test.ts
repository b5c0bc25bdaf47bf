// The dev stack's env.sh: the exports a user sources so that `vault`, `bao` and `temporal` reach
// the stack. It holds the dev root token, so its mode is 0600 whatever was there before.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearStackEnv, type StackEnv, stackExports, writeStackEnv } from '../../common/dev-state.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-dev-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env: StackEnv = {
  vaultAddress: 'http://127.0.0.1:8201',
  vaultToken: "dev-to'ken",
  temporalAddress: '127.0.0.1:7234',
  temporalNamespace: 'default',
  uiUrl: 'http://127.0.0.1:8234',
};

describe('dev stack env.sh', () => {
  it('exports what the vault, bao and temporal CLIs read, as `vault server -dev` prints it', () => {
    expect(stackExports(env)).toEqual([
      `export VAULT_ADDR='http://127.0.0.1:8201' VAULT_TOKEN='dev-to'\\''ken' BAO_ADDR='http://127.0.0.1:8201' BAO_TOKEN='dev-to'\\''ken'`,
      `export TEMPORAL_ADDRESS='127.0.0.1:7234' TEMPORAL_NAMESPACE='default' TEMPORAL_UI_URL='http://127.0.0.1:8234'`,
    ]);
  });

  it('with --dr, also the DR pair, its key share and where the snapshots are', () => {
    const dr = {
      primaryAddress: 'http://127.0.0.1:8301',
      primaryToken: 'hvs.primary',
      primaryUnsealKey: 'c2hhcmU=',
      standbyAddress: 'http://127.0.0.1:8401',
      snapshotDir: '/tmp/state/snapshots',
    };
    expect(stackExports({ ...env, dr })[2]).toBe(
      "export VAULTOPS_DR_PRIMARY_ADDR='http://127.0.0.1:8301' VAULTOPS_DR_PRIMARY_TOKEN='hvs.primary' " +
        "VAULTOPS_DR_UNSEAL_KEY='c2hhcmU=' VAULTOPS_DR_STANDBY_ADDR='http://127.0.0.1:8401' " +
        "VAULTOPS_SNAPSHOT_DIR='/tmp/state/snapshots'",
    );
  });

  it('is written mode 0600 even over a readable file, sources in a shell, and is removed', () => {
    const file = join(dir, 'env.sh');
    writeFileSync(file, 'old', { mode: 0o644 });
    expect(writeStackEnv(dir, env)).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const shell = spawnSync(
      'bash',
      ['-c', `source ${file} && printf '%s|%s|%s' "$BAO_TOKEN" "$VAULT_ADDR" "$TEMPORAL_ADDRESS"`],
      { encoding: 'utf8', env: { PATH: process.env.PATH } },
    );
    expect(shell.stdout).toBe("dev-to'ken|http://127.0.0.1:8201|127.0.0.1:7234");

    clearStackEnv(dir);
    expect(existsSync(file)).toBe(false);
  });
});
