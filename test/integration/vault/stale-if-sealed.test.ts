// Reads that accept stale data are served from the cache while Vault is sealed; the rest fail as
// VaultSealed at once (every node sealed: no retry rounds). A 1-node raft cluster, sealed for real.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { ReadCache } from '../../../vault/cache.js';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { seal, unseal } from '../../../vault/sys.js';
import { failureType } from '../../harness/failures.js';
import { server } from '../../harness/vault.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-stale-${flavour}-`));
let raft: RaftCluster;
let vault: VaultClient;

beforeAll(async () => {
  raft = await startRaftCluster({ flavour, dir: join(dir, 'raft'), size: 1 });
  vault = new VaultClient({
    address: raft.nodes[0]?.address as string,
    // Patient retries (10 rounds, about 5 s of backoff), to show a sealed cluster is not waited on.
    retry: { maxRetries: 10, waitMinMs: 1000, waitMaxMs: 1000 },
    // A short TTL: the entry has expired by the time Vault is sealed.
    cache: new ReadCache({ ttlMs: 50, maxEntries: 100 }),
  });
  vault.tokens.set(raft.rootToken);
  await vault.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
}, 120_000);

afterAll(async () => {
  await vault?.close();
  await raft?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe(`reads while sealed on ${flavour}`, () => {
  it('serves an expired cache entry to a caller that accepts stale data, and fails the others at once', async () => {
    await writeSecret(vault, 'secret', 'config', { level: 'warm' });
    await vault.read('secret/data/config', { cache: true }); // cached
    await sleep(100); // and expired
    await seal(vault);
    try {
      const stale = (await vault.read('secret/data/config', { cache: true, staleIfSealed: true })) as {
        data: { data: { level: string } };
      };
      expect(stale.data.data.level).toBe('warm');
      const started = Date.now();
      expect(await failureType(readSecret(vault, 'secret', 'config', { cache: true }))).toBe(
        VaultErrorType.Sealed,
      );
      // Not a timing test: 10 backoff rounds would take about 5 s; failing at once takes milliseconds.
      expect(Date.now() - started).toBeLessThan(1500);
      expect(
        await failureType(vault.read('secret/data/never-cached', { cache: true, staleIfSealed: true })),
      ).toBe(VaultErrorType.Sealed);
    } finally {
      await unseal(vault, raft.unsealKey);
    }
  });
});
