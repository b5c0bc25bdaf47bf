// The database engine against real PostgreSQL and MariaDB: every credential Vault hands out is
// proven by logging in to the database with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configureConnection,
  type DatabaseConnection,
  dynamicCredentials,
  renewLease,
  revokeLease,
  rotateRoot,
  rotateStaticRole,
  staticCredentials,
  writeDynamicRole,
  writeStaticRole,
} from '../../../vault/database.js';
import { type DatabaseServer, startMariaDb, startPostgres } from '../../harness/databases.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-db-'));
const vault = rootClient();
const mount = unique('database');
const servers: Partial<Record<'postgresql' | 'mariadb', DatabaseServer>> = {};

beforeAll(async () => {
  // Settle both before failing, so cleanup never removes a directory a server is starting in.
  const [postgres, mariadb] = await Promise.allSettled([
    startPostgres(join(dir, 'pg')),
    startMariaDb(join(dir, 'my')),
  ]);
  if (postgres.status === 'fulfilled') servers.postgresql = postgres.value;
  if (mariadb.status === 'fulfilled') servers.mariadb = mariadb.value;
  for (const r of [postgres, mariadb]) if (r.status === 'rejected') throw r.reason;
  await vault.write(`sys/mounts/${mount}`, { type: 'database' });
}, 120_000);

afterAll(async () => {
  await vault.close();
  await Promise.all(Object.values(servers).map((s) => s?.process.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** Logs in with the given credentials and returns the user the database says we are. */
async function loginAs(db: DatabaseServer, user: string, password: string): Promise<string> {
  if (db.kind === 'postgresql') {
    const client = new pg.Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
    await client.connect();
    try {
      return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
    } finally {
      await client.end();
    }
  }
  const conn = await mysql.createConnection({ host: db.host, port: db.port, user, password });
  try {
    const [rows] = await conn.query('SELECT CURRENT_USER() AS u');
    return String((rows as { u: string }[])[0]?.u).split('@')[0] ?? '';
  } finally {
    await conn.end();
  }
}

async function asAdmin(db: DatabaseServer, sql: string): Promise<void> {
  if (db.kind === 'postgresql') {
    const client = new pg.Client({
      host: db.host,
      port: db.port,
      user: db.adminUser,
      password: db.adminPassword,
      database: 'postgres',
    });
    await client.connect();
    await client.query(sql).finally(() => client.end());
    return;
  }
  const conn = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.adminUser,
    password: db.adminPassword,
    multipleStatements: true,
  });
  await conn.query(sql).finally(() => conn.end());
}

const SQL = {
  postgresql: {
    createUser: (u: string, p: string) => `CREATE ROLE "${u}" WITH LOGIN SUPERUSER PASSWORD '${p}'`,
    createApp: (u: string, p: string) => `CREATE ROLE "${u}" WITH LOGIN PASSWORD '${p}'`,
    dynamic: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
    url: (db: DatabaseServer) =>
      `postgresql://{{username}}:{{password}}@${db.host}:${db.port}/postgres?sslmode=disable`,
    plugin: 'postgresql' as const,
  },
  mariadb: {
    createUser: (u: string, p: string) =>
      `CREATE USER '${u}'@'%' IDENTIFIED BY '${p}'; GRANT ALL PRIVILEGES ON *.* TO '${u}'@'%' WITH GRANT OPTION;`,
    createApp: (u: string, p: string) => `CREATE USER '${u}'@'%' IDENTIFIED BY '${p}';`,
    dynamic: [
      `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`,
      `GRANT SELECT ON *.* TO '{{name}}'@'%';`,
    ],
    url: (db: DatabaseServer) => `{{username}}:{{password}}@tcp(${db.host}:${db.port})/`,
    plugin: 'mysql' as const,
  },
};

describe.each(['postgresql', 'mariadb'] as const)(
  `database engine on ${server().flavour} with %s`,
  (kind) => {
    const sql = SQL[kind];
    const connection = `${kind}-main`;

    beforeAll(async () => {
      const db = servers[kind] as DatabaseServer;
      // Vault gets a user of its own, so rotating its root password never locks the test out.
      await asAdmin(db, sql.createUser('vault_root', 'initial-root-pw'));
      await configureConnection(vault, mount, {
        plugin: sql.plugin,
        name: connection,
        allowed_roles: ['*'],
        username: 'vault_root',
        password: 'initial-root-pw',
        connection_url: sql.url(db),
      } as DatabaseConnection);
    });

    it('issues dynamic credentials that log in, renews their lease, and revokes them', async () => {
      const db = servers[kind] as DatabaseServer;
      await writeDynamicRole(vault, mount, `${kind}-reader`, {
        db: connection,
        creationStatements: sql.dynamic,
        defaultTtl: '5m',
        maxTtl: '1h',
      });
      const creds = await dynamicCredentials(vault, mount, `${kind}-reader`);
      expect(creds).toMatchObject({ leaseSeconds: 300, renewable: true });
      expect(await loginAs(db, creds.username, creds.password)).toBe(creds.username);

      const renewed = await renewLease(vault, creds.leaseId, 600);
      expect(renewed.leaseSeconds).toBe(600);
      await revokeLease(vault, creds.leaseId);
      await expect(loginAs(db, creds.username, creds.password)).rejects.toThrow();
    });

    it('rotates a static role: the new password logs in, the old one no longer does', async () => {
      const db = servers[kind] as DatabaseServer;
      await asAdmin(db, sql.createApp('app_static', 'set-by-a-human'));
      await writeStaticRole(vault, mount, `${kind}-app`, {
        db: connection,
        username: 'app_static',
        rotationPeriod: '24h',
      });
      const before = await staticCredentials(vault, mount, `${kind}-app`);
      expect(before.username).toBe('app_static');
      expect(await loginAs(db, 'app_static', before.password)).toBe('app_static');
      await rotateStaticRole(vault, mount, `${kind}-app`);
      const after = await staticCredentials(vault, mount, `${kind}-app`);
      expect(after.password).not.toBe(before.password);
      expect(await loginAs(db, 'app_static', after.password)).toBe('app_static');
      await expect(loginAs(db, 'app_static', before.password)).rejects.toThrow();
    });

    it('rotates its root credentials and keeps working', async () => {
      const db = servers[kind] as DatabaseServer;
      await rotateRoot(vault, mount, connection);
      await expect(loginAs(db, 'vault_root', 'initial-root-pw')).rejects.toThrow();
      const creds = await dynamicCredentials(vault, mount, `${kind}-reader`);
      expect(await loginAs(db, creds.username, creds.password)).toBe(creds.username);
    });

    it('refuses a connection it cannot verify, naming the problem', async () => {
      await expect(
        configureConnection(vault, mount, {
          plugin: sql.plugin,
          name: `${kind}-wrong`,
          allowed_roles: ['*'],
          username: 'vault_root',
          password: 'not-the-password',
          connection_url: sql.url(servers[kind] as DatabaseServer),
        } as DatabaseConnection),
      ).rejects.toThrow(/error verifying|connection|password|denied/i);
    });
  },
);
