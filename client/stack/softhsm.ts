// A SoftHSM2 token in a directory of its own, with its own SOFTHSM2_CONF, so tests and the dev
// stack never touch a system token store.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { softhsmModulePath, toolPath } from './tools.js';

export interface SoftHsmToken {
  modulePath: string;
  confPath: string;
  label: string;
  /** Kept in memory by callers; the dev stack stores it mode 0600 in its own state dir. */
  userPin: string;
  /** Environment to give to processes that open the token. */
  env: { SOFTHSM2_CONF: string };
}

export function initSoftHsmToken(options: { dir: string; label?: string; userPin?: string }): SoftHsmToken {
  const util = toolPath('softhsm');
  const modulePath = softhsmModulePath();
  const tokenDir = join(options.dir, 'tokens');
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  const confPath = join(options.dir, 'softhsm2.conf');
  writeFileSync(
    confPath,
    `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const label = options.label ?? 'vaultops';
  const userPin = options.userPin ?? randomBytes(8).toString('hex');
  const env = { ...process.env, SOFTHSM2_CONF: confPath };

  const existing = spawnSync(util, ['--show-slots'], { env, encoding: 'utf8' });
  if (!existing.stdout.includes(`Label:            ${label}`)) {
    const soPin = randomBytes(8).toString('hex');
    const init = spawnSync(
      util,
      ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin],
      { env, encoding: 'utf8' },
    );
    if (init.status !== 0) {
      throw new Error(
        `softhsm2-util --init-token failed (exit ${init.status}): ${init.stderr || init.stdout}`,
      );
    }
  }
  return { modulePath, confPath, label, userPin, env: { SOFTHSM2_CONF: confPath } };
}

/** Dev stack: reuse the token and PIN across restarts; the PIN file is mode 0600. */
export function devSoftHsmToken(stateDir: string): SoftHsmToken {
  const dir = join(stateDir, 'softhsm');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pinFile = join(dir, 'user-pin');
  const userPin = existsSync(pinFile) ? readFileSync(pinFile, 'utf8').trim() : randomBytes(8).toString('hex');
  writeFileSync(pinFile, userPin, { mode: 0o600 });
  return initSoftHsmToken({ dir, label: 'vaultops-dev', userPin });
}
