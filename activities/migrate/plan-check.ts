// The plan, as the migration workflow sees it: the source and target inventories classified by
// common/migrate/plan.ts, reduced to what the workflow decides on (conflicts, blocking gaps, the
// caveats' actions, the KV mounts to copy). Within one namespace (a prefix), the target's view is
// its prefixed copies with the prefix taken off, so a conflict means the same thing either way.
import type {
  IdentityAliasItem,
  IdentityInventory,
  NamespaceInventory,
} from '../../common/migrate/inventory.js';
import { buildMigrationPlan, type MigrationPlan } from '../../common/migrate/plan.js';
import type { MigrationSelection, TargetMapping } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { readInventory } from './inventory.js';
import { plannedPolicies } from './policies.js';

export interface PlanCheck {
  summary: MigrationPlan['summary'];
  /** "<item>: <conflict>" for each conflict. */
  conflicts: string[];
  blockingGaps: string[];
  /** "<item>: <action>" for each caveat (at most 50). */
  caveats: string[];
  notMigratable: string[];
  /** KV v2 mounts whose data is copied, without the slash. */
  kvMounts: string[];
  /** KV v1 mounts: their data is copied by the kv-v1 step (one value per key). */
  kvV1Mounts: string[];
  secrets: number;
  versions: number;
}

/** Keeps what starts with `prefix` (and takes it off), or drops it (`keep: false`). */
function byPrefix(inv: NamespaceInventory, prefix: string, keep: boolean): NamespaceInventory {
  if (prefix === '') return inv;
  // Each list names its items by one field (a mount path, a policy name): kept items lose the prefix there.
  const pick = <K extends string, T extends Record<K, string>>(items: T[], field: K): T[] =>
    items.flatMap((t) => {
      const n = t[field];
      if (n.startsWith(prefix) !== keep) return [];
      return [keep ? { ...t, [field]: n.slice(prefix.length) } : t];
    });
  return {
    ...inv,
    secretsEngines: pick(inv.secretsEngines, 'path'),
    authMethods: pick(inv.authMethods, 'path'),
    policies: pick(inv.policies, 'name'),
    kv: pick(inv.kv, 'mount'),
    transitKeys: pick(inv.transitKeys, 'mount'),
    pki: pick(inv.pki, 'mount'),
    database: pick(inv.database, 'mount'),
    identity: identityByPrefix(inv.identity, prefix, keep),
  };
}

/** Keeps only the mounts and policies named in `only` (all when absent). */
function onlyThese(inv: NamespaceInventory, only: TargetMapping['only']): NamespaceInventory {
  if (!only) return inv;
  const mount = (m: string) => only.mounts.includes(`${m.replace(/\/$/, '')}/`);
  return {
    ...inv,
    secretsEngines: inv.secretsEngines.filter((m) => mount(m.path)),
    authMethods: inv.authMethods.filter((m) => mount(`auth/${m.path}`)),
    policies: inv.policies.filter((p) => only.policies.includes(p.name)),
    kv: inv.kv.filter((k) => mount(k.mount)),
    transitKeys: inv.transitKeys.filter((k) => mount(k.mount)),
    pki: inv.pki.filter((p) => mount(p.mount)),
    database: inv.database.filter((d) => mount(d.mount)),
    identity: selectedIdentity(inv.identity, only),
  };
}

/** Only the entities and groups `only` names (none when it names none). */
function selectedIdentity(identity: IdentityInventory, only: MigrationSelection): IdentityInventory {
  const entities = new Set(only.entities ?? []);
  const groups = new Set(only.groups ?? []);
  const entityItems = identity.entityItems.filter((e) => entities.has(e.name));
  const groupItems = identity.groupItems.filter((g) => groups.has(g.name));
  return {
    entities: entityItems.map((e) => e.name),
    groups: groupItems.map((g) => g.name),
    entityAliases: entityItems.reduce((n, e) => n + e.aliases.length, 0),
    groupAliases: groupItems.filter((g) => g.alias !== null).length,
    entityItems,
    groupItems,
  };
}

/**
 * Identity within one namespace: entities and groups named with the prefix are the copies (kept,
 * the prefix taken off their names, their policies', members' and aliases' mounts), or dropped.
 */
function identityByPrefix(identity: IdentityInventory, prefix: string, keep: boolean): IdentityInventory {
  const mine = (name: string) => name.startsWith(prefix) === keep;
  const strip = (name: string) => (keep && name.startsWith(prefix) ? name.slice(prefix.length) : name);
  const alias = (a: IdentityAliasItem): IdentityAliasItem => ({ ...a, mount: a.mount && strip(a.mount) });
  const entityItems = identity.entityItems
    .filter((e) => mine(e.name))
    .map((e) => ({
      ...e,
      name: strip(e.name),
      policies: e.policies.map(strip),
      aliases: e.aliases.map(alias),
    }));
  const groupItems = identity.groupItems
    .filter((g) => mine(g.name))
    .map((g) => ({
      ...g,
      name: strip(g.name),
      policies: g.policies.map(strip),
      memberEntities: g.memberEntities.map(strip),
      memberGroups: g.memberGroups.map(strip),
      alias: g.alias && alias(g.alias),
    }));
  return {
    ...identity,
    entities: entityItems.map((e) => e.name),
    groups: groupItems.map((g) => g.name),
    entityItems,
    groupItems,
  };
}

export async function checkPlan(
  source: VaultClient,
  target: VaultClient,
  mapping: TargetMapping,
): Promise<PlanCheck> {
  // A part of a namespace is planned without walking every KV tree of the namespace.
  const walkKv = mapping.only === undefined;
  const src = onlyThese(
    byPrefix(await readInventory(source, { walkKv }), mapping.prefix, false),
    mapping.only,
  );
  const dst = onlyThese(
    byPrefix(await readInventory(target, { walkKv }), mapping.prefix, true),
    mapping.only,
  );
  // Policies are compared as the target will hold them (namespace paths, prefixed mounts adjusted).
  const adjusted = new Map((await plannedPolicies(source, mapping)).map((p) => [p.source, p.digest]));
  src.policies = src.policies.map((p) => ({ ...p, digest: adjusted.get(p.name) ?? p.digest }));
  const plan = buildMigrationPlan(src, { ...dst, namespace: mapping.to });
  const named = (f: (i: MigrationPlan['items'][number]) => string | undefined) =>
    plan.items.flatMap((i) => (f(i) ? [`${i.name}: ${f(i)}`] : []));
  return {
    summary: plan.summary,
    conflicts: named((i) => i.conflict),
    blockingGaps: plan.gaps.filter((g) => g.blocking).map((g) => `${g.missing}: ${g.impact}`),
    caveats: named((i) => (i.verdict === 'caveat' ? i.action : undefined)).slice(0, 50),
    notMigratable: named((i) => (i.verdict === 'not-migratable' ? i.reason : undefined)),
    kvMounts: src.secretsEngines.filter((m) => m.kvVersion === '2').map((m) => m.path.replace(/\/$/, '')),
    kvV1Mounts: src.secretsEngines.filter((m) => m.kvVersion === '1').map((m) => m.path.replace(/\/$/, '')),
    secrets: src.kv.reduce((n, k) => n + k.secrets, 0),
    versions: src.kv.reduce((n, k) => n + k.versions, 0),
  };
}
