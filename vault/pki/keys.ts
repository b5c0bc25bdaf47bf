// PKI keys (Vault's /key/ and the key fields of generate and role calls). Private keys stay in
// Vault (`internal` generation).
import type { VaultClient } from '../client.js';
import { segment, vaultPath } from '../paths.js';

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

/** Deletes a key the mount keeps (Vault refuses while an issuer still uses it). */
export async function deleteKey(vault: VaultClient, mount: string, keyRef: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/key/${segment(keyRef)}`);
}
