// A real PostgreSQL server in its own directory on a free loopback port, with an admin user whose
// password is generated per start. The tests' database engine and rotation suites use it, and so
// does the rotation benchmark: the embedded stack itself runs no database.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { toolPath } from './tools.js';

export interface PostgresServer {
  kind: 'postgresql';
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  process: ManagedProcess;
}

/** A readiness probe: the port takes a TCP connection (databases have no HTTP health check). */
export const tcpReady = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** Runs a setup command to completion; a failure throws with what it printed. */
export function runChecked(
  what: string,
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; input?: string } = {},
): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0)
    throw new Error(`${what} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

function userIds(name: string): { uid: number; gid: number } {
  return {
    uid: Number(runChecked('id', 'id', ['-u', name]).trim()),
    gid: Number(runChecked('id', 'id', ['-g', name]).trim()),
  };
}

/**
 * PostgreSQL refuses to run as root, so it runs as Debian's `postgres` user. `dir` is a new
 * directory whose parent is ours to open up (it becomes 0755 so that user can reach `dir`).
 */
export async function startPostgres(dir: string): Promise<PostgresServer> {
  const postgres = toolPath('postgres');
  const bin = join(postgres, '..');
  const { uid, gid } = userIds('postgres');
  const data = join(dir, 'pgdata');
  mkdirSync(data, { recursive: true });
  // The server runs as `postgres`: it must be able to reach its directory (mkdtemp makes 0700).
  chmodSync(dirname(dir), 0o755);
  chmodSync(dir, 0o755);
  chownSync(data, uid, gid);
  const adminPassword = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, adminPassword, { mode: 0o600 });
  chownSync(pwfile, uid, gid);
  runChecked(
    'initdb',
    join(bin, 'initdb'),
    ['-D', data, '-U', 'vaultadmin', `--pwfile=${pwfile}`, '--auth=scram-sha-256'],
    {
      uid,
      gid,
    },
  );
  rmSync(pwfile); // initdb has stored the password's verifier; the plaintext need not stay on disk
  const port = await freePort();
  const proc = await startProcess({
    name: 'PostgreSQL',
    command: postgres,
    args: ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', data],
    uid,
    gid,
    logFile: join(dir, 'postgres.log'),
    ready: tcpReady(port),
  });
  return {
    kind: 'postgresql',
    host: '127.0.0.1',
    port,
    adminUser: 'vaultadmin',
    adminPassword,
    process: proc,
  };
}
