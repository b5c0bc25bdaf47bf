// KV version 2: versioned secrets, check-and-set, metadata, soft delete, undelete, destroy.
// These functions return secret values to their caller; activities built on them hand workflows
// references (mount, path, version), never the values.
import { z } from 'zod';
import { inBatches, type Outcome } from './batch.js';
import { parseResponse, type VaultClient } from './client.js';
import { isVaultFailure, VaultErrorType } from './errors.js';

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

const clean = (path: string) => path.replace(/^\/+|\/+$/g, '');

/** Reads the latest version, or `version`. `cache: true` serves it from the read cache when fresh. */
export async function readSecret(
  vault: VaultClient,
  mount: string,
  path: string,
  options: { version?: number; cache?: boolean } = {},
): Promise<KvSecret> {
  const query = options.version === undefined ? '' : `?version=${options.version}`;
  const where = `${mount}/data/${clean(path)}`;
  const body = parseResponse(
    readSchema,
    await vault.read(`${where}${query}`, { cache: options.cache ?? false }),
    where,
  );
  return { data: body.data.data ?? {}, metadata: body.data.metadata };
}

/**
 * Writes a new version. `cas: 0` writes only if the secret does not exist; `cas: n` only if the
 * current version is n (a mismatch is a VaultCasMismatch failure).
 */
export async function writeSecret(
  vault: VaultClient,
  mount: string,
  path: string,
  data: Record<string, unknown>,
  options: { cas?: number } = {},
): Promise<KvVersionMetadata> {
  const where = `${mount}/data/${clean(path)}`;
  const body = await vault.write(where, {
    ...(options.cas === undefined ? {} : { options: { cas: options.cas } }),
    data,
  });
  return parseResponse(writeSchema, body, where).data;
}

export async function readMetadata(vault: VaultClient, mount: string, path: string): Promise<KvMetadata> {
  const where = `${mount}/metadata/${clean(path)}`;
  return parseResponse(metadataSchema, await vault.read(where), where).data;
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
  await vault.write(`${mount}/metadata/${clean(path)}`, {
    ...(settings.maxVersions === undefined ? {} : { max_versions: settings.maxVersions }),
    ...(settings.casRequired === undefined ? {} : { cas_required: settings.casRequired }),
    ...(settings.deleteVersionAfter === undefined
      ? {}
      : { delete_version_after: settings.deleteVersionAfter }),
    ...(settings.customMetadata === undefined ? {} : { custom_metadata: settings.customMetadata }),
  });
}

/** Soft delete: the latest version, or the given versions. Undelete brings them back. */
export async function softDelete(
  vault: VaultClient,
  mount: string,
  path: string,
  versions?: number[],
): Promise<void> {
  if (versions === undefined) await vault.delete(`${mount}/data/${clean(path)}`);
  else await vault.write(`${mount}/delete/${clean(path)}`, { versions });
}

export async function undelete(
  vault: VaultClient,
  mount: string,
  path: string,
  versions: number[],
): Promise<void> {
  await vault.write(`${mount}/undelete/${clean(path)}`, { versions });
}

/** Destroys the given versions' data for good; metadata remains. */
export async function destroy(
  vault: VaultClient,
  mount: string,
  path: string,
  versions: number[],
): Promise<void> {
  await vault.write(`${mount}/destroy/${clean(path)}`, { versions });
}

/** Deletes every version and the metadata. */
export async function deleteAll(vault: VaultClient, mount: string, path: string): Promise<void> {
  await vault.delete(`${mount}/metadata/${clean(path)}`);
}

/** Keys under a folder ("app/" for subfolders); an empty or missing folder lists nothing. */
export async function listKeys(vault: VaultClient, mount: string, folder = ''): Promise<string[]> {
  const where = `${mount}/metadata/${clean(folder)}`;
  try {
    return parseResponse(listSchema, await vault.list(where), where).data.keys;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return [];
    throw err;
  }
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
