// A SoftHSM2 token in a directory of its own, with its own SOFTHSM2_CONF, so tests and the dev
// stack never touch a system token store.
// The token is initialised through PKCS#11 itself (C_InitToken with the SO PIN, then C_InitPIN
// for the user PIN), not with `softhsm2-util --init-token --so-pin X --pin Y`: a command line is
// readable by every user in `ps`, and softhsm2-util reads PINs only from a terminal otherwise.
// It runs in a short-lived Node child so that C_Initialize, which is process-wide and reads
// SOFTHSM2_CONF once, never clashes with a module this process has open; the PINs reach it
// on stdin.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// Arguments: graphene-pk11's path, the module, the label. Stdin: {"soPin": ..., "userPin": ...}.
const INIT_SCRIPT = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const [graphenePath, modulePath, label] = process.argv.slice(1);
const { soPin, userPin } = JSON.parse(readFileSync(0, 'utf8'));
const graphene = createRequire(graphenePath)(graphenePath);
const mod = graphene.Module.load(modulePath, 'softhsm');
mod.initialize();
const slots = () => Array.from({ length: mod.getSlots(true).length }, (_, i) => mod.getSlots(true).items(i));
try {
  const free = slots().find((s) => !(s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED));
  if (!free) throw new Error('no free slot');
  // Slot.initToken reads a return value pkcs11js does not give; call C_InitToken directly.
  free.lib.C_InitToken(free.handle, soPin, label);
  // SoftHSM gives an initialised token a new slot: find it again by its label.
  const slot = slots().find((s) => s.getToken().label.trim() === label);
  if (!slot) throw new Error('the new token is not in any slot');
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  session.login(soPin, graphene.UserType.SO);
  session.initPin(userPin);
  session.logout();
  session.close();
} finally {
  mod.finalize();
}
`;

/** The init child's command line, which holds no PIN: exported so tests can check it. */
export function tokenInitCommand(modulePath: string, label: string): { command: string; args: string[] } {
  const graphenePath = createRequire(import.meta.url).resolve('graphene-pk11');
  return {
    command: process.execPath,
    args: ['--input-type=module', '-e', INIT_SCRIPT, graphenePath, modulePath, label],
  };
}

function tokenExists(label: string, env: NodeJS.ProcessEnv): boolean {
  const util = toolPath('softhsm');
  const slots = spawnSync(util, ['--show-slots'], { env, encoding: 'utf8' });
  return slots.stdout.split('\n').some((l) => /^\s*Label:\s/.test(l) && l.split(':')[1]?.trim() === label);
}

export function initSoftHsmToken(options: { dir: string; label?: string; userPin?: string }): SoftHsmToken {
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

  if (!tokenExists(label, env)) {
    // The SO PIN is needed only here; nobody keeps it.
    const soPin = randomBytes(8).toString('hex');
    const { command, args } = tokenInitCommand(modulePath, label);
    const init = spawnSync(command, args, {
      env,
      input: JSON.stringify({ soPin, userPin }),
      encoding: 'utf8',
    });
    if (init.status !== 0) {
      throw new Error(
        `initialising SoftHSM2 token "${label}" failed (exit ${init.status}): ${(init.stderr || init.stdout).trim()}`,
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
