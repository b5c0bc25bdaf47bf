// Identity for the migration: entities, then groups, then aliases, matched by NAME (IDs are
// per-cluster). Each alias names its auth mount by accessor; the accessor is mapped to the source
// mount's path, that path to the migrated mount at the target, and that to the target's accessor.
// An alias whose auth mount is not migrated is not created (reported). Members of groups are
// mapped by name too. What exists at the target with the same content is kept (skipped); with
// other content it is a conflict. Creations are ledgered first, so rollback removes only them.
// Metadata values stay inside the activity; histories get names and digests.
import type { IdentityEntityItem, IdentityGroupItem } from '../../common/migrate/inventory.js';
import {
  type LedgerEntry,
  type TargetMapping,
  targetIdentityName,
  targetMount,
  targetPolicy,
} from '../../common/migrate/run.js';
import { inBatches } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import {
  createEntityAlias,
  createGroupAlias,
  deleteEntity,
  deleteEntityAlias,
  deleteGroup,
  deleteGroupAlias,
  type Entity,
  entityByAlias,
  type Group,
  listEntityNames,
  listGroupNames,
  readEntity,
  readGroup,
  writeEntity,
  writeGroup,
} from '../../vault/identity.js';
import { type Compared, compareDigests, digestOf } from './digest.js';
import { readMounts } from './mount-table.js';
import { migratedMounts } from './mounts.js';
import { migratedPolicyNames } from './policies.js';
import { type CopyStep, newReport, targetConflict } from './sides.js';

const CONCURRENCY = 8;

/** Auth mounts by accessor (path, "userpass/") and by path (accessor). */
export async function authAccessors(vault: VaultClient) {
  return accessorsOf(await readMounts(vault, 'sys/auth'));
}

function accessorsOf(mounts: Awaited<ReturnType<typeof readMounts>>) {
  const table = mounts as Record<string, { accessor?: string }>;
  const byAccessor = new Map<string, string>();
  const byPath = new Map<string, string>();
  for (const [path, m] of Object.entries(table))
    if (m.accessor) {
      byAccessor.set(m.accessor, path);
      byPath.set(path, m.accessor);
    }
  return { byAccessor, byPath };
}

async function readAll<T>(names: string[], read: (name: string) => Promise<T | undefined>): Promise<T[]> {
  const outcomes = await inBatches(names, CONCURRENCY, read);
  return outcomes.flatMap((o) => {
    if (!o.ok) throw o.error;
    return o.value === undefined ? [] : [o.value]; // deleted between the list and the read
  });
}

/** Every entity and group of the namespace, whole (IDs included: they stay in the activity). */
export async function readIdentity(vault: VaultClient): Promise<{ entities: Entity[]; groups: Group[] }> {
  const [entityNames, groupNames] = await Promise.all([listEntityNames(vault), listGroupNames(vault)]);
  return {
    entities: await readAll(entityNames, (n) => readEntity(vault, n)),
    groups: await readAll(groupNames, (n) => readGroup(vault, n)),
  };
}

/** The inventory's view: names, policies, digests and aliases by mount path. */
export async function identityItems(
  vault: VaultClient,
): Promise<{ entityItems: IdentityEntityItem[]; groupItems: IdentityGroupItem[] }> {
  const [{ entities, groups }, { byAccessor }] = await Promise.all([
    readIdentity(vault),
    authAccessors(vault),
  ]);
  const entityName = new Map(entities.map((e) => [e.id, e.name]));
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const alias = (a: { name: string; mount_accessor: string }) => ({
    name: a.name,
    mount: byAccessor.get(a.mount_accessor) ?? null,
  });
  return {
    entityItems: entities.map((e) => ({
      name: e.name,
      policies: [...e.policies].sort(),
      metadataDigest: digestOf(e.metadata),
      disabled: e.disabled,
      aliases: e.aliases.map(alias).sort((a, b) => (a.name < b.name ? -1 : 1)),
    })),
    groupItems: groups.map((g) => ({
      name: g.name,
      type: g.type,
      policies: [...g.policies].sort(),
      metadataDigest: digestOf(g.metadata),
      memberEntities: g.member_entity_ids.flatMap((id) => entityName.get(id) ?? []).sort(),
      memberGroups: g.member_group_ids.flatMap((id) => groupName.get(id) ?? []).sort(),
      alias: g.alias ? alias(g.alias) : null,
    })),
  };
}

/** What this migration moves: the source's identity (all of it, or `only`'s names) and the mounts. */
async function planned(source: VaultClient, target: VaultClient, mapping: TargetMapping) {
  const all = await readIdentity(source);
  // Within one namespace, the prefixed copies an earlier run made are not sources.
  const pick = <T extends { name: string }>(items: T[], names: string[] | undefined) =>
    items
      .filter((i) => mapping.prefix === '' || !i.name.startsWith(mapping.prefix))
      .filter((i) => !mapping.only || (names ?? []).includes(i.name));
  const entities = pick(all.entities, mapping.only?.entities);
  const groups = pick(all.groups, mapping.only?.groups);
  const sourceAuth = await readMounts(source, 'sys/auth');
  const src = accessorsOf(sourceAuth);
  const migrated = new Set(migratedMounts(sourceAuth, mapping, 'sys/auth').map(([path]) => path));
  const policies = new Set(await migratedPolicyNames(source, mapping));
  return {
    all,
    entities,
    groups,
    policies: (list: string[]) => list.map((p) => (policies.has(p) ? targetPolicy(mapping, p) : p)).sort(),
    /** The target mount path of an alias's source mount, or why it has none. */
    aliasMount(accessor: string): { path: string } | { reason: string } {
      const path = src.byAccessor.get(accessor);
      if (path === undefined) return { reason: 'its auth mount no longer exists at the source' };
      if (!migrated.has(path)) return { reason: `its auth mount auth/${path} is not migrated` };
      return { path: targetMount(mapping, path) };
    },
    target: await authAccessors(target),
  };
}

/** Groups ordered so that each comes after the groups it has as members. */
export function membersFirst<G extends { id: string; member_group_ids: string[] }>(groups: G[]): G[] {
  const ids = new Set(groups.map((g) => g.id));
  const done = new Set<string>();
  const out: G[] = [];
  let left = [...groups];
  while (left.length > 0) {
    const ready = left.filter((g) => g.member_group_ids.every((m) => done.has(m) || !ids.has(m)));
    // Vault refuses cycles; should one be found anyway, the rest go in their order.
    const next = ready.length > 0 ? ready : left;
    for (const g of next) {
      out.push(g);
      done.add(g.id);
    }
    left = left.filter((g) => !done.has(g.id));
  }
  return out;
}

const entityShape = (e: { policies: string[]; metadata: Record<string, string>; disabled: boolean }) => ({
  policies: [...e.policies].sort(),
  metadata: e.metadata,
  disabled: e.disabled,
});

export const copyIdentity: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  const p = await planned(source, target, mapping);
  const sourceEntityName = new Map(p.all.entities.map((e) => [e.id, e.name]));
  const sourceGroupName = new Map(p.all.groups.map((g) => [g.id, g.name]));
  const migratedEntities = new Set(p.entities.map((e) => e.name));
  const migratedGroups = new Set(p.groups.map((g) => g.name));
  const targetIds = new Map<string, string>(); // target entity name -> id

  // 1. Entities.
  for (const e of p.entities) {
    const name = targetIdentityName(mapping, e.name);
    const want = { ...entityShape(e), policies: p.policies(e.policies) };
    const label = `entity ${name}`;
    const there = await readEntity(target, name);
    if (there) {
      if (digestOf(entityShape(there)) !== digestOf(want))
        throw targetConflict(`${label} exists at the target with other policies or metadata`);
      report.skipped.push(label);
    } else {
      await ledger.record({ kind: 'identity-entity', name });
      await writeEntity(target, name, want);
      report.created.push(label);
    }
    const id = there?.id ?? (await readEntity(target, name))?.id;
    if (id) targetIds.set(name, id);
  }
  report.caveats.push(
    ...(p.entities.length + p.groups.length > 0
      ? ['identity: entity and group IDs differ at the target: update whatever names them by ID']
      : []),
  );

  // 2. Groups, members first; members by name.
  const targetGroups = new Map<string, Group>(); // target group name -> group
  for (const g of membersFirst(p.groups)) {
    const name = targetIdentityName(mapping, g.name);
    const label = `group ${name}`;
    const memberNames = g.member_entity_ids.flatMap((id) => sourceEntityName.get(id) ?? []);
    const groupNames = g.member_group_ids.flatMap((id) => sourceGroupName.get(id) ?? []);
    const left = [
      ...memberNames.filter((n) => !migratedEntities.has(n)).map((n) => `entity ${n}`),
      ...groupNames.filter((n) => !migratedGroups.has(n)).map((n) => `group ${n}`),
    ];
    if (left.length > 0)
      report.caveats.push(`${label}: members not migrated, so not members at the target: ${left.join(', ')}`);
    const entityIds = memberNames.flatMap((n) => targetIds.get(targetIdentityName(mapping, n)) ?? []);
    const subgroupIds = groupNames.flatMap((n) => targetGroups.get(targetIdentityName(mapping, n))?.id ?? []);
    const want = {
      type: g.type,
      policies: p.policies(g.policies),
      metadata: g.metadata,
      ...(g.type === 'internal'
        ? { member_entity_ids: [...entityIds].sort(), member_group_ids: [...subgroupIds].sort() }
        : {}),
    };
    const there = await readGroup(target, name);
    if (there) {
      const have = {
        type: there.type,
        policies: [...there.policies].sort(),
        metadata: there.metadata,
        ...(there.type === 'internal'
          ? {
              member_entity_ids: [...there.member_entity_ids].sort(),
              member_group_ids: [...there.member_group_ids].sort(),
            }
          : {}),
      };
      if (digestOf(have) !== digestOf(want))
        throw targetConflict(`${label} exists at the target with other type, policies, metadata or members`);
      report.skipped.push(label);
    } else {
      await ledger.record({ kind: 'identity-group', name });
      await writeGroup(target, name, want);
      report.created.push(label);
      if (g.type === 'external')
        report.caveats.push(`${label}: external group: its members come from its auth method at login`);
    }
    const held = there ?? (await readGroup(target, name));
    if (held) targetGroups.set(name, held);
  }

  // 3. Aliases, re-linked to the migrated auth mounts.
  for (const e of p.entities) {
    const name = targetIdentityName(mapping, e.name);
    for (const a of e.aliases) {
      const mount = p.aliasMount(a.mount_accessor);
      const label = `entity-alias ${a.name} of entity ${name}`;
      if ('reason' in mount) {
        report.caveats.push(`${label}: not migrated: ${mount.reason}`);
        continue;
      }
      const accessor = p.target.byPath.get(mount.path);
      if (!accessor) throw targetConflict(`${label}: auth/${mount.path} is missing at the target`);
      const holder = await entityByAlias(target, a.name, accessor);
      if (holder) {
        if (holder.name !== name)
          throw targetConflict(
            `${label}: on auth/${mount.path} it belongs to entity ${holder.name} at the target`,
          );
        report.skipped.push(`${label} on auth/${mount.path}`);
        continue;
      }
      await ledger.record({
        kind: 'identity-entity-alias',
        name: JSON.stringify([name, mount.path, a.name]),
      });
      await createEntityAlias(target, {
        name: a.name,
        mountAccessor: accessor,
        entityId: targetIds.get(name) as string,
        ...(a.custom_metadata ? { customMetadata: a.custom_metadata } : {}),
      });
      report.created.push(`${label} on auth/${mount.path}`);
    }
  }
  for (const g of p.groups) {
    if (!g.alias) continue;
    const name = targetIdentityName(mapping, g.name);
    const label = `group-alias ${g.alias.name} of group ${name}`;
    const mount = p.aliasMount(g.alias.mount_accessor);
    if ('reason' in mount) {
      report.caveats.push(`${label}: not migrated: ${mount.reason}`);
      continue;
    }
    const accessor = p.target.byPath.get(mount.path);
    if (!accessor) throw targetConflict(`${label}: auth/${mount.path} is missing at the target`);
    const there = targetGroups.get(name)?.alias;
    if (there) {
      if (there.name !== g.alias.name || there.mount_accessor !== accessor)
        throw targetConflict(`${label}: the target's group ${name} has another alias`);
      report.skipped.push(`${label} on auth/${mount.path}`);
      continue;
    }
    await ledger.record({
      kind: 'identity-group-alias',
      name: JSON.stringify([name, mount.path, g.alias.name]),
    });
    await createGroupAlias(target, {
      name: g.alias.name,
      mountAccessor: accessor,
      groupId: targetGroups.get(name)?.id as string,
    });
    report.created.push(`${label} on auth/${mount.path}`);
  }
  return report;
};

export interface IdentityVerifyReport extends Compared {
  entities: number;
  groups: number;
}

/**
 * Each migrated entity and group compared by name and by a digest of its policies, metadata,
 * aliases (target mount path and name) and members (by name), as the target should hold them.
 */
export async function verifyIdentity(
  source: VaultClient,
  target: VaultClient,
  mapping: TargetMapping,
): Promise<IdentityVerifyReport> {
  const p = await planned(source, target, mapping);
  const sourceEntityName = new Map(p.all.entities.map((e) => [e.id, e.name]));
  const sourceGroupName = new Map(p.all.groups.map((g) => [g.id, g.name]));
  const migratedEntities = new Set(p.entities.map((e) => e.name));
  const migratedGroups = new Set(p.groups.map((g) => g.name));
  const out: IdentityVerifyReport = { entities: 0, groups: 0, mismatches: [], source: [], target: [] };
  const targetAliasMounts = new Set(
    p.entities
      .flatMap((e) => e.aliases.map((a) => p.aliasMount(a.mount_accessor)))
      .flatMap((m) => ('path' in m ? [m.path] : [])),
  );
  const targetEntityNames = new Map<string, string>(); // target id -> name
  const targetGroupNames = new Map<string, string>();
  const compare = (label: string, want: unknown, have: unknown) =>
    compareDigests(out, label, digestOf(want), have === undefined ? 'missing' : digestOf(have), 'differs');
  for (const e of p.entities) {
    const name = targetIdentityName(mapping, e.name);
    const want = {
      ...entityShape(e),
      policies: p.policies(e.policies),
      aliases: e.aliases
        .flatMap((a) => {
          const m = p.aliasMount(a.mount_accessor);
          return 'path' in m ? [[m.path, a.name]] : [];
        })
        .sort(),
    };
    const there = await readEntity(target, name);
    if (there) targetEntityNames.set(there.id, there.name);
    compare(
      `entity ${name}`,
      want,
      there && {
        ...entityShape(there),
        aliases: there.aliases
          .flatMap((a) => {
            const path = p.target.byAccessor.get(a.mount_accessor);
            return path !== undefined && targetAliasMounts.has(path) ? [[path, a.name]] : [];
          })
          .sort(),
      },
    );
    out.entities++;
  }
  const groups = await readAll(
    p.groups.map((g) => targetIdentityName(mapping, g.name)),
    (n) => readGroup(target, n),
  );
  for (const g of groups) targetGroupNames.set(g.id, g.name);
  for (const g of p.groups) {
    const name = targetIdentityName(mapping, g.name);
    const aliasOf = (alias: { name: string; path: string } | null) =>
      alias ? [alias.path, alias.name] : null;
    const m = g.alias ? p.aliasMount(g.alias.mount_accessor) : null;
    const want = {
      type: g.type,
      policies: p.policies(g.policies),
      metadata: g.metadata,
      entities: g.member_entity_ids
        .flatMap((id) => sourceEntityName.get(id) ?? [])
        .filter((n) => migratedEntities.has(n))
        .map((n) => targetIdentityName(mapping, n))
        .sort(),
      groups: g.member_group_ids
        .flatMap((id) => sourceGroupName.get(id) ?? [])
        .filter((n) => migratedGroups.has(n))
        .map((n) => targetIdentityName(mapping, n))
        .sort(),
      alias: g.alias && m && 'path' in m ? aliasOf({ name: g.alias.name, path: m.path }) : null,
    };
    const there = groups.find((t) => t.name === name);
    const have = there && {
      type: there.type,
      policies: [...there.policies].sort(),
      metadata: there.metadata,
      entities: there.member_entity_ids.map((id) => targetEntityNames.get(id) ?? id).sort(),
      groups: there.member_group_ids.map((id) => targetGroupNames.get(id) ?? id).sort(),
      alias: there.alias
        ? aliasOf({
            name: there.alias.name,
            path: p.target.byAccessor.get(there.alias.mount_accessor) ?? '?',
          })
        : null,
    };
    compare(`group ${name}`, want, have);
    out.groups++;
  }
  return out;
}

/** Rollback of one identity ledger entry; false if `e` is not an identity entry. */
export async function removeIdentityEntry(target: VaultClient, e: LedgerEntry): Promise<boolean> {
  switch (e.kind) {
    case 'identity-entity':
      await deleteEntity(target, e.name);
      return true;
    case 'identity-group':
      await deleteGroup(target, e.name);
      return true;
    case 'identity-entity-alias': {
      const [entity, path, alias] = JSON.parse(e.name) as [string, string, string];
      const accessor = (await authAccessors(target)).byPath.get(path);
      if (!accessor) return true; // the auth mount is gone, and its aliases with it
      const holder = await entityByAlias(target, alias, accessor);
      const found =
        holder?.name === entity
          ? holder.aliases.find((a) => a.name === alias && a.mount_accessor === accessor)
          : undefined;
      if (found) await deleteEntityAlias(target, found.id);
      return true;
    }
    case 'identity-group-alias': {
      const [group] = JSON.parse(e.name) as [string, string, string];
      const found = (await readGroup(target, group))?.alias;
      if (found) await deleteGroupAlias(target, found.id);
      return true;
    }
    default:
      return false;
  }
}

/** The ledger entry an identity entry goes with (an alias with its entity or group). */
export function identityContainer(e: LedgerEntry): LedgerEntry | undefined {
  if (e.kind === 'identity-entity-alias')
    return { kind: 'identity-entity', name: (JSON.parse(e.name) as string[])[0] as string };
  if (e.kind === 'identity-group-alias')
    return { kind: 'identity-group', name: (JSON.parse(e.name) as string[])[0] as string };
  return undefined;
}
