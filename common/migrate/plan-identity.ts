// The identity part of the migration plan: entities, groups and their aliases, by name. An
// entity or group is copied with a caveat (its ID changes at the target); one the target already
// holds with the same policies, metadata (digest) and members is kept, with other content it is a
// conflict. An alias is re-linked to the target's copy of its auth mount, so an alias whose auth
// mount is not migrated (or is gone) is not migratable. Pure.
import type {
  IdentityAliasItem,
  IdentityEntityItem,
  IdentityGroupItem,
  NamespaceInventory,
} from './inventory.js';
import { NOT_MIGRATABLE } from './plan-reasons.js';
import type { PlanItem } from './plan-types.js';

const ID_ACTION =
  'entity and group IDs change at the target: update anything that names them by ID (policy templates, external links)';

const plural = (n: number, word: string) =>
  `${n} ${n === 1 ? word : `${word.replace(/y$/, 'ie').replace(/s$/, 'se')}s`}`;
const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export function sameEntity(a: IdentityEntityItem, b: IdentityEntityItem): boolean {
  return same(a.policies, b.policies) && a.metadataDigest === b.metadataDigest && a.disabled === b.disabled;
}

export function sameGroup(a: IdentityGroupItem, b: IdentityGroupItem): boolean {
  return (
    a.type === b.type &&
    same(a.policies, b.policies) &&
    a.metadataDigest === b.metadataDigest &&
    same(a.memberEntities, b.memberEntities) &&
    same(a.memberGroups, b.memberGroups)
  );
}

/** Why an alias cannot move, or undefined when its auth mount is migrated. */
export function aliasBlocker(
  alias: IdentityAliasItem,
  migratedAuth: ReadonlySet<string>,
): string | undefined {
  if (alias.mount === null) return NOT_MIGRATABLE.aliasMountGone;
  if (!migratedAuth.has(alias.mount)) return NOT_MIGRATABLE.aliasMountNotMigrated(alias.mount);
  return undefined;
}

function aliasItem(owner: string, alias: IdentityAliasItem, migratedAuth: ReadonlySet<string>): PlanItem {
  const name = `${owner} alias ${alias.name}`;
  const detail = alias.mount === null ? 'auth mount unknown' : `on auth/${alias.mount}`;
  const reason = aliasBlocker(alias, migratedAuth);
  return reason
    ? { kind: 'identity-alias', name, verdict: 'not-migratable', detail, reason }
    : { kind: 'identity-alias', name, verdict: 'exact', detail: `${detail}, re-linked to the target's copy` };
}

/** The plan items of the source's entities, groups and aliases. */
export function identityItems(
  source: NamespaceInventory,
  target: NamespaceInventory,
  migratedAuth: ReadonlySet<string>,
): PlanItem[] {
  const items: PlanItem[] = [];
  const targetEntities = new Map(target.identity.entityItems.map((e) => [e.name, e]));
  for (const e of source.identity.entityItems) {
    const there = targetEntities.get(e.name);
    items.push({
      kind: 'identity-entity',
      name: `entity ${e.name}`,
      verdict: 'caveat',
      detail: `${plural(e.policies.length, 'policy')}, ${plural(e.aliases.length, 'alias')}${e.disabled ? ', disabled' : ''}${there ? '; identical at the target, kept' : ''}`,
      action: ID_ACTION,
      ...(there && !sameEntity(e, there)
        ? { conflict: `an entity named ${e.name} exists at the target with other policies or metadata` }
        : {}),
    });
    for (const a of e.aliases) items.push(aliasItem(`entity ${e.name}`, a, migratedAuth));
  }
  const targetGroups = new Map(target.identity.groupItems.map((g) => [g.name, g]));
  for (const g of source.identity.groupItems) {
    const there = targetGroups.get(g.name);
    const members =
      g.type === 'internal'
        ? `${plural(g.memberEntities.length, 'member entity')}, ${plural(g.memberGroups.length, 'member group')}`
        : 'external';
    items.push({
      kind: 'identity-group',
      name: `group ${g.name}`,
      verdict: 'caveat',
      detail: `${members}, ${plural(g.policies.length, 'policy')}${there ? '; identical at the target, kept' : ''}`,
      action:
        g.type === 'external'
          ? `${ID_ACTION}; an external group's members come from its auth method at login, through its alias`
          : `${ID_ACTION}; members are re-linked by name`,
      ...(there && !sameGroup(g, there)
        ? {
            conflict: `a group named ${g.name} exists at the target with other type, policies, metadata or members`,
          }
        : {}),
    });
    if (g.alias) items.push(aliasItem(`group ${g.name}`, g.alias, migratedAuth));
  }
  return items;
}
