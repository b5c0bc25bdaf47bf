// What the rotation activities take: references (cluster, KV path, rotation id, target), never a
// credential. The workflow and the CLI build these; the activities resolve them.
import type { RotationStrategy } from './target.js';

/** Where a secret lives in KV: a reference, never its value. */
export interface KvRef {
  mount: string;
  path: string;
}

export type RotationTargetSpec =
  | { kind: 'kv'; field?: string | undefined }
  | {
      /** A database-engine static role; the KV secret holds a pointer to it, never its password. */
      kind: 'database-static';
      /** The database secrets engine's mount (default "database"). */
      dbMount?: string | undefined;
      /** The static role (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
    }
  | {
      /** A connection's root credential (rotate-root; single-user only). */
      kind: 'database-root';
      dbMount?: string | undefined;
      connection: string;
      /** A dynamic role on the connection whose credentials the test logs in with. */
      verifyRole?: string | undefined;
    }
  | {
      kind: 'postgres';
      /** The KV path holding the admin connection's host, port, user, password and database. */
      admin: { mount?: string | undefined; path: string };
      /** The role (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
    }
  | {
      kind: 'mariadb';
      /** The KV path holding the admin connection's host, port, user, password (database optional). */
      admin: { mount?: string | undefined; path: string };
      /** The account (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
      /** The accounts' host part: `'<role>'@'<host>'` (default `%`). */
      host?: string | undefined;
    };

export interface RotationRef {
  cluster?: string | undefined;
  mount: string;
  path: string;
  rotationId: string;
  target: RotationTargetSpec;
  strategy: RotationStrategy;
}

export interface CreatePendingInput extends RotationRef {
  /** The version of `<path>` that was current at the lock (0: the secret is new). */
  baseVersion: number;
  /** A Vault password policy to generate the password with; random bytes by default. */
  passwordPolicy?: string | undefined;
  /** Rollback to a retained version: its credential becomes the pending one (nothing generated). */
  restoreVersion?: number | undefined;
}

export interface PromoteInput extends RotationRef {
  baseVersion: number;
}
