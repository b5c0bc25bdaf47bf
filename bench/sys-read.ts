// What the Vault access layer costs over raw HTTP on the calls preflight makes: sys/health and
// sys/mounts read through VaultClient (keep-alive pool, retries, zod) vs undici's Pool, the
// HTTP client inside Node's own fetch, against the same OpenBao dev server in the same run.
import { Pool } from 'undici';
import type { VaultDevServer } from '../client/stack/vault-dev.js';
import { VaultClient } from '../vault/client.js';
import { listSecretsEngines, readHealth } from '../vault/sys.js';
import { latency, printLatency, printThroughput, throughput } from './lib.js';

export async function benchSysRead(
  server: VaultDevServer,
  options: { iterations: number; concurrency: number },
): Promise<void> {
  const vault = new VaultClient({ address: server.address, maxConnectionsPerNode: options.concurrency });
  vault.tokens.set(server.rootToken);
  const pool = new Pool(server.address, { connections: options.concurrency });
  const raw = async (path: string) => {
    const res = await pool.request({
      method: 'GET',
      path: `/v1/${path}`,
      headers: { 'x-vault-token': server.rootToken },
    });
    return res.body.json();
  };
  try {
    process.stdout.write(`\n# sys reads against OpenBao dev server ${server.address}\n`);
    const pairs: [string, string, () => Promise<unknown>][] = [
      ['sys/health', 'readHealth', () => readHealth(vault)],
      ['sys/mounts', 'listSecretsEngines', () => listSecretsEngines(vault)],
    ];
    for (const [path, name, call] of pairs) {
      const baseline = await latency(() => raw(path), options.iterations);
      printLatency(`raw undici: GET ${path} (baseline)`, baseline);
      printLatency(`VaultClient: ${name} (zod-checked)`, await latency(call, options.iterations), baseline);
    }
    const total = options.iterations * 2;
    const rawOps = await throughput(() => raw('sys/health'), total, options.concurrency);
    printThroughput(`raw undici: sys/health x${options.concurrency} in flight (baseline)`, rawOps);
    printThroughput(
      `VaultClient: readHealth x${options.concurrency} in flight`,
      await throughput(() => readHealth(vault), total, options.concurrency),
      rawOps,
    );
  } finally {
    await pool.close();
    await vault.close();
  }
}
