// Vault's database secrets engine as a rotation target: Vault generates and holds the passwords,
// so the KV secret is a pointer, never a copy. Its record names the static role (or the
// connection) and where to read it: `{ static_role, username, db_mount, creds_path, rotated_at,
// vault_rotation_before }` (root: `{ connection, username, db_mount, rotated_at }`); the
// application reads `<db_mount>/static-creds/<static_role>` for the password. The password the
// rotation activity generates is ignored.
//
// Static role, single user: set = rotate-role; test = read static-creds inside the activity, check
// Vault's last rotation moved, and log in to the database with them. There is no grace: the old
// password is gone the moment Vault rotates the role (the workflow's grace timer still runs, and
// clients that re-read static-creds get the new one).
// Static role, alternating: two static roles `<role>_a` / `<role>_b`; each rotation rotates the one
// the current record does not point at, so the current role's password stays valid through the
// grace period; retire rotates the previous role once more, so its old password stops working.
// Root credentials: rotate-root on the connection (single user only). Vault discards the old root
// password, so nothing can put it back: a failure after set is rolled FORWARD (the new root
// stays; Vault knows it, and the KV record is only a pointer to the connection).
import { ApplicationFailure } from '@temporalio/common';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { logger } from '../../common/logger.js';
import { alternatingRoles, idleRole } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import {
  dynamicCredentials,
  readConnection,
  readDynamicRole,
  readStaticRole,
  resetConnection,
  revokeLease,
  rotateRoot,
  rotateStaticRole,
  staticCredentials,
} from '../../vault/database.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { PG_SESSIONS_SQL, type PgSessionRow, pgSessions } from './postgres-target.js';
import type { Credential, RotationStrategy, RotationTarget } from './target.js';

/** A Vault role or connection name, as vaultops accepts it in a path segment. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const badTarget = (message: string) =>
  ApplicationFailure.create({ type: 'RotationBadTarget', nonRetryable: true, message });
/** A test that trying again cannot pass (a login refused by a down database is retried instead). */
const testFailed = (message: string) =>
  ApplicationFailure.create({ type: 'RotationTestFailed', nonRetryable: true, message });

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw badTarget(`"${name}" is not a valid ${what} name (letters, digits, _ . -)`);
}

async function orBadTarget<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound))
      throw badTarget(`${what} does not exist; create it first`);
    throw err;
  }
}

type Log = (message: string, fields: Record<string, unknown>) => void;
const defaultLog: Log = (message, fields) => logger.warn(fields, message);

// ---- Logging in to the database the way Vault's connection does -----------------------------

/** Where the connection's database listens, from its `connection_url` (never its credentials). */
export interface DatabaseEndpoint {
  kind: 'postgresql' | 'mysql';
  host: string;
  port: number;
  database: string | undefined;
  ssl: false | { rejectUnauthorized: boolean };
}

/** Parses a connection_url as Vault's PostgreSQL and MySQL plugins take it. */
export function endpointOf(pluginName: string, connectionUrl: string | undefined): DatabaseEndpoint {
  const url = connectionUrl ?? '';
  // The templates are placeholders, not credentials; make them URL-safe before parsing.
  const plain = url.replaceAll('{{username}}', 'u').replaceAll('{{password}}', 'p');
  if (pluginName.startsWith('postgresql')) {
    let parsed: URL;
    try {
      parsed = new URL(plain);
    } catch {
      throw badTarget(
        'the connection_url is not a postgresql:// URL; vaultops tests logins through URL-form connections only',
      );
    }
    if (!/^postgres(ql)?:$/.test(parsed.protocol) || !parsed.hostname)
      throw badTarget('the connection_url is not a postgresql://host:port/database URL');
    const sslmode = parsed.searchParams.get('sslmode') ?? 'prefer';
    return {
      kind: 'postgresql',
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port ? Number(parsed.port) : 5432,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
      ssl:
        sslmode === 'require'
          ? { rejectUnauthorized: false }
          : sslmode.startsWith('verify-')
            ? { rejectUnauthorized: true }
            : false,
    };
  }
  if (pluginName.startsWith('mysql')) {
    // Go's MySQL DSN: user:password@tcp(host:port)/database?params
    const m = /@tcp\(([^)]+)\)\/([^?]*)(?:\?(.*))?$/.exec(plain);
    if (!m)
      throw badTarget('the connection_url is not a MySQL DSN like {{username}}:{{password}}@tcp(host:3306)/');
    const address = m[1] as string;
    const colon = address.lastIndexOf(':');
    const host = (colon > 0 && !address.endsWith(']') ? address.slice(0, colon) : address).replace(
      /^\[(.*)\]$/,
      '$1',
    );
    const port = colon > 0 && !address.endsWith(']') ? Number(address.slice(colon + 1)) : 3306;
    const tls = new URLSearchParams(m[3] ?? '').get('tls');
    return {
      kind: 'mysql',
      host,
      port,
      database: m[2] || undefined,
      ssl:
        tls === 'true'
          ? { rejectUnauthorized: true }
          : tls === 'skip-verify'
            ? { rejectUnauthorized: false }
            : false,
    };
  }
  throw badTarget(
    `connection plugin ${pluginName} is not one vaultops can log in to (postgresql, mysql/mariadb)`,
  );
}

/** An open login as some user; `query` returns rows. */
interface Session {
  user: string;
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  end(): Promise<void>;
}

async function logIn(endpoint: DatabaseEndpoint, user: string, password: string): Promise<Session> {
  if (endpoint.kind === 'postgresql') {
    const c = new pg.Client({
      host: endpoint.host,
      port: endpoint.port,
      user,
      password,
      ...(endpoint.database ? { database: endpoint.database } : {}),
      ssl: endpoint.ssl,
      connectionTimeoutMillis: 10_000,
      application_name: 'vaultops-rotation-test',
    });
    try {
      await c.connect();
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    const u = (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? '';
    return {
      user: u,
      query: async <R>(sql: string, params?: unknown[]) => (await c.query(sql, params)).rows as R[],
      end: () => c.end().catch(() => {}),
    };
  }
  const c = await mysql.createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user,
    password,
    ...(endpoint.database ? { database: endpoint.database } : {}),
    ...(endpoint.ssl ? { ssl: endpoint.ssl } : {}),
    connectTimeout: 10_000,
  });
  const [rows] = await c.query('SELECT CURRENT_USER() AS u');
  const u = String((rows as { u: string }[])[0]?.u ?? '').replace(/@[^@]*$/, '');
  return {
    user: u,
    query: async <R>(sql: string, params?: unknown[]) => (await c.query(sql, params))[0] as R[],
    end: () => c.end().catch(() => {}),
  };
}

// ---- Static roles --------------------------------------------------------------------------

export interface DatabaseStaticTargetOptions {
  vault: VaultClient;
  /** The database secrets engine's mount. */
  dbMount: string;
  /** The static role (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
  role: string;
  strategy: RotationStrategy;
  log?: Log | undefined;
}

interface StaticRoleInfo {
  db: string;
  username: string;
  lastRotation: string | undefined;
}

function staticRoleOf(credential: Credential | null): string | undefined {
  return typeof credential?.static_role === 'string' ? credential.static_role : undefined;
}

/** The static role a pointer record names; a record that names none (or another base) is refused. */
function pointedRole(credential: Credential, allowed: string[]): string {
  const role = staticRoleOf(credential);
  if (!role || !allowed.includes(role)) {
    throw badTarget(
      `the KV record does not point at a static role of this target (${allowed.join(' or ')}); ` +
        'it must hold static_role, not a password',
    );
  }
  return role;
}

/**
 * A static-role target. Reads the static roles' configuration once (the pointer record needs the
 * database username, and `next` cannot wait for Vault).
 */
export async function databaseStaticTarget(options: DatabaseStaticTargetOptions): Promise<RotationTarget> {
  const { vault, dbMount, strategy } = options;
  const log = options.log ?? defaultLog;
  checkName('static role', options.role);
  const roles = strategy === 'alternating' ? alternatingRoles(options.role) : [options.role];
  for (const r of roles) checkName('static role', r);
  const info = new Map<string, StaticRoleInfo>();
  for (const r of roles) {
    info.set(
      r,
      await orBadTarget(`static role ${dbMount}/static-roles/${r}`, () => readStaticRole(vault, dbMount, r)),
    );
  }
  const infoOf = (role: string) => info.get(role) as StaticRoleInfo;

  /** The connection's endpoint, read when a login is needed. */
  const endpointFor = async (role: string) => {
    const db = infoOf(role).db;
    const connection = await orBadTarget(`connection ${dbMount}/config/${db}`, () =>
      readConnection(vault, dbMount, db),
    );
    return endpointOf(connection.pluginName, connection.connectionUrl);
  };

  return {
    next(current) {
      const role = strategy === 'alternating' ? idleRole(options.role, staticRoleOf(current)) : options.role;
      // A fresh record: nothing is carried over from `current`, which may be an older record
      // that held a password.
      return {
        static_role: role,
        username: infoOf(role).username,
        db_mount: dbMount,
        creds_path: `${dbMount}/static-creds/${role}`,
        rotated_at: new Date().toISOString(),
        // What Vault reported before this rotation: the test proves Vault rotated after it.
        vault_rotation_before: infoOf(role).lastRotation ?? '',
      };
    },

    async set(pending, current) {
      const role = pointedRole(pending, roles);
      if (strategy === 'alternating' && staticRoleOf(current) === role) {
        // Rotating the role the current record points at would cut off every client at once.
        throw badTarget(`static role ${role} is the current one; alternating rotates the idle role only`);
      }
      await rotateStaticRole(vault, dbMount, role);
    },

    async test(pending) {
      const role = pointedRole(pending, roles);
      const creds = await staticCredentials(vault, dbMount, role);
      if (creds.username !== pending.username) {
        throw testFailed(
          `static role ${role} now manages ${creds.username}, not ${String(pending.username)}; the record is stale`,
        );
      }
      // Compared as Vault wrote them (nanoseconds), and as times, so that an older one is refused.
      const before = String(pending.vault_rotation_before ?? '');
      const moved =
        creds.lastRotation !== before &&
        !Number.isNaN(Date.parse(creds.lastRotation)) &&
        !(Date.parse(creds.lastRotation) < Date.parse(before));
      if (!moved) {
        throw testFailed(
          `Vault did not rotate static role ${role}: its last rotation is still ${creds.lastRotation}`,
        );
      }
      const session = await logIn(await endpointFor(role), creds.username, creds.password);
      try {
        if (session.user !== creds.username)
          throw new Error(`logged in as ${session.user}, not ${creds.username}`);
      } finally {
        await session.end();
      }
    },

    async retire(previous, current) {
      if (strategy !== 'alternating') return; // single user: the old password died at set
      const old = pointedRole(previous, roles);
      if (old === staticRoleOf(current)) return;
      // The previous role's password, which clients may still hold, stops working now.
      await rotateStaticRole(vault, dbMount, old);
    },

    async revert(previous, failed) {
      // Nothing to put back on the database: the KV record is a pointer, and the pointer the
      // rollback restores still works. Alternating: the failed role was the idle one, and the
      // previous role was never touched. Single user: Vault discarded the old password at set,
      // so the role keeps its new one (rolled forward); clients re-reading static-creds get it.
      if (strategy === 'single-user' && staticRoleOf(failed)) {
        log('database static role rotation rolled forward: Vault keeps the new password', {
          dbMount,
          staticRole: staticRoleOf(failed),
          restoredRecord: previous ? staticRoleOf(previous) : null,
        });
      }
    },

    async sessionsUsing(credential, current) {
      const old = staticRoleOf(credential);
      const now = staticRoleOf(current);
      // Single user: old and new passwords share one account, so sessions cannot be told apart.
      if (strategy !== 'alternating' || !old || !now || old === now) return [];
      if (!info.has(old) || !info.has(now)) return []; // a record from before this pair
      const endpoint = await endpointFor(now);
      // MySQL shows other users' sessions only to PROCESS holders, which an app account is not.
      if (endpoint.kind !== 'postgresql') return [];
      // Seen through the current role's own login: pg_stat_activity lists every session to any
      // user (pid, user, application; the client address only to privileged roles).
      const creds = await staticCredentials(vault, dbMount, now);
      const session = await logIn(endpoint, creds.username, creds.password);
      try {
        const rows = await session.query<PgSessionRow>(PG_SESSIONS_SQL, [infoOf(old).username]);
        // A client address is shown to privileged roles only.
        return pgSessions(rows, 'unknown');
      } finally {
        await session.end();
      }
    },

    async close() {},
  };
}

// ---- Root credentials ----------------------------------------------------------------------

export interface DatabaseRootTargetOptions {
  vault: VaultClient;
  dbMount: string;
  /** The connection whose root credential Vault rotates. */
  connection: string;
  /**
   * A dynamic role on this connection: the test reads credentials through it (Vault creates the
   * user with its new root credential), logs in with them, and revokes the lease.
   */
  verifyRole?: string | undefined;
  strategy: RotationStrategy;
  log?: Log | undefined;
}

export async function databaseRootTarget(options: DatabaseRootTargetOptions): Promise<RotationTarget> {
  const { vault, dbMount, connection, verifyRole } = options;
  const log = options.log ?? defaultLog;
  if (options.strategy !== 'single-user') {
    throw badTarget(
      'root credentials rotate single-user only: a connection has one root account, and Vault keeps one password for it',
    );
  }
  checkName('connection', connection);
  if (verifyRole !== undefined) checkName('dynamic role', verifyRole);
  const config = await orBadTarget(`connection ${dbMount}/config/${connection}`, () =>
    readConnection(vault, dbMount, connection),
  );
  if (verifyRole !== undefined) {
    const role = await orBadTarget(`dynamic role ${dbMount}/roles/${verifyRole}`, () =>
      readDynamicRole(vault, dbMount, verifyRole),
    );
    if (role.db !== connection)
      throw badTarget(`dynamic role ${verifyRole} creates users on ${role.db}, not on ${connection}`);
  }
  // A reset verifies the stored root credential by logging in, unless the connection was
  // configured not to (HashiCorp Vault then skips it): the test would prove nothing.
  if (config.verifyConnection === false && verifyRole === undefined) {
    throw badTarget(
      `connection ${dbMount}/config/${connection} has verify_connection=false: name a dynamic role (verifyRole) for the test to log in through`,
    );
  }

  return {
    next: () => ({
      connection,
      username: config.username ?? '',
      db_mount: dbMount,
      rotated_at: new Date().toISOString(),
    }),

    async set() {
      await rotateRoot(vault, dbMount, connection);
    },

    async test() {
      // Vault closes its pooled connection and opens a new one with the root credential it now
      // holds, verifying it with a login: a wrong or lost root password fails here.
      await resetConnection(vault, dbMount, connection);
      if (verifyRole === undefined) return;
      const creds = await dynamicCredentials(vault, dbMount, verifyRole);
      try {
        const session = await logIn(
          endpointOf(config.pluginName, config.connectionUrl),
          creds.username,
          creds.password,
        );
        await session.end();
      } finally {
        await revokeLease(vault, creds.leaseId);
      }
    },

    async retire() {}, // the old root password was discarded at set

    async revert(previous, failed) {
      // Impossible: Vault discarded the old root password, and only Vault knows the new one.
      // Rolled forward instead: the new root stays in force (Vault holds it), and the KV record,
      // a pointer to the connection, is valid whichever version is latest.
      log('database root rotation cannot be reverted: rolled forward, Vault keeps the new root password', {
        dbMount,
        connection,
        abandonedRecordAt: typeof failed.rotated_at === 'string' ? failed.rotated_at : null,
        restoredRecordAt: typeof previous?.rotated_at === 'string' ? previous.rotated_at : null,
      });
    },

    sessionsUsing: async () => [],
    async close() {},
  };
}
