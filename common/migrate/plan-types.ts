// The migration plan's shape: what each item, gap and summary records. Its own module so that
// the identity rules (plan-identity.ts) and the plan builder (plan.ts) both use it without a loop.
import type { ServerFacts } from './inventory.js';

export type Verdict = 'exact' | 'caveat' | 'not-migratable';

export type PlanItemKind =
  | 'secrets-engine'
  | 'kv-data'
  | 'auth-method'
  | 'auth-role'
  | 'policy'
  | 'identity-entity'
  | 'identity-group'
  | 'identity-alias'
  | 'transit-key'
  | 'pki-issuer'
  | 'pki-role'
  | 'database-connection'
  | 'database-role';

export interface PlanItem {
  kind: PlanItemKind;
  /** Where it lives in the source namespace: "secret/", "auth/approle/role/web", "policy app-read". */
  name: string;
  verdict: Verdict;
  /** Facts (counts, type), never values. */
  detail: string;
  /** For caveats: what the operator must do. */
  action?: string;
  /** For not-migratable items: why. */
  reason?: string;
  /** Set when the target already holds something of this name with different content. */
  conflict?: string;
}

export interface Gap {
  /** What the target lacks: "namespaces", "secrets engine ssh", "auth method ldap", "database plugin x". */
  missing: string;
  /** Why it matters; a blocking gap stops the whole migration. */
  impact: string;
  blocking: boolean;
}

export interface MigrationPlan {
  from: string;
  to: string;
  source: { flavour: ServerFacts['flavour']; version: string };
  target: {
    flavour: ServerFacts['flavour'];
    version: string;
    /** Whether the target server has namespaces at all, and the target namespace exists. */
    namespaces: boolean;
    namespaceExists: boolean;
  };
  items: PlanItem[];
  gaps: Gap[];
  notes: string[];
  summary: {
    exact: number;
    caveat: number;
    notMigratable: number;
    conflicts: number;
    gaps: number;
    /** No conflict and no blocking gap: the migration may start. */
    ready: boolean;
  };
}
