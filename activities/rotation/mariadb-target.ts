// MariaDB (and MySQL) accounts, `'<user>'@'<host>'` (host `%` unless the spec names one). The
// strategies are PostgreSQL's: alternating users rotate the idle one of `<base>_a`/`<base>_b`, so
// both log in through the grace period, and retirement then gives the previous account a random
// password nobody keeps; single user changes the one account's password. Passwords go to the
// server as mysql_native_password hashes (`IDENTIFIED BY PASSWORD '*…'`), never as plaintext
// that the general or slow log could record. The admin connection comes from a KV reference; it
// needs CREATE USER (to alter accounts) and PROCESS (without it the process list shows only its
// own sessions, and retirement would not see who still uses the previous account).
import { ApplicationFailure } from '@temporalio/common';
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import { accountTarget } from './account-target.js';
import { mysqlNativePasswordHash } from './scram.js';
import type { Credential, LiveSession, RotationStrategy, RotationTarget } from './target.js';

/** The admin connection's parts, as held at the admin reference's KV path. */
export interface MariaDbAdmin {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string | undefined;
}

export interface MariaDbTargetOptions {
  admin: MariaDbAdmin;
  strategy: RotationStrategy;
  /** The account (single-user) or the pair's base name (alternating: `<role>_a`, `<role>_b`). */
  role: string;
  /** The account's host part (default `%`). */
  host?: string | undefined;
}

// Names without quotes or backslashes: escaped literals then mean the same in every sql_mode
// (NO_BACKSLASH_ESCAPES included).
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,60}$/;
const HOST_NAME = /^[A-Za-z0-9._%:-]{1,255}$/;

const badTarget = (message: string) =>
  ApplicationFailure.create({ type: 'RotationBadTarget', nonRetryable: true, message });

export function parseMariaDbAdmin(data: Credential): MariaDbAdmin {
  const port = Number(data.port ?? 3306);
  const admin: MariaDbAdmin = {
    host: String(data.host ?? ''),
    port,
    user: String(data.user ?? data.username ?? ''),
    password: String(data.password ?? ''),
    ...(data.database ? { database: String(data.database) } : {}),
  };
  if (!admin.host || !admin.user || !admin.password || !Number.isInteger(port)) {
    throw badTarget(
      'the MariaDB admin reference must hold host, port, user (or username) and password (database optional)',
    );
  }
  return admin;
}

function userOf(credential: Credential): string {
  const user = credential.username;
  if (typeof user !== 'string' || !USER_NAME.test(user)) {
    throw badTarget('the credential has no valid MariaDB user name in "username"');
  }
  return user;
}

/**
 * A driver error without what it carries besides the server's words: mysql2 attaches the whole
 * statement (`sql`, with the hash in it) to its errors, and loggers print every property.
 */
function quiet(what: string, err: unknown, secrets: string[]): Error {
  let message = err instanceof Error ? err.message : String(err);
  for (const s of secrets) message = message.split(s).join('[redacted]');
  const code = (err as { code?: unknown } | null)?.code;
  const hint =
    code === 'ER_CANNOT_USER'
      ? '; does the account exist? (rotation changes passwords, it creates no accounts)'
      : '';
  return new Error(`${what}: ${message}${typeof code === 'string' ? ` (${code})` : ''}${hint}`);
}

export function mariaDbTarget(options: MariaDbTargetOptions): RotationTarget {
  if (!USER_NAME.test(options.role)) {
    throw badTarget(`"${options.role}" is not a MariaDB user name vaultops rotates`);
  }
  const host = options.host ?? '%';
  if (!HOST_NAME.test(host)) {
    throw badTarget(
      `"${host}" is not a MariaDB account host (a name, an address, or a pattern with % and _)`,
    );
  }
  const { admin } = options;
  let connection: Connection | undefined;
  const adminConnection = async () => {
    if (connection) return connection;
    try {
      connection = await createConnection({ ...admin, connectTimeout: 10_000 });
    } catch (err) {
      throw quiet(`connecting to MariaDB at ${admin.host}:${admin.port} as ${admin.user}`, err, [
        admin.password,
      ]);
    }
    return connection;
  };
  const setPassword = async (user: string, password: string) => {
    const c = await adminConnection();
    const hash = mysqlNativePasswordHash(password);
    // MariaDB prepares no ALTER USER with placeholders (a syntax error at `?`): the account and
    // the hash are escaped literals instead.
    try {
      await c.query(
        `ALTER USER ${c.escape(user)}@${c.escape(host)} IDENTIFIED BY PASSWORD ${c.escape(hash)}`,
      );
    } catch (err) {
      throw quiet(`setting the password of '${user}'@'${host}'`, err, [hash, password]);
    }
  };

  return accountTarget(options.strategy, options.role, {
    userOf,
    setPassword,
    async login(user, password) {
      let login: Connection | undefined;
      try {
        login = await createConnection({
          host: admin.host,
          port: admin.port,
          user,
          password,
          ...(admin.database ? { database: admin.database } : {}),
          connectTimeout: 10_000,
        });
        const [rows] = await login.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
        const as = String(rows[0]?.u ?? '');
        if (as !== `${user}@${host}`) throw new Error(`logged in as ${as}, not ${user}@${host}`);
      } catch (err) {
        throw quiet(`logging in to MariaDB as '${user}'@'${host}'`, err, [password]);
      } finally {
        await login?.end().catch(() => {});
      }
    },
    async sessionsOf(user) {
      const c = await adminConnection();
      // The process list names the user, not the account's host part, and keeps no login time:
      // TIME is how long the session has been in its current state (idle, for a pooled client).
      const [rows] = await c.execute<RowDataPacket[]>(
        'SELECT ID, USER, HOST, DB, COMMAND, TIME FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
        [user],
      );
      const now = Date.now();
      return rows.map(
        (r): LiveSession => ({
          pid: Number(r.ID),
          user: String(r.USER),
          application: [r.DB, r.COMMAND].filter(Boolean).join('/'),
          client: String(r.HOST ?? ''),
          since: new Date(now - Number(r.TIME ?? 0) * 1000).toISOString(),
        }),
      );
    },
    async close() {
      const c = connection;
      connection = undefined;
      await c?.end().catch(() => {});
    },
  });
}
