// PKI keys (Vault's /key/ and the key fields of generate and role calls). Private keys stay in
// Vault (`internal` generation).
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { ifFound } from '../errors.js';
import { exactlyOnce } from '../exactly-once.js';
import { segment, vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';

export type KeyType = 'ec' | 'rsa' | 'ed25519';

export interface KeySpec {
  keyType: KeyType;
  /** ec: 256/384/521; rsa: 2048/3072/4096; ed25519: ignored. */
  keyBits?: number;
}

/** A key spec as Vault's generate and role calls take it. */
export const keyFields = (k: KeySpec) => ({
  key_type: k.keyType,
  ...(k.keyBits ? { key_bits: k.keyBits } : {}),
});

const keyListSchema = z.object({
  data: z.object({
    keys: z.array(z.string()),
    key_info: z.record(z.string(), z.object({ key_name: z.string().nullish() })).optional(),
  }),
});

/**
 * The id of the key named `keyName`, if the mount has one. A missing key is no 404 here (Vault
 * answers "unable to find PKI key"), so it is looked up by list, on the active node, so that a
 * standby a little behind cannot hide a key made a moment ago.
 */
export async function findKeyByName(
  vault: VaultClient,
  mount: string,
  keyName: string,
): Promise<string | undefined> {
  const where = vaultPath`${mount}/keys`;
  // A mount without keys answers its list with 404.
  const body = await ifFound(vault.list(where, { consistent: true }), null);
  if (body === null) return undefined;
  const { data } = parseResponse(keyListSchema, body, where);
  return data.keys.find((id) => data.key_info?.[id]?.key_name === keyName);
}

/**
 * The id of the key named `keyName`, generated inside Vault if the mount has none yet. Generating
 * twice would make two keys of one name, so a lost reply is settled by the name: made once, found
 * again.
 */
export async function generateNamedKey(
  vault: VaultClient,
  mount: string,
  spec: KeySpec & { keyName: string },
): Promise<string> {
  const existing = await findKeyByName(vault, mount, spec.keyName);
  if (existing) return existing;
  const where = vaultPath`${mount}/keys/generate/internal`;
  return exactlyOnce<string>(
    async () => {
      const made = await vault.write(where, { key_name: spec.keyName, ...keyFields(spec) });
      return parseResponse(z.object({ data: z.object({ key_id: z.string() }) }), made, where).data.key_id;
    },
    async () => {
      const found = await findKeyByName(vault, mount, spec.keyName);
      return found ? { done: true, value: found } : { done: false };
    },
  );
}

/** Deletes a key the mount keeps (Vault refuses while an issuer still uses it). */
export async function deleteKey(vault: VaultClient, mount: string, keyRef: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/key/${segment(keyRef)}`);
}
