// KV version 2: versioned secrets, check-and-set, metadata, soft delete, undelete, destroy.
// These functions return secret values to their caller; activities built on them hand workflows
// references (mount, path, version), never the values.

import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { inBatches, type Outcome } from './batch.js';
import type { VaultClient } from './client.js';
import { ifFound, isVaultFailure, VaultErrorType } from './errors.js';
import { exactlyOnce } from './exactly-once.js';
import { vaultPath } from './paths.js';
import { parseResponse } from './response.js';

const versionMetadataSchema = z.object({
  version: z.number().int(),
  created_time: z.string(),
  deletion_time: z.string(),
  destroyed: z.boolean(),
  custom_metadata: z.record(z.string(), z.string()).nullish(),
});
export type KvVersionMetadata = z.output<typeof versionMetadataSchema>;

const readSchema = z.object({
  data: z.object({ data: z.record(z.string(), z.unknown()).nullable(), metadata: versionMetadataSchema }),
});
const writeSchema = z.object({ data: versionMetadataSchema });

const metadataSchema = z.object({
  data: z.object({
    cas_required: z.boolean(),
    created_time: z.string(),
    current_version: z.number().int(),
    custom_metadata: z.record(z.string(), z.string()).nullish(),
    delete_version_after: z.string(),
    max_versions: z.number().int(),
    oldest_version: z.number().int(),
    updated_time: z.string(),
    versions: z.record(
      z.string(),
      z.object({ created_time: z.string(), deletion_time: z.string(), destroyed: z.boolean() }),
    ),
  }),
});
export type KvMetadata = z.output<typeof metadataSchema>['data'];

const listSchema = z.object({ data: z.object({ keys: z.array(z.string()) }) });

export interface KvSecret {
  data: Record<string, unknown>;
  metadata: KvVersionMetadata;
}

/** Reads the latest version, or `version`. `cache: true` serves it from the read cache when fresh. */
export async function readSecret(
  vault: VaultClient,
  mount: string,
  path: string,
  options: { version?: number; cache?: boolean; consistent?: boolean } = {},
): Promise<KvSecret> {
  const query = options.version === undefined ? '' : `?version=${options.version}`;
  const where = vaultPath`${mount}/data/${path}`;
  const body = parseResponse(
    readSchema,
    await vault.read(`${where}${query}`, {
      cache: options.cache ?? false,
      consistent: options.consistent ?? false,
    }),
    where,
  );
  return { data: body.data.data ?? {}, metadata: body.data.metadata };
}

/**
 * Writes a new version, exactly once. `cas: 0` writes only if the secret does not exist; `cas: n`
 * only if the current version is n (a mismatch is a VaultCasMismatch failure).
 *
 * A lost reply never writes a second version: a CAS write may be resent (the CAS refuses a
 * duplicate, and a mismatch whose version n+1 holds our data is our own earlier send); a write
 * without CAS is settled by reading the latest version, and resent only guarded by CAS.
 */
export async function writeSecret(
  vault: VaultClient,
  mount: string,
  path: string,
  data: Record<string, unknown>,
  options: { cas?: number } = {},
): Promise<KvVersionMetadata> {
  const where = vaultPath`${mount}/data/${path}`;
  const send = async (cas: number | undefined) =>
    parseResponse(
      writeSchema,
      await vault.write(
        where,
        { ...(cas === undefined ? {} : { options: { cas } }), data },
        { idempotent: cas !== undefined },
      ),
      where,
    ).data;

  // A CAS-guarded send may be resent: a duplicate meets a mismatch, and a mismatch whose next
  // version holds exactly our data is our own earlier send having landed.
  const sendGuarded = async (cas: number) => {
    try {
      return await send(cas);
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.CasMismatch)) throw err;
      const ours = await versionHolding(vault, mount, path, cas + 1, data);
      if (ours) return ours;
      throw err;
    }
  };
  if (options.cas !== undefined) return sendGuarded(options.cas);

  let guard: number | undefined;
  return exactlyOnce<KvVersionMetadata>(
    () => (guard === undefined ? send(undefined) : sendGuarded(guard)),
    async () => {
      const latest = await readLatestOrNothing(vault, mount, path);
      if (latest && isDeepStrictEqual(latest.data, data)) return { done: true, value: latest.metadata };
      // Not there (or not yet seen by the node that answered): resend, guarded by the version
      // seen now, so that even a late landing of the first send cannot make a second version.
      guard = latest?.metadata.version ?? 0;
      return { done: false };
    },
  );
}

/** The version's metadata if version `version` exists and holds exactly `data`. */
async function versionHolding(
  vault: VaultClient,
  mount: string,
  path: string,
  version: number,
  data: Record<string, unknown>,
): Promise<KvVersionMetadata | undefined> {
  try {
    const found = await readSecret(vault, mount, path, { version, consistent: true });
    return found.metadata.version === version && isDeepStrictEqual(found.data, data)
      ? found.metadata
      : undefined;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return undefined;
    throw err;
  }
}

const readLatestOrNothing = (vault: VaultClient, mount: string, path: string) =>
  ifFound(readSecret(vault, mount, path, { consistent: true }), undefined);

export async function readMetadata(
  vault: VaultClient,
  mount: string,
  path: string,
  options: { consistent?: boolean } = {},
): Promise<KvMetadata> {
  const where = vaultPath`${mount}/metadata/${path}`;
  return parseResponse(
    metadataSchema,
    await vault.read(where, { consistent: options.consistent ?? false }),
    where,
  ).data;
}

export interface KvMetadataSettings {
  maxVersions?: number;
  casRequired?: boolean;
  deleteVersionAfter?: string;
  customMetadata?: Record<string, string>;
}

export async function writeMetadata(
  vault: VaultClient,
  mount: string,
  path: string,
  settings: KvMetadataSettings,
): Promise<void> {
  await vault.write(
    vaultPath`${mount}/metadata/${path}`,
    {
      ...(settings.maxVersions === undefined ? {} : { max_versions: settings.maxVersions }),
      ...(settings.casRequired === undefined ? {} : { cas_required: settings.casRequired }),
      ...(settings.deleteVersionAfter === undefined
        ? {}
        : { delete_version_after: settings.deleteVersionAfter }),
      ...(settings.customMetadata === undefined ? {} : { custom_metadata: settings.customMetadata }),
    },
    { idempotent: true }, // sets the metadata to given values
  );
}

/** Soft delete: the latest version, or the given versions. Undelete brings them back. */
export async function softDelete(
  vault: VaultClient,
  mount: string,
  path: string,
  versions?: number[],
): Promise<void> {
  if (versions === undefined) await vault.delete(vaultPath`${mount}/data/${path}`);
  else await vault.put(vaultPath`${mount}/delete/${path}`, { versions });
}

export async function undelete(
  vault: VaultClient,
  mount: string,
  path: string,
  versions: number[],
): Promise<void> {
  await vault.put(vaultPath`${mount}/undelete/${path}`, { versions });
}

/** Destroys the given versions' data for good; metadata remains. */
export async function destroy(
  vault: VaultClient,
  mount: string,
  path: string,
  versions: number[],
): Promise<void> {
  await vault.put(vaultPath`${mount}/destroy/${path}`, { versions });
}

/** Deletes every version and the metadata. */
export async function deleteAll(vault: VaultClient, mount: string, path: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/metadata/${path}`);
}

/** Keys under a folder ("app/" for subfolders); an empty or missing folder lists nothing. */
export async function listKeys(vault: VaultClient, mount: string, folder = ''): Promise<string[]> {
  const where =
    folder.replace(/^\/+|\/+$/g, '') === ''
      ? vaultPath`${mount}/metadata/`
      : vaultPath`${mount}/metadata/${folder}/`;
  const body = await ifFound(vault.list(where), null);
  return body === null ? [] : parseResponse(listSchema, body, where).data.keys;
}

export function readSecrets(
  vault: VaultClient,
  mount: string,
  paths: readonly string[],
  options: { concurrency: number; cache?: boolean },
): Promise<Outcome<KvSecret>[]> {
  return inBatches(paths, options.concurrency, (path) =>
    readSecret(vault, mount, path, { cache: options.cache ?? false }),
  );
}

export function writeSecrets(
  vault: VaultClient,
  mount: string,
  entries: readonly { path: string; data: Record<string, unknown>; cas?: number }[],
  options: { concurrency: number },
): Promise<Outcome<KvVersionMetadata>[]> {
  return inBatches(entries, options.concurrency, (e) =>
    writeSecret(vault, mount, e.path, e.data, e.cas === undefined ? {} : { cas: e.cas }),
  );
}
