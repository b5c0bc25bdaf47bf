// Real PostgreSQL and MariaDB servers for the database-engine tests, each in its own temporary
// directory on a free loopback port, with an admin user whose password is generated per run.
// PostgreSQL's starter lives in client/stack/ (the rotation benchmark starts one too).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../client/stack/ports.js';
import { runChecked, startPostgres, tcpReady } from '../../client/stack/postgres.js';
import { type ManagedProcess, startProcess } from '../../client/stack/process.js';
import { toolPath } from '../../client/stack/tools.js';

export { startPostgres };

export interface DatabaseServer {
  kind: 'postgresql' | 'mariadb';
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  process: ManagedProcess;
}

export async function startMariaDb(dir: string): Promise<DatabaseServer> {
  const mariadbd = toolPath('mariadb');
  const data = join(dir, 'mariadb');
  mkdirSync(data, { recursive: true });
  const socket = join(dir, 'mariadb.sock');
  runChecked('mariadb-install-db', join(mariadbd, '..', 'mariadb-install-db'), [
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
  runChecked(
    'create the admin user',
    join(mariadbd, '..', 'mariadb'),
    ['--no-defaults', `--socket=${socket}`, '-u', 'root'],
    {
      input: `CREATE USER 'vaultadmin'@'%' IDENTIFIED BY '${adminPassword}';\nGRANT ALL PRIVILEGES ON *.* TO 'vaultadmin'@'%' WITH GRANT OPTION;\n`,
    },
  );
  return { kind: 'mariadb', host: '127.0.0.1', port, adminUser: 'vaultadmin', adminPassword, process: proc };
}
