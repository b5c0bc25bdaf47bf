// Transit through the access layer, against the real server.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import {
  configureKey,
  createKey,
  dataKey,
  decrypt,
  decryptBatch,
  deleteKey,
  encrypt,
  encryptBatch,
  readKey,
  rewrap,
  rotateKey,
  sign,
  type TransitKeyType,
  verify,
} from '../../../vault/transit.js';
import { server, unique } from '../../harness/vault.js';

const vault = new VaultClient({
  address: server().address,
  retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
});
vault.tokens.set(server().rootToken);
const mount = unique('transit');

beforeAll(async () => {
  await vault.write(`sys/mounts/${mount}`, { type: 'transit' });
});
afterAll(() => vault.close());

describe(`transit on ${server().flavour}`, () => {
  it.each(['aes256-gcm96', 'chacha20-poly1305'] as TransitKeyType[])(
    'encrypts and decrypts with %s',
    async (type) => {
      const key = unique(type);
      await createKey(vault, mount, key, { type });
      expect((await readKey(vault, mount, key)).type).toBe(type);
      const ciphertext = await encrypt(vault, mount, key, { plaintext: 'card 4111 1111' });
      expect(ciphertext).toMatch(/^vault:v1:/);
      expect((await decrypt(vault, mount, key, ciphertext)).toString()).toBe('card 4111 1111');
    },
  );

  it('encrypts and decrypts a batch, one result per item', async () => {
    const key = unique('batch');
    await createKey(vault, mount, key, { type: 'aes256-gcm96' });
    const plain = Array.from({ length: 25 }, (_, i) => `record-${i}`);
    const sealed = await encryptBatch(
      vault,
      mount,
      key,
      plain.map((p) => ({ plaintext: p })),
    );
    expect(sealed.every((r) => r.ok)).toBe(true);
    const opened = await decryptBatch(
      vault,
      mount,
      key,
      sealed.map((r) => ({ ciphertext: r.ok ? r.value.ciphertext : '' })),
    );
    expect(opened.map((r) => (r.ok ? r.value.toString() : r.error))).toEqual(plain);
  });

  it('rotates, rewraps to the new version, and enforces min_decryption_version', async () => {
    const key = unique('rotate');
    await createKey(vault, mount, key, { type: 'aes256-gcm96' });
    const old = await encrypt(vault, mount, key, { plaintext: 'v1 data' });
    expect(await rotateKey(vault, mount, key)).toBe(2);
    const [rewrapped] = await rewrap(vault, mount, key, [{ ciphertext: old }]);
    expect(rewrapped?.ok && rewrapped.value.ciphertext.startsWith('vault:v2:')).toBe(true);
    await configureKey(vault, mount, key, { minDecryptionVersion: 2 });
    const refused = await decrypt(vault, mount, key, old).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).type).toBe(VaultErrorType.InvalidRequest);
    if (rewrapped?.ok)
      expect((await decrypt(vault, mount, key, rewrapped.value.ciphertext)).toString()).toBe('v1 data');
  });

  it('derives a key per context; convergent encryption repeats ciphertext for the same input', async () => {
    const key = unique('convergent');
    await createKey(vault, mount, key, { type: 'aes256-gcm96', derived: true, convergentEncryption: true });
    const a1 = await encrypt(vault, mount, key, { plaintext: 'ssn 123', context: 'tenant-a' });
    const a2 = await encrypt(vault, mount, key, { plaintext: 'ssn 123', context: 'tenant-a' });
    const b = await encrypt(vault, mount, key, { plaintext: 'ssn 123', context: 'tenant-b' });
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    expect((await decrypt(vault, mount, key, a1, 'tenant-a')).toString()).toBe('ssn 123');
    await expect(decrypt(vault, mount, key, a1, 'tenant-b')).rejects.toThrow();
  });

  it('issues wrapped and plaintext data keys', async () => {
    const key = unique('datakey');
    await createKey(vault, mount, key, { type: 'aes256-gcm96' });
    const wrapped = await dataKey(vault, mount, key, 'wrapped');
    expect(wrapped.plaintext).toBeUndefined();
    const plain = await dataKey(vault, mount, key, 'plaintext', 256);
    expect(plain.plaintext).toHaveLength(32);
    expect((await decrypt(vault, mount, key, plain.ciphertext)).toString('base64')).toBe(
      plain.plaintext?.toString('base64'),
    );
  });

  it.each(['ed25519', 'ecdsa-p384'] as TransitKeyType[])('signs and verifies with %s', async (type) => {
    const key = unique(type);
    await createKey(vault, mount, key, { type });
    const signature = await sign(vault, mount, key, 'release v1.2.3');
    expect(await verify(vault, mount, key, 'release v1.2.3', signature)).toBe(true);
    expect(await verify(vault, mount, key, 'release v1.2.4', signature)).toBe(false);
  });

  it('deletes a key only after allowing deletion', async () => {
    const key = unique('delete');
    await createKey(vault, mount, key, { type: 'aes256-gcm96' });
    await deleteKey(vault, mount, key);
    await expect(readKey(vault, mount, key)).rejects.toThrow();
  });
});
