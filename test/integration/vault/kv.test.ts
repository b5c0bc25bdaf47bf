// KV v2 through the access layer, against the real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadCache } from '../../../vault/cache.js';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import {
  deleteAll,
  destroy,
  listKeys,
  readMetadata,
  readSecret,
  readSecrets,
  softDelete,
  undelete,
  writeMetadata,
  writeSecret,
  writeSecrets,
} from '../../../vault/kv.js';
import { failureType } from '../../harness/failures.js';
import { server, unique } from '../../harness/vault.js';

const vault = new VaultClient({
  address: server().address,
  cache: new ReadCache({ ttlMs: 60_000, maxEntries: 1000 }),
  retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
});
vault.tokens.set(server().rootToken);
const mount = unique('kv');

beforeAll(async () => {
  await vault.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
});
afterAll(() => vault.close());

describe(`KV v2 on ${server().flavour}`, () => {
  it('writes versions and reads the latest or any one of them', async () => {
    expect((await writeSecret(vault, mount, 'app/db', { user: 'a' })).version).toBe(1);
    expect((await writeSecret(vault, mount, 'app/db', { user: 'b' })).version).toBe(2);
    expect((await readSecret(vault, mount, 'app/db')).data).toEqual({ user: 'b' });
    const v1 = await readSecret(vault, mount, 'app/db', { version: 1 });
    expect(v1).toMatchObject({ data: { user: 'a' }, metadata: { version: 1, destroyed: false } });
  });

  it('enforces check-and-set: create-only, then version match', async () => {
    const path = unique('cas');
    expect((await writeSecret(vault, mount, path, { v: 1 }, { cas: 0 })).version).toBe(1);
    expect(await failureType(writeSecret(vault, mount, path, { v: 2 }, { cas: 0 }))).toBe(
      VaultErrorType.CasMismatch,
    );
    expect((await writeSecret(vault, mount, path, { v: 2 }, { cas: 1 })).version).toBe(2);
    expect(await failureType(writeSecret(vault, mount, path, { v: 3 }, { cas: 1 }))).toBe(
      VaultErrorType.CasMismatch,
    );
  });

  it('keeps custom metadata, trims to max_versions, and can require CAS', async () => {
    const path = unique('meta');
    await writeMetadata(vault, mount, path, { maxVersions: 2, customMetadata: { owner: 'payments' } });
    for (const v of [1, 2, 3]) await writeSecret(vault, mount, path, { v });
    const meta = await readMetadata(vault, mount, path);
    expect(meta).toMatchObject({ current_version: 3, oldest_version: 2, max_versions: 2 });
    expect(meta.custom_metadata).toEqual({ owner: 'payments' });
    expect(Object.keys(meta.versions).sort()).toEqual(['2', '3']);

    await writeMetadata(vault, mount, path, { casRequired: true });
    expect(await failureType(writeSecret(vault, mount, path, { v: 4 }))).toBe(VaultErrorType.InvalidRequest);
    expect((await writeSecret(vault, mount, path, { v: 4 }, { cas: 3 })).version).toBe(4);
  });

  it('soft-deletes, undeletes, destroys, and deletes everything', async () => {
    const path = unique('life');
    await writeSecret(vault, mount, path, { v: 1 });
    await writeSecret(vault, mount, path, { v: 2 });
    await softDelete(vault, mount, path);
    expect(await failureType(readSecret(vault, mount, path))).toBe(VaultErrorType.NotFound);
    expect((await readMetadata(vault, mount, path)).versions['2']?.deletion_time).not.toBe('');
    await undelete(vault, mount, path, [2]);
    expect((await readSecret(vault, mount, path)).data).toEqual({ v: 2 });
    await destroy(vault, mount, path, [1]);
    expect((await readMetadata(vault, mount, path)).versions['1']?.destroyed).toBe(true);
    await deleteAll(vault, mount, path);
    expect(await failureType(readMetadata(vault, mount, path))).toBe(VaultErrorType.NotFound);
  });

  it('lists keys and folders; an empty folder lists nothing', async () => {
    const folder = unique('list');
    await writeSecret(vault, mount, `${folder}/one`, { x: 1 });
    await writeSecret(vault, mount, `${folder}/sub/two`, { x: 2 });
    expect((await listKeys(vault, mount, folder)).sort()).toEqual(['one', 'sub/']);
    expect(await listKeys(vault, mount, unique('empty'))).toEqual([]);
  });

  it('serves repeated reads from the cache and drops them when we write', async () => {
    const path = unique('cached');
    await writeSecret(vault, mount, path, { v: 1 });
    const cache = vault.cache as ReadCache;
    const hits = cache.hits;
    await readSecret(vault, mount, path, { cache: true });
    await readSecret(vault, mount, path, { cache: true });
    expect(cache.hits).toBe(hits + 1);
    await writeSecret(vault, mount, path, { v: 2 });
    expect((await readSecret(vault, mount, path, { cache: true })).data).toEqual({ v: 2 });
    // Someone else's write is not seen until the TTL: that is what a cache is; ours always are.
    await vault.write(`${mount}/data/${path}`, { data: { v: 3 } }, { namespace: '' });
    expect((await readSecret(vault, mount, path, { cache: true })).data).toEqual({ v: 3 });
  });

  it('writes and reads in batches with bounded concurrency, one outcome per item', async () => {
    const folder = unique('batch');
    const entries = Array.from({ length: 40 }, (_, i) => ({ path: `${folder}/s${i}`, data: { i } }));
    const written = await writeSecrets(vault, mount, entries, { concurrency: 8 });
    expect(written.every((o) => o.ok)).toBe(true);
    const read = await readSecrets(vault, mount, [...entries.map((e) => e.path), `${folder}/missing`], {
      concurrency: 8,
    });
    expect(read.slice(0, 40).map((o) => (o.ok ? o.value.data.i : null))).toEqual(
      entries.map((e) => e.data.i),
    );
    expect(read[40]?.ok).toBe(false);
  });
});
