// Starting servers: a server that dies or never answers must fail loudly, with its log tail.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerStartError, startProcess } from '../../client/stack/process.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('startProcess', () => {
  it('fails with the exit code and the log tail when the server dies at start', async () => {
    const start = startProcess({
      name: 'Doomed server',
      command: 'bash',
      args: ['-c', 'echo "listener: address already in use" >&2; exit 3'],
      logFile: join(dir, 'doomed.log'),
      ready: async () => false,
    });
    await expect(start).rejects.toThrow(ServerStartError);
    await expect(start).rejects.toThrow(/Doomed server failed to start: exited with code 3/);
    await expect(start).rejects.toThrow(/listener: address already in use/);
  });

  it('fails and stops the process when it never becomes ready', async () => {
    const marker = `${process.pid}.${Date.now() % 1000}`; // a sleep argument no other process has
    const err = (await startProcess({
      name: 'Silent server',
      command: 'bash',
      args: ['-c', `echo "waiting for storage"; exec sleep 30.${marker.replace('.', '')}`],
      logFile: join(dir, 'silent.log'),
      ready: async () => false,
      timeoutMs: 1000,
    }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(ServerStartError);
    expect(err.message).toMatch(/Silent server did not become ready within 1s/);
    expect(err.message).toContain('waiting for storage');
    const still = spawnSync('pgrep', ['-f', `sleep 30.${marker.replace('.', '')}`], { encoding: 'utf8' });
    expect(still.stdout.trim()).toBe('');
  });

  it('returns once the readiness probe passes, and stop() ends the process', async () => {
    let probes = 0;
    const proc = await startProcess({
      name: 'Fine server',
      command: 'sleep',
      args: ['30'],
      logFile: join(dir, 'fine.log'),
      ready: async () => ++probes >= 3,
    });
    expect(probes).toBe(3);
    expect(proc.child.exitCode).toBeNull();
    await proc.stop();
    expect(proc.child.signalCode).toBe('SIGTERM');
  });
});
