// `npm run bench`: the CLI's start-up against a Temporal dev server, then every Vault benchmark
// against one OpenBao dev server, each printing figures and ratios to a baseline measured in the
// same run. BENCH_ITERATIONS, BENCH_CONCURRENCY and BENCH_STARTUP_RUNS scale them. Secret rotation
// needs a Temporal worker and PostgreSQL besides: `npm run bench:rotation` (bench/rotation.ts); the DR
// figures a raft pair and a few minutes: `npm run bench:dr` (bench/dr.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVaultDevServer } from '../client/stack/vault-dev.js';
import { benchTokenRenewal } from './auth.js';
import { benchCliStartup } from './cli-startup.js';
import { benchKv } from './kv.js';
import { wholeNumberSetting } from './lib.js';
import { benchSysRead } from './sys-read.js';

const iterations = wholeNumberSetting('BENCH_ITERATIONS', 2000, 10);
const concurrency = wholeNumberSetting('BENCH_CONCURRENCY', 16);
const startupRuns = wholeNumberSetting('BENCH_STARTUP_RUNS', 15);

process.stdout.write(
  `vaultops benchmarks: ${iterations} iterations, ${concurrency} in flight, node ${process.version}\n`,
);
await benchCliStartup({ runs: startupRuns });
const dir = mkdtempSync(join(tmpdir(), 'vaultops-bench-'));
const server = await startVaultDevServer({ flavour: 'openbao', logDir: dir });
process.stdout.write(`OpenBao dev server at ${server.address}\n`);
try {
  await benchSysRead(server, { iterations, concurrency });
  await benchKv(server, { iterations, concurrency });
  await benchTokenRenewal(server, { iterations });
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
// Kept apart: the DR figures need raft clusters, Temporal and a filled primary (minutes, not seconds).
process.stdout.write(
  'DR figures (snapshot save/restore throughput, drill, failover RTO/RPO on a raft pair): npm run bench:dr\n',
);
