// Initialising a SoftHSM2 token keeps its PINs off every command line (which any user can read in
// `ps`), and the token it makes works with the user PIN.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openHsm } from '../../../activities/hsm/pkcs11.js';
import { tokenInitCommand } from '../../../client/stack/softhsm.js';
import { REPO_DIR, softhsmModulePath } from '../../../client/stack/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-softhsm-init-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every command line on the machine right now. */
function commandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // the process ended meanwhile
    }
  }
  return lines;
}

describe('SoftHSM2 token initialisation', () => {
  it('builds a command line without PINs or PIN options', () => {
    const { args } = tokenInitCommand('/usr/lib/softhsm/libsofthsm2.so', 'label-x');
    expect(args.some((a) => /--(so-)?pin\b/.test(a))).toBe(false);
  });

  it('puts no PIN on any command line while it runs, and the token opens with the user PIN', async () => {
    const userPin = `pin${randomBytes(6).toString('hex')}`;
    const label = `init-${randomBytes(3).toString('hex')}`;
    const tokenDir = join(dir, 'token');
    // The init runs in a child so this process can watch /proc meanwhile (spawnSync blocks).
    // The child gets the PIN through its environment, which only its owner can read.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { initSoftHsmToken } from './client/stack/softhsm.ts';
         initSoftHsmToken({ dir: process.env.TOKEN_DIR, label: process.env.TOKEN_LABEL, userPin: process.env.TOKEN_PIN });`,
      ],
      {
        cwd: REPO_DIR,
        env: { ...process.env, TOKEN_DIR: tokenDir, TOKEN_LABEL: label, TOKEN_PIN: userPin },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let running = true;
    void exited.then(() => {
      running = false;
    });

    const seen: string[] = [];
    let scans = 0;
    while (running) {
      for (const line of commandLines()) {
        if (line.includes(userPin) || /--(so-)?pin\b/.test(line)) seen.push(line);
      }
      scans += 1;
      await sleep(2);
    }
    expect(await exited, output).toBe(0);
    expect(scans).toBeGreaterThan(5); // the watch really ran during the init
    expect(seen).toEqual([]);

    process.env.SOFTHSM2_CONF = join(tokenDir, 'softhsm2.conf');
    const session = openHsm({
      modulePath: softhsmModulePath(),
      tokenLabel: label,
      pin: userPin,
    });
    try {
      const { publicKey } = session.generateEcKeyPair('init-check', 'P-256');
      expect(publicKey.asymmetricKeyType).toBe('ec');
      expect(session.signEcdsa('init-check', Buffer.from('data'), 'sha256')).toHaveLength(64);
    } finally {
      session.close();
    }
  });
});
