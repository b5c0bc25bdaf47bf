// Real PostgreSQL and MariaDB servers for the database-engine tests, each in its own temporary
// directory on a free loopback port, with an admin user whose password is generated per run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort } from '../../client/stack/ports.js';
import { type ManagedProcess, startProcess } from '../../client/stack/process.js';
import { toolPath } from '../../client/stack/tools.js';

export interface DatabaseServer {
  kind: 'postgresql' | 'mariadb';
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  process: ManagedProcess;
}

const tcpReady = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

function run(
  what: string,
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; input?: string } = {},
) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0)
    throw new Error(`${what} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  return result.stdout;
}

function userIds(name: string): { uid: number; gid: number } {
  return {
    uid: Number(run('id', 'id', ['-u', name]).trim()),
    gid: Number(run('id', 'id', ['-g', name]).trim()),
  };
}

/** PostgreSQL refuses to run as root, so it runs as Debian's `postgres` user. */
export async function startPostgres(dir: string): Promise<DatabaseServer> {
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
  run(
    'initdb',
    join(bin, 'initdb'),
    ['-D', data, '-U', 'vaultadmin', `--pwfile=${pwfile}`, '--auth=scram-sha-256'],
    {
      uid,
      gid,
    },
  );
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

export async function startMariaDb(dir: string): Promise<DatabaseServer> {
  const mariadbd = toolPath('mariadb');
  const data = join(dir, 'mariadb');
  mkdirSync(data, { recursive: true });
  const socket = join(dir, 'mariadb.sock');
  run('mariadb-install-db', join(mariadbd, '..', 'mariadb-install-db'), [
    `--datadir=${data}`,
    '--user=root',
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
  ]);
  const port = await freePort();
  const proc = await startProcess({
    name: 'MariaDB',
    command: mariadbd,
    args: [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      '--user=root',
      '--skip-name-resolve',
    ],
    logFile: join(dir, 'mariadb.log'),
    ready: tcpReady(port),
  });
  const adminPassword = randomBytes(12).toString('hex');
  run(
    'create the admin user',
    join(mariadbd, '..', 'mariadb'),
    ['--no-defaults', `--socket=${socket}`, '-u', 'root'],
    {
      input: `CREATE USER 'vaultadmin'@'%' IDENTIFIED BY '${adminPassword}';\nGRANT ALL PRIVILEGES ON *.* TO 'vaultadmin'@'%' WITH GRANT OPTION;\n`,
    },
  );
  return { kind: 'mariadb', host: '127.0.0.1', port, adminUser: 'vaultadmin', adminPassword, process: proc };
}
