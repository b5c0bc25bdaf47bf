// PostgreSQL accounts. Alternating users: two roles `<base>_a` and `<base>_b`; each rotation
// changes the password of the one the current credential does not use, so both stay valid for the
// whole grace period (the zero-downtime default), and retirement then gives the previous role a
// random password nobody keeps. Single user: the one role's password changes (existing sessions
// stay logged in; new logins need the new password, so clients retry through the short window).
// The admin connection comes from a KV reference, read inside the activity. Passwords go to the
// server as SCRAM verifiers, never as plaintext that log_statement could record.
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { accountTarget } from './account-target.js';
import { scramSha256Verifier } from './scram.js';
import type { Credential, LiveSession, RotationStrategy, RotationTarget } from './target.js';

/** The admin connection's parts, as held at the admin reference's KV path. */
export interface PostgresAdmin {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface PostgresTargetOptions {
  admin: PostgresAdmin;
  strategy: RotationStrategy;
  /** The role (single-user) or the pair's base name (alternating: `<role>_a`, `<role>_b`). */
  role: string;
}

const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,60}$/;

export function parsePostgresAdmin(data: Credential): PostgresAdmin {
  const port = Number(data.port ?? 5432);
  const admin = {
    host: String(data.host ?? ''),
    port,
    user: String(data.user ?? data.username ?? ''),
    password: String(data.password ?? ''),
    database: String(data.database ?? 'postgres'),
  };
  if (!admin.host || !admin.user || !admin.password || !Number.isInteger(port)) {
    throw ApplicationFailure.create({
      type: 'RotationBadTarget',
      nonRetryable: true,
      message:
        'the PostgreSQL admin reference must hold host, port, user (or username), password and database',
    });
  }
  return admin;
}

function userOf(credential: Credential): string {
  const user = credential.username;
  if (typeof user !== 'string' || !ROLE_NAME.test(user)) {
    throw ApplicationFailure.create({
      type: 'RotationBadTarget',
      nonRetryable: true,
      message: 'the credential has no valid PostgreSQL role name in "username"',
    });
  }
  return user;
}

export function postgresTarget(options: PostgresTargetOptions): RotationTarget {
  if (!ROLE_NAME.test(options.role)) {
    throw ApplicationFailure.create({
      type: 'RotationBadTarget',
      nonRetryable: true,
      message: `"${options.role}" is not a PostgreSQL role name vaultops rotates`,
    });
  }
  const { admin } = options;
  let client: pg.Client | undefined;
  const adminClient = async () => {
    if (client) return client;
    const c = new pg.Client({ ...admin, connectionTimeoutMillis: 10_000 });
    await c.connect();
    client = c;
    return c;
  };
  const setPassword = async (user: string, password: string) => {
    const c = await adminClient();
    // ALTER ROLE takes no parameters: the name and the verifier are escaped by the driver. The
    // server stores a SCRAM verifier as given (whatever password_encryption says).
    const verifier = scramSha256Verifier(password);
    await c.query(`ALTER ROLE ${c.escapeIdentifier(user)} WITH LOGIN PASSWORD ${c.escapeLiteral(verifier)}`);
  };

  return accountTarget(options.strategy, options.role, {
    userOf,
    setPassword,
    async login(user, password) {
      const login = new pg.Client({
        host: admin.host,
        port: admin.port,
        database: admin.database,
        user,
        password,
        connectionTimeoutMillis: 10_000,
      });
      try {
        await login.connect();
        const row = (await login.query<{ u: string }>('SELECT current_user AS u')).rows[0];
        if (row?.u !== user) throw new Error(`logged in as ${row?.u}, not ${user}`);
      } finally {
        await login.end().catch(() => {});
      }
    },
    async sessionsOf(user) {
      const c = await adminClient();
      return pgSessions((await c.query<PgSessionRow>(PG_SESSIONS_SQL, [user])).rows, 'local');
    },
    async close() {
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  });
}

/** Sessions logged in as $1 per pg_stat_activity, other than the asking connection's own. */
export const PG_SESSIONS_SQL =
  'SELECT pid, usename, application_name, host(client_addr) AS client_addr, backend_start FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()';

export interface PgSessionRow {
  pid: number;
  usename: string;
  application_name: string | null;
  client_addr: string | null;
  backend_start: Date | null;
}

/** `noAddress`: what a missing client address means to the asker (a local socket, or hidden). */
export function pgSessions(rows: PgSessionRow[], noAddress: string): LiveSession[] {
  return rows.map((r) => ({
    pid: r.pid,
    user: r.usename,
    application: r.application_name ?? '',
    client: r.client_addr ?? noAddress,
    since: r.backend_start ? r.backend_start.toISOString() : '',
  }));
}
