// The identity store: entities, groups and their aliases, read and written by name (IDs are
// per-cluster; names are what a migration can match on). Aliases point to an auth mount by its
// accessor, which differs between clusters: callers map accessors to mount paths.
import { z } from 'zod';
import type { VaultClient } from './client.js';
import { ifFound } from './errors.js';
import { segment, vaultPath } from './paths.js';

const aliasSchema = z.object({
  id: z.string(),
  name: z.string(),
  mount_accessor: z.string(),
  mount_path: z.string().optional(),
  custom_metadata: z.record(z.string(), z.string()).nullish(),
});
export type IdentityAlias = z.infer<typeof aliasSchema>;

// Vault returns null (or nothing) for an empty list or map.
const stringList = z
  .array(z.string())
  .nullish()
  .transform((l) => l ?? []);
const stringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});

const entitySchema = z.object({
  id: z.string(),
  name: z.string(),
  policies: stringList,
  metadata: stringMap,
  disabled: z.boolean().optional().default(false),
  aliases: z
    .array(aliasSchema)
    .nullish()
    .transform((a) => a ?? []),
});
export type Entity = z.infer<typeof entitySchema>;

const groupSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['internal', 'external']),
  policies: stringList,
  metadata: stringMap,
  member_entity_ids: stringList,
  member_group_ids: stringList,
  // An empty object when the group has no alias.
  alias: z
    .union([aliasSchema, z.object({}).loose()])
    .nullish()
    .transform((a) =>
      a && 'id' in a && typeof a.id === 'string' && a.id !== '' ? (a as IdentityAlias) : null,
    ),
});
export type Group = z.infer<typeof groupSchema>;

async function readOrNone<T>(vault: VaultClient, path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const body = (await ifFound(vault.read(path, { consistent: true }), undefined)) as
    | { data?: unknown }
    | undefined;
  return body?.data ? schema.parse(body.data) : undefined;
}

async function names(vault: VaultClient, path: string): Promise<string[]> {
  const body = (await ifFound(vault.list(path), undefined)) as { data?: { keys?: string[] } } | undefined;
  return (body?.data?.keys ?? []).sort();
}

export const listEntityNames = (vault: VaultClient) => names(vault, 'identity/entity/name');
export const listGroupNames = (vault: VaultClient) => names(vault, 'identity/group/name');

export const readEntity = (vault: VaultClient, name: string) =>
  readOrNone(vault, vaultPath`identity/entity/name/${segment(name)}`, entitySchema);
export const readGroup = (vault: VaultClient, name: string) =>
  readOrNone(vault, vaultPath`identity/group/name/${segment(name)}`, groupSchema);
export const readEntityById = (vault: VaultClient, id: string) =>
  readOrNone(vault, vaultPath`identity/entity/id/${segment(id)}`, entitySchema);
export const readGroupById = (vault: VaultClient, id: string) =>
  readOrNone(vault, vaultPath`identity/group/id/${segment(id)}`, groupSchema);

/** Creates or updates the entity `name` (the name is the key: sending it twice is harmless). */
export async function writeEntity(
  vault: VaultClient,
  name: string,
  body: { policies: string[]; metadata: Record<string, string>; disabled: boolean },
): Promise<void> {
  await vault.put(vaultPath`identity/entity/name/${segment(name)}`, body);
}

/** Creates or updates the group `name`. External groups take no member lists. */
export async function writeGroup(
  vault: VaultClient,
  name: string,
  body: {
    type: 'internal' | 'external';
    policies: string[];
    metadata: Record<string, string>;
    member_entity_ids?: string[];
    member_group_ids?: string[];
  },
): Promise<void> {
  await vault.put(vaultPath`identity/group/name/${segment(name)}`, body);
}

export async function deleteEntity(vault: VaultClient, name: string): Promise<void> {
  await vault.delete(vaultPath`identity/entity/name/${segment(name)}`);
}

export async function deleteGroup(vault: VaultClient, name: string): Promise<void> {
  await vault.delete(vaultPath`identity/group/name/${segment(name)}`);
}

/**
 * Adds an alias to an entity. Not idempotent on its own (a second create is refused: the alias
 * exists), so callers look for it first (entityByAlias) and an activity's retry finds it there.
 */
export async function createEntityAlias(
  vault: VaultClient,
  alias: { name: string; mountAccessor: string; entityId: string; customMetadata?: Record<string, string> },
): Promise<void> {
  await vault.write('identity/entity-alias', {
    name: alias.name,
    mount_accessor: alias.mountAccessor,
    canonical_id: alias.entityId,
    ...(alias.customMetadata && Object.keys(alias.customMetadata).length > 0
      ? { custom_metadata: alias.customMetadata }
      : {}),
  });
}

/** Sets a group's (only) alias. */
export async function createGroupAlias(
  vault: VaultClient,
  alias: { name: string; mountAccessor: string; groupId: string },
): Promise<void> {
  await vault.write('identity/group-alias', {
    name: alias.name,
    mount_accessor: alias.mountAccessor,
    canonical_id: alias.groupId,
  });
}

/** The entity that holds the alias `name` on the mount `mountAccessor`, if any. */
export async function entityByAlias(
  vault: VaultClient,
  name: string,
  mountAccessor: string,
): Promise<Entity | undefined> {
  const body = (await vault.write('identity/lookup/entity', {
    alias_name: name,
    alias_mount_accessor: mountAccessor,
  })) as { data?: unknown } | undefined;
  return body?.data ? entitySchema.parse(body.data) : undefined;
}

export async function deleteEntityAlias(vault: VaultClient, id: string): Promise<void> {
  await vault.delete(vaultPath`identity/entity-alias/id/${segment(id)}`);
}

export async function deleteGroupAlias(vault: VaultClient, id: string): Promise<void> {
  await vault.delete(vaultPath`identity/group-alias/id/${segment(id)}`);
}
