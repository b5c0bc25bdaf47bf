// Starting a server process: log to a file, wait until a health probe passes, and on failure say
// which server, why, and the tail of its log. Stopping: SIGTERM, then SIGKILL after a grace period.
// Logs are mode 0600: servers print things (a dev root token, an unseal key) other users must not
// read, and `censorLine` keeps what the caller knows is secret out of the file altogether.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (when we are root and the server refuses root, like PostgreSQL). */
  uid?: number;
  gid?: number;
  /** Rewrites each line of output before it is written, e.g. to mask a secret the server prints. */
  censorLine?: (line: string) => string;
  /** Resolves true once the server answers. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/**
 * The process groups of servers still running. Being groups of their own, they would outlive us
 * when we end without stop() (a crash, process.exit, a closed terminal): they are killed then.
 */
const runningGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of runningGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  const log = createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
  log.on('error', () => {}); // a log that cannot be written must not crash the caller
  try {
    chmodSync(options.logFile, 0o600); // `mode` applies only when the file is created
  } catch {
    // not there yet: the stream creates it with mode 0600
  }
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C in the terminal signals the whole foreground group, and a
    // server stopped that way goes down before its users (the dev stack's worker still reporting
    // to Temporal). We stop it, in order, through stop().
    detached: true,
  });
  // Two sources share one log file: neither may end it; the child's 'close' (all output read) does.
  for (const source of [child.stdout, child.stderr]) {
    if (!source) continue;
    if (options.censorLine) writeCensored(source, log, options.censorLine);
    else source.pipe(log, { end: false });
  }
  const logFlushed = new Promise<void>((resolve) => {
    child.once('close', () => log.end(resolve));
    child.once('error', () => log.end(resolve));
  });
  const tailAfterFlush = async () => {
    await Promise.race([logFlushed, sleep(2000)]);
    return logTail(options.logFile);
  };
  let exit: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  if (child.pid !== undefined) runningGroups.add(child.pid);
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    if (child.pid !== undefined) runningGroups.delete(child.pid);
  });
  child.on('error', (err) => {
    spawnError = err;
  });

  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    child,
    stop: () => stopChild(child, () => exit !== undefined),
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (spawnError || exit) {
      const why = spawnError ? spawnError.message : `exited with code ${exit?.code} (signal ${exit?.signal})`;
      throw new ServerStartError(
        `${options.name} failed to start: ${why}\n--- last lines of ${options.logFile} ---\n${await tailAfterFlush()}`,
      );
    }
    if (await options.ready().catch(() => false)) return managed;
    if (Date.now() > deadline) {
      await managed.stop();
      throw new ServerStartError(
        `${options.name} did not become ready within ${(options.timeoutMs ?? 60_000) / 1000}s\n--- last lines of ${options.logFile} ---\n${await tailAfterFlush()}`,
      );
    }
    await sleep(150);
  }
}

/** Writes whole lines only, each rewritten; a partial last line is written when the source ends. */
function writeCensored(source: Readable, log: NodeJS.WritableStream, censor: (line: string) => string): void {
  let pending = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    if (lines.length > 0) log.write(`${lines.map(censor).join('\n')}\n`);
  });
  source.on('end', () => {
    if (pending) log.write(censor(pending));
  });
}

async function stopChild(child: ChildProcess, exited: () => boolean, graceMs = 10_000): Promise<void> {
  if (exited() || child.exitCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** A readiness probe: any HTTP answer with one of the given statuses. */
export function httpReady(url: string, okStatuses: number[] = [200]): () => Promise<boolean> {
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return okStatuses.includes(res.status);
  };
}
