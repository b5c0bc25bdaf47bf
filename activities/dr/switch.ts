// The switch to the new primary: the "current primary" record written atomically next to the
// snapshot store (temp file, fsync, rename, directory fsync), and the operator's hook command for
// DNS or a load balancer, run with VAULTOPS_DR_NEW_PRIMARY set. Only the hook's exit status is
// kept: its output could hold anything, so it is not read.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CurrentPrimaryRecord } from '../../common/dr/failover.js';
import type { ClusterDeps } from '../clusters.js';
import { fsyncPath } from './fsync.js';
import type { SnapshotStore } from './snapshot-store.js';

/** What the failover and failback activities are made from. */
export interface DrSwitchDeps extends ClusterDeps {
  store: SnapshotStore;
  /** Where the current-primary record is (default: current-primary.json in the store's directory). */
  recordFile?: string;
}

export const currentPrimaryFileOf = (deps: DrSwitchDeps): string =>
  deps.recordFile ?? join(deps.store.location, 'current-primary.json');

export async function writeCurrentPrimaryFile(file: string, record: CurrentPrimaryRecord): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.current-primary-${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncPath(dir);
}

export interface HookResult {
  exitCode: number | null;
  signal: string | null;
  ms: number;
  /** Set when the command could not start or ran past its time. */
  error?: string;
}

/** Runs `command` with `sh -c`; its output is discarded. Killed after `timeoutMs`. */
export async function runHook(
  command: string,
  env: Record<string, string>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `killed after ${options.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      error ??= err.message;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code, signal, ms: Date.now() - started, ...(error ? { error } : {}) });
    });
  });
}

/** The current-primary record written by a failover (or failback); null when there is none yet. */
export async function readCurrentPrimaryFile(file: string): Promise<CurrentPrimaryRecord | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CurrentPrimaryRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
