// Transit: encryption as a service. Keys never leave Vault; plaintext crosses this module as
// Buffers and goes to Vault base64-encoded. Batch calls use Vault's own batch_input.
import { z } from 'zod';
import type { VaultClient } from './client.js';
import { VaultErrorType, vaultFailure } from './errors.js';
import { exactlyOnce } from './exactly-once.js';
import { segment, vaultPath } from './paths.js';
import { parseResponse } from './response.js';

export type TransitKeyType = 'aes256-gcm96' | 'chacha20-poly1305' | 'ed25519' | 'ecdsa-p384';

export interface CreateKeyOptions {
  type: TransitKeyType;
  /** Key derivation: every encryption names a context, and each context gets its own key. */
  derived?: boolean;
  /** Same plaintext + context → same ciphertext (needs `derived`). */
  convergentEncryption?: boolean;
}

const keySchema = z.object({
  data: z.object({
    name: z.string(),
    type: z.string(),
    latest_version: z.number().int(),
    min_decryption_version: z.number().int(),
    min_encryption_version: z.number().int(),
    derived: z.boolean(),
    convergent_encryption: z.boolean().optional(),
    deletion_allowed: z.boolean(),
    supports_encryption: z.boolean(),
    supports_signing: z.boolean(),
    keys: z.record(z.string(), z.unknown()),
  }),
});
export type TransitKeyInfo = z.output<typeof keySchema>['data'];

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64');

export async function createKey(
  vault: VaultClient,
  mount: string,
  name: string,
  options: CreateKeyOptions,
): Promise<void> {
  await vault.put(vaultPath`${mount}/keys/${segment(name)}`, {
    type: options.type,
    ...(options.derived ? { derived: true } : {}),
    ...(options.convergentEncryption ? { convergent_encryption: true } : {}),
  });
}

export async function readKey(
  vault: VaultClient,
  mount: string,
  name: string,
  options: { consistent?: boolean } = {},
): Promise<TransitKeyInfo> {
  return parseResponse(
    keySchema,
    await vault.read(vaultPath`${mount}/keys/${segment(name)}`, { consistent: options.consistent ?? false }),
    vaultPath`${mount}/keys/${segment(name)}`,
  ).data;
}

/**
 * Rotates the key once and returns its new latest version. Rotating twice would retire one more
 * version than asked, so a lost reply is settled by the version read before: moved on means done.
 */
export async function rotateKey(vault: VaultClient, mount: string, name: string): Promise<number> {
  const latest = async () => (await readKey(vault, mount, name, { consistent: true })).latest_version;
  const before = await latest();
  return exactlyOnce<number>(
    async () => {
      await vault.write(vaultPath`${mount}/keys/${segment(name)}/rotate`, {});
      return latest();
    },
    async () => {
      const now = await latest();
      return now > before ? { done: true, value: now } : { done: false };
    },
  );
}

export async function configureKey(
  vault: VaultClient,
  mount: string,
  name: string,
  config: { minDecryptionVersion?: number; minEncryptionVersion?: number; deletionAllowed?: boolean },
): Promise<void> {
  await vault.put(vaultPath`${mount}/keys/${segment(name)}/config`, {
    ...(config.minDecryptionVersion === undefined
      ? {}
      : { min_decryption_version: config.minDecryptionVersion }),
    ...(config.minEncryptionVersion === undefined
      ? {}
      : { min_encryption_version: config.minEncryptionVersion }),
    ...(config.deletionAllowed === undefined ? {} : { deletion_allowed: config.deletionAllowed }),
  });
}

export async function deleteKey(vault: VaultClient, mount: string, name: string): Promise<void> {
  await configureKey(vault, mount, name, { deletionAllowed: true });
  await vault.delete(vaultPath`${mount}/keys/${segment(name)}`);
}

export interface EncryptItem {
  plaintext: Buffer | string;
  /** Derivation context, for derived keys. */
  context?: Buffer | string;
}

const batchResultsSchema = z.object({
  data: z.object({
    batch_results: z.array(
      z.object({
        ciphertext: z.string().optional(),
        plaintext: z.string().optional(),
        key_version: z.number().int().optional(),
        error: z.string().optional(),
      }),
    ),
  }),
});

/** One batch result per item; an item Vault refused is an error string in its place. */
export type BatchResult<T> = { ok: true; value: T } | { ok: false; error: string };

type BatchRow = z.output<typeof batchResultsSchema>['data']['batch_results'][number];

const contextOf = (item: { context?: Buffer | string }): Record<string, string> =>
  item.context ? { context: b64(item.context) } : {};

/** Sends one batch_input call to `<mount>/<operation>/<key>` and returns Vault's rows in item order. */
async function batchCall(
  vault: VaultClient,
  mount: string,
  operation: 'encrypt' | 'decrypt' | 'rewrap',
  key: string,
  batchInput: Record<string, string>[],
): Promise<BatchRow[]> {
  const where = vaultPath`${mount}/${operation}/${segment(key)}`;
  const body = await vault.put(where, { batch_input: batchInput });
  return parseResponse(batchResultsSchema, body, where).data.batch_results;
}

/** Encrypt and rewrap both answer with a ciphertext and the key version that made it. */
const ciphertextResult = (r: BatchRow): BatchResult<{ ciphertext: string; keyVersion: number }> =>
  r.error || !r.ciphertext
    ? { ok: false, error: r.error ?? 'no ciphertext' }
    : { ok: true, value: { ciphertext: r.ciphertext, keyVersion: r.key_version ?? 0 } };

export async function encryptBatch(
  vault: VaultClient,
  mount: string,
  key: string,
  items: readonly EncryptItem[],
): Promise<BatchResult<{ ciphertext: string; keyVersion: number }>[]> {
  const input = items.map((i) => ({ plaintext: b64(i.plaintext), ...contextOf(i) }));
  return (await batchCall(vault, mount, 'encrypt', key, input)).map(ciphertextResult);
}

export async function decryptBatch(
  vault: VaultClient,
  mount: string,
  key: string,
  items: readonly { ciphertext: string; context?: Buffer | string }[],
): Promise<BatchResult<Buffer>[]> {
  const input = items.map((i) => ({ ciphertext: i.ciphertext, ...contextOf(i) }));
  return (await batchCall(vault, mount, 'decrypt', key, input)).map((r) =>
    r.error || r.plaintext === undefined
      ? { ok: false, error: r.error ?? 'no plaintext' }
      : { ok: true, value: Buffer.from(r.plaintext, 'base64') },
  );
}

/** Single-item forms: a refused item becomes an invalid-request failure. */
function only<T>(results: BatchResult<T>[], what: string): T {
  const [first] = results;
  if (!first?.ok) {
    throw vaultFailure(VaultErrorType.InvalidRequest, `${what}: ${first?.error ?? 'no result'}`, {
      method: 'POST',
      path: what,
      status: 400,
      namespace: null,
    });
  }
  return first.value;
}

export async function encrypt(
  vault: VaultClient,
  mount: string,
  key: string,
  item: EncryptItem,
): Promise<string> {
  return only(await encryptBatch(vault, mount, key, [item]), vaultPath`${mount}/encrypt/${segment(key)}`)
    .ciphertext;
}

export async function decrypt(
  vault: VaultClient,
  mount: string,
  key: string,
  ciphertext: string,
  context?: Buffer | string,
): Promise<Buffer> {
  return only(
    await decryptBatch(vault, mount, key, [{ ciphertext, ...(context ? { context } : {}) }]),
    vaultPath`${mount}/decrypt/${segment(key)}`,
  );
}

/** Re-encrypts under the latest key version without revealing the plaintext to the caller. */
export async function rewrap(
  vault: VaultClient,
  mount: string,
  key: string,
  items: readonly { ciphertext: string; context?: Buffer | string }[],
): Promise<BatchResult<{ ciphertext: string; keyVersion: number }>[]> {
  const input = items.map((i) => ({ ciphertext: i.ciphertext, ...contextOf(i) }));
  return (await batchCall(vault, mount, 'rewrap', key, input)).map(ciphertextResult);
}

const dataKeySchema = z.object({
  data: z.object({
    ciphertext: z.string(),
    plaintext: z.string().optional(),
    key_version: z.number().int().optional(),
  }),
});

/**
 * A data key for envelope encryption. 'wrapped' returns only the key encrypted under `key`;
 * 'plaintext' also returns the key itself, for the caller to use at once and forget.
 */
export async function dataKey(
  vault: VaultClient,
  mount: string,
  key: string,
  kind: 'wrapped' | 'plaintext',
  bits: 128 | 256 | 512 = 256,
): Promise<{ ciphertext: string; plaintext?: Buffer }> {
  const where = vaultPath`${mount}/datakey/${segment(kind)}/${segment(key)}`;
  const { data } = parseResponse(dataKeySchema, await vault.put(where, { bits }), where);
  return {
    ciphertext: data.ciphertext,
    ...(data.plaintext ? { plaintext: Buffer.from(data.plaintext, 'base64') } : {}),
  };
}

const signSchema = z.object({ data: z.object({ signature: z.string() }) });
const verifySchema = z.object({ data: z.object({ valid: z.boolean() }) });

export async function sign(
  vault: VaultClient,
  mount: string,
  key: string,
  input: Buffer | string,
  hash: 'sha2-256' | 'sha2-384' = 'sha2-384',
): Promise<string> {
  const where = vaultPath`${mount}/sign/${segment(key)}/${segment(hash)}`;
  return parseResponse(signSchema, await vault.put(where, { input: b64(input) }), where).data.signature;
}

export async function verify(
  vault: VaultClient,
  mount: string,
  key: string,
  input: Buffer | string,
  signature: string,
  hash: 'sha2-256' | 'sha2-384' = 'sha2-384',
): Promise<boolean> {
  const where = vaultPath`${mount}/verify/${segment(key)}/${segment(hash)}`;
  return parseResponse(verifySchema, await vault.put(where, { input: b64(input), signature }), where).data
    .valid;
}
