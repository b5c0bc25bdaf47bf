// Debian's slapd on a free loopback port, with a throwaway directory holding test users.
// Passwords are generated per run and returned in memory only.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../client/stack/ports.js';
import { type ManagedProcess, startProcess } from '../../client/stack/process.js';
import { toolPath } from '../../client/stack/tools.js';

export interface Slapd {
  url: string;
  suffix: string;
  usersDn: string;
  users: Record<string, string>;
  process: ManagedProcess;
}

export async function startSlapd(dir: string, usernames: string[]): Promise<Slapd> {
  const slapd = toolPath('slapd');
  const port = await freePort();
  const suffix = 'dc=vaultops,dc=test';
  const usersDn = `ou=people,${suffix}`;
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database mdb',
      `suffix "${suffix}"`,
      `rootdn "cn=admin,${suffix}"`,
      `rootpw ${randomBytes(12).toString('hex')}`,
      `directory ${dataDir}`,
      'access to attrs=userPassword by anonymous auth by self write by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  const users = Object.fromEntries(usernames.map((u) => [u, randomBytes(12).toString('hex')]));
  const ldif = [
    `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\no: vaultops\ndc: vaultops\n`,
    `dn: ${usersDn}\nobjectClass: organizationalUnit\nou: people\n`,
    ...Object.entries(users).map(
      ([u, p]) =>
        `dn: uid=${u},${usersDn}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${p}\n`,
    ),
  ].join('\n');
  const ldifFile = join(dir, 'users.ldif');
  writeFileSync(ldifFile, ldif, { mode: 0o600 });
  const add = spawnSync('/usr/sbin/slapadd', ['-f', conf, '-l', ldifFile], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`slapadd failed (exit ${add.status}): ${add.stderr}`);

  const url = `ldap://127.0.0.1:${port}`;
  const proc = await startProcess({
    name: 'slapd',
    command: slapd,
    args: ['-f', conf, '-h', `${url}/`, '-d', '0'],
    logFile: join(dir, 'slapd.log'),
    ready: () =>
      new Promise((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
  });
  return { url, suffix, usersDn, users, process: proc };
}
