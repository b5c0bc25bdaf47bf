// What `vaultops migrate run` carries: where the migration goes, how target names follow from
// source names, and what the ledger records. Pure (no I/O), so the workflow, the activities and
// the CLI share it. Names, counts and digests only: no value, secret ID, password or backup.
import type { ApprovalPolicy } from '../approval.js';

/**
 * Where each migrated item lands. Between namespaces the names stay; within one namespace (Vault
 * Community has only the root) a prefix keeps the copies apart: mount `secret/` becomes
 * `<prefix>secret/`, auth `approle/` becomes `<prefix>approle/`, policy `app` becomes `<prefix>app`.
 */
export interface TargetMapping {
  /** Source and target namespaces, absolute; "" is the root. */
  from: string;
  to: string;
  /** "" between namespaces. */
  prefix: string;
  /**
   * Only these source mounts ("secret/", auth methods as "auth/approle/") and policies; all when
   * absent. For a part of a namespace (a root namespace shared with other tenants, say).
   */
  only?: MigrationSelection | undefined;
}

/**
 * A part of a namespace: mounts ("secret/", "auth/approle/") and policies by name; identity
 * entities and groups by name (none when absent: a shared root namespace holds everyone's).
 */
export interface MigrationSelection {
  mounts: string[];
  policies: string[];
  entities?: string[] | undefined;
  groups?: string[] | undefined;
}

export const targetMount = (m: TargetMapping, path: string) => `${m.prefix}${path}`;
export const targetPolicy = (m: TargetMapping, name: string) => `${m.prefix}${name}`;
/** Identity entities and groups are named like policies: prefixed within one namespace. */
export const targetIdentityName = (m: TargetMapping, name: string) => `${m.prefix}${name}`;

/**
 * A source policy's text as the target needs it: patterns that name the source namespace by its
 * full path name the target's instead, and (with a prefix) patterns under a migrated mount or auth
 * method name the prefixed copy. Everything else is kept as written.
 */
export function adjustPolicyText(
  text: string,
  m: TargetMapping,
  migratedMounts: readonly string[],
): { text: string; adjusted: string[] } {
  const adjusted: string[] = [];
  const mounts = migratedMounts.map((p) => p.replace(/\/*$/, '/'));
  const out = text.replace(
    /(path\s*"|"path"\s*:\s*\{\s*")([^"]+)"/g,
    (whole, lead: string, pattern: string) => {
      let next = pattern;
      if (m.from !== '' && (next === m.from || next.startsWith(`${m.from}/`)))
        next = `${m.to}${next.slice(m.from.length)}`.replace(/^\//, '');
      if (m.prefix !== '') {
        const auth = next.startsWith('auth/') ? 'auth/' : '';
        const rest = next.slice(auth.length);
        const mount = mounts.find((p) => p.startsWith(auth) && rest.startsWith(p.slice(auth.length)));
        if (mount) next = `${auth}${m.prefix}${rest}`;
      }
      if (next === pattern) return whole;
      adjusted.push(`${pattern} -> ${next}`);
      return `${lead}${next}"`;
    },
  );
  return { text: out, adjusted };
}

/** One thing this migration created at the target; rollback removes these, newest first. */
export type LedgerEntry =
  | { kind: 'namespace'; name: string } // absolute path
  | { kind: 'mount'; name: string } // "m-secret/"
  | { kind: 'auth'; name: string } // "approle/" (under auth/)
  | { kind: 'policy'; name: string }
  | { kind: 'auth-role'; name: string } // "auth/approle/role/web"
  | { kind: 'transit-key'; name: string } // "transit/keys/orders"
  | { kind: 'pki-role'; name: string } // "pki/roles/web"
  | { kind: 'kv-secret'; name: string } // "secret/app/db" (mount/path)
  | { kind: 'kv1-secret'; name: string } // "kv1/app/db": a KV v1 key (mount/path)
  | { kind: 'identity-entity'; name: string } // the target entity's name
  | { kind: 'identity-group'; name: string }
  | { kind: 'identity-entity-alias'; name: string } // JSON [entity, auth mount path, alias name]
  | { kind: 'identity-group-alias'; name: string } // JSON [group, auth mount path, alias name]
  | { kind: 'database-connection'; name: string } // "db/config/pg"
  | { kind: 'database-role'; name: string }; // "db/roles/readonly"

/** Where the ledger lives: a KV v2 secret in the target cluster's root namespace. */
export interface LedgerLocation {
  cluster?: string | undefined;
  mount: string;
  path: string;
}

export const ledgerLocation = (id: string, cluster?: string, mount = 'secret'): LedgerLocation => ({
  cluster,
  mount,
  path: `vaultops/migrations/${id}`,
});

/** What every migrate activity takes: the two sides, the mapping and the ledger. */
export interface MigrateContext {
  id: string;
  sourceCluster?: string | undefined;
  targetCluster?: string | undefined;
  mapping: TargetMapping;
  ledger: LedgerLocation;
}

/** What one step did, by name: created, already there (identical), and items with a caveat. */
export interface StepReport {
  created: string[];
  skipped: string[];
  /** e.g. "auth/userpass/users/alice: reset required" — names and actions, never values. */
  caveats: string[];
}

export interface MigrateRunInput {
  /** Short and unique: the ledger's path and the workflow id's tail. */
  id: string;
  sourceCluster?: string;
  targetCluster?: string;
  from: string;
  to: string;
  /** Within one namespace: the prefix of every target mount and policy (see TargetMapping). */
  prefix?: string;
  /** Only these source mounts, policies, entities and groups (see TargetMapping.only). */
  only?: MigrationSelection;
  approval: ApprovalPolicy;
  /** From cutover to the retirement's approval; ms. */
  graceMs: number;
  /** Delete what was migrated at the source after the second approval (default: only mark it). */
  retireSource?: boolean;
  /** The KV v2 mount in the target's root namespace that keeps ledgers and cutover records. */
  ledgerMount?: string;
  /** KV secrets per batch (one activity) and batches per run before continue-as-new. */
  kvBatchSize?: number;
  batchesPerRun?: number;
}

export interface KvTotals {
  paths: number;
  versionsWritten: number;
  placeholders: number;
  mismatched: number;
  /** Up to 20 mismatching paths, by name. */
  mismatchedPaths: string[];
  /** sha256 over every copied (path, version, digest) at the source, and at the target. */
  sourceDigest: string;
  targetDigest: string;
}

/** State carried across continue-as-new: the KV phase's cursor and what earlier phases reported. */
export interface MigrateCarry {
  kvMounts: string[];
  mountIndex: number;
  after: string | null;
  totals: KvTotals;
  reports: Record<string, StepReport>;
  approvals: string[];
  runs: number;
  /** Who confirmed the freeze, if they did before a continue-as-new. */
  frozenBy?: string | null;
}

export const emptyTotals = (): KvTotals => ({
  paths: 0,
  versionsWritten: 0,
  placeholders: 0,
  mismatched: 0,
  mismatchedPaths: [],
  sourceDigest: '',
  targetDigest: '',
});
