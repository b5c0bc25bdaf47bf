// KV v2 through the access layer vs raw undici, same server, same concurrency, same run; and the
// read cache: latency of a hit, and hit rate on a skewed (Zipf) workload.
import { Pool } from 'undici';
import type { VaultDevServer } from '../client/stack/vault-dev.js';
import { ReadCache } from '../vault/cache.js';
import { VaultClient } from '../vault/client.js';
import { readSecret, writeSecret } from '../vault/kv.js';
import { latency, printLatency, printThroughput, throughput } from './lib.js';

/** Zipf-distributed key indices (rank 1 most popular), by inverse transform over the CDF. */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cdf.push(acc);
  }
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export async function benchKv(server: VaultDevServer, options: { iterations: number; concurrency: number }) {
  const pool = new Pool(server.address, { connections: options.concurrency });
  const headers = { 'x-vault-token': server.rootToken, 'content-type': 'application/json' };
  const vault = new VaultClient({ address: server.address, maxConnectionsPerNode: options.concurrency });
  vault.tokens.set(server.rootToken);
  const keys = 1000;
  try {
    await vault.write('sys/mounts/bench', { type: 'kv', options: { version: '2' } });
    for (let i = 0; i < keys; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => writeSecret(vault, 'bench', `k${i + j}`, { i: i + j })),
      );
    }
    let n = 0;
    const next = () => `k${n++ % keys}`;

    process.stdout.write(
      `\n# KV v2 throughput, ${options.concurrency} in flight (seed 003: > 1000 secrets/s)\n`,
    );
    const rawRead = await throughput(
      async () =>
        (await pool.request({ method: 'GET', path: `/v1/bench/data/${next()}`, headers })).body.json(),
      options.iterations * 2,
      options.concurrency,
    );
    printThroughput('raw undici: KV read (baseline)', rawRead);
    printThroughput(
      'VaultClient: readSecret',
      await throughput(() => readSecret(vault, 'bench', next()), options.iterations * 2, options.concurrency),
      rawRead,
    );
    const rawWrite = await throughput(
      async () =>
        (
          await pool.request({
            method: 'POST',
            path: `/v1/bench/data/${next()}`,
            headers,
            body: JSON.stringify({ data: { v: n } }),
          })
        ).body.json(),
      options.iterations,
      options.concurrency,
    );
    printThroughput('raw undici: KV write (baseline)', rawWrite);
    printThroughput(
      'VaultClient: writeSecret',
      await throughput(
        () => writeSecret(vault, 'bench', next(), { v: n }),
        options.iterations,
        options.concurrency,
      ),
      rawWrite,
    );

    process.stdout.write('\n# Cached reads (seed 003: < 50 ms; goal < 1 ms)\n');
    const uncached = await latency(() => readSecret(vault, 'bench', 'k1'), options.iterations);
    printLatency('VaultClient: readSecret, no cache (baseline)', uncached);
    const cachedClient = new VaultClient({
      address: server.address,
      cache: new ReadCache({ ttlMs: 300_000, maxEntries: 10_000 }),
    });
    cachedClient.tokens.set(server.rootToken);
    const cached = await latency(
      () => readSecret(cachedClient, 'bench', 'k1', { cache: true }),
      options.iterations,
    );
    printLatency('VaultClient: readSecret, cache hit', cached, uncached);
    await cachedClient.close();

    process.stdout.write(`\n# Cache hit rate, Zipf(s=1.1) over ${keys} secrets (seed 003: > 90%)\n`);
    for (const maxEntries of [100, 250, 1000]) {
      const cache = new ReadCache({ ttlMs: 300_000, maxEntries });
      const client = new VaultClient({
        address: server.address,
        cache,
        maxConnectionsPerNode: options.concurrency,
      });
      client.tokens.set(server.rootToken);
      const pick = zipfSampler(keys, 1.1);
      const reads = options.iterations * 5;
      const ops = await throughput(
        () => readSecret(client, 'bench', `k${pick()}`, { cache: true }),
        reads,
        options.concurrency,
      );
      process.stdout.write(
        `cache of ${String(maxEntries).padEnd(5)} entries: hit rate ${(cache.hitRate * 100).toFixed(1)}% over ${reads} reads, ${ops.toFixed(0)} reads/s (${(ops / rawRead).toFixed(2)}x raw uncached)\n`,
      );
      await client.close();
    }
  } finally {
    await pool.close();
    await vault.close();
  }
}
