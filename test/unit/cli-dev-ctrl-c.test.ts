// Ctrl-C in the terminal running `vaultops dev`: the terminal sends SIGINT to the whole foreground
// process group, not only to vaultops. The stack must still stop in its own order (worker drained,
// its cancelled activities reported, then Vault, then Temporal), so no report is left retrying
// against a Temporal dev server that is already gone, and the command exits 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-dev-ctrl-c-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('vaultops dev on Ctrl-C', () => {
  it('stops in order: no activity report left retrying, exit code 0', { timeout: 300_000 }, async () => {
    // Its own process group, as a shell gives a foreground job; signalled as a whole, as Ctrl-C does.
    const dev = spawn(process.execPath, [CLI, 'dev', '--state-dir', stateDir, '--no-preflight'], {
      env: { ...process.env, VAULTOPS_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '', VAULTOPS_CONFIG: '' },
      cwd: REPO_DIR,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout.on('data', (d) => {
      output += d;
    });
    dev.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => dev.on('exit', (code) => resolve(code)));
    const group = -(dev.pid as number);
    try {
      const deadline = Date.now() + 180_000;
      while (!output.includes('Press Ctrl-C to stop.')) {
        if (dev.exitCode !== null) throw new Error(`vaultops dev exited with ${dev.exitCode}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`vaultops dev did not come up:\n${output}`);
        await sleep(200);
      }
      // The seal guard's watch (a long, heartbeating activity) is running by now: the worker started
      // the guard before it said it was ready. A moment more, so its first heartbeat is out.
      await sleep(2000);
      process.kill(group, 'SIGINT');
      expect(await exited, output).toBe(0);
      expect(output).toContain('[dev] stopped');
      expect(output).not.toMatch(/respond_activity_task|retried \d+ times/);
    } finally {
      if (dev.exitCode === null && dev.signalCode === null) {
        process.kill(group, 'SIGKILL');
        await exited;
      }
    }
  });
});
