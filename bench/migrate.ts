// `npm run bench:migrate`: a KV v2 mount of BENCH_MIGRATE_SECRETS secrets
// (default 10,000) with three versions each, in 100 folders, in a namespace of an OpenBao dev
// server, copied to other namespaces two ways in the same run, one after the other:
//   plain     a loop over the same access layer, 4 secrets at a time: list the mount, read each
//             secret's metadata, read each version and write it at the target. No check-and-set,
//             no verification, no ledger, no resumption: the floor a migration cannot beat.
//   workflow  migrateWorkflow namespace -> namespace on the embedded stack (Temporal dev server,
//             in-process worker, encrypted payloads): plan, approval (given at once), structure,
//             KV in batches of 200 with continue-as-new every 20 batches, verification by digest,
//             freeze (confirmed at once), delta copy, cutover, retirement (approved at once).
// Printed: time, secrets/s, versions/s, Vault calls per secret (HTTP exchanges of this process's
// Vault clients), and the workflow's ratios to the plain loop.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { walkKvPaths } from '../activities/migrate/inventory.js';
import { kvPathsAfter } from '../activities/migrate/kv-walk.js';
import type { MigrateRunInput } from '../common/migrate/run.js';
import { migrationDriver } from '../test/harness/migrate-driver.js';
import { inBatches } from '../vault/batch.js';
import type { VaultClient } from '../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../vault/kv.js';
import { createNamespace } from '../vault/sys.js';
import { UndiciTransport } from '../vault/transport.js';
import { approveUpdate } from '../workflows/lib/approval.js';
import { confirmFreezeUpdate } from '../workflows/migrate/messages.js';
import { migrateWorkflow } from '../workflows/migrate/migrate.js';
import { loadNow, wholeNumberSetting } from './lib.js';
import { DEV_VAULT_CONNECTIONS, startWorkflowBenchStack } from './workflow-stack.js';

const SECRETS = wholeNumberSetting('BENCH_MIGRATE_SECRETS', 10_000);
const VERSIONS = 3;
const FOLDERS = 100;
const CONCURRENCY = 4; // the KV copy activity's paths side by side
const MOUNT = 'kv';
const TASK_QUEUE = 'vaultops-bench-migrate';

/** Vault HTTP exchanges made by this process (worker and loop alike); phases run one at a time. */
let exchanges = 0;
const exchange = UndiciTransport.prototype.exchange;
UndiciTransport.prototype.exchange = function counted(...args: Parameters<typeof exchange>) {
  exchanges += 1;
  return exchange.apply(this, args);
};

const pathOf = (i: number) =>
  `team-${String(i % FOLDERS).padStart(3, '0')}/app-${String(i).padStart(6, '0')}`;

async function seed(vault: VaultClient): Promise<void> {
  await createNamespace(vault, 'bench-src');
  const src = vault.withNamespace('bench-src');
  await src.write(`sys/mounts/${MOUNT}`, { type: 'kv', options: { version: '2' } });
  const indexes = Array.from({ length: SECRETS }, (_, i) => i);
  const outcomes = await inBatches(indexes, 32, async (i) => {
    for (let v = 1; v <= VERSIONS; v++)
      await writeSecret(src, MOUNT, pathOf(i), { user: `svc-${i}`, password: `bench-${i}-${v}`, v });
  });
  for (const o of outcomes) if (!o.ok) throw o.error;
}

/** Copies every version of every secret, in order, with nothing else. */
async function plainCopy(vault: VaultClient): Promise<number> {
  await createNamespace(vault, 'bench-plain');
  const src = vault.withNamespace('bench-src');
  const dst = vault.withNamespace('bench-plain');
  await dst.write(`sys/mounts/${MOUNT}`, { type: 'kv', options: { version: '2' } });
  exchanges = 0;
  const paths = await walkKvPaths(src, MOUNT, '2');
  let versions = 0;
  const outcomes = await inBatches(paths, CONCURRENCY, async (path) => {
    const meta = await readMetadata(src, MOUNT, path);
    for (let v = 1; v <= meta.current_version; v++) {
      const { data } = await readSecret(src, MOUNT, path, { version: v });
      await writeSecret(dst, MOUNT, path, data);
      versions++;
    }
  });
  for (const o of outcomes) if (!o.ok) throw o.error;
  return versions;
}

interface Row {
  name: string;
  ms: number;
  versions: number;
  calls: number;
}

const row = (r: Row, base?: Row) => {
  const s = r.ms / 1000;
  const ratio = base
    ? `${(r.ms / base.ms).toFixed(2)}x time, ${(r.calls / base.calls).toFixed(2)}x calls`
    : 'baseline';
  return `${r.name.padEnd(10)}${String(SECRETS).padStart(9)}${String(r.versions).padStart(10)}${s.toFixed(1).padStart(9)}${(SECRETS / s).toFixed(1).padStart(11)}${(r.versions / s).toFixed(1).padStart(12)}${(r.calls / SECRETS).toFixed(1).padStart(14)}  ${ratio}`;
};

const loadAtStart = loadNow();
const bench = await startWorkflowBenchStack({
  name: 'migrate',
  taskQueue: TASK_QUEUE,
  vaultConnections: DEV_VAULT_CONNECTIONS,
});
try {
  const { setupVault, client, worker } = bench;
  process.stdout.write(`${bench.readyLine}\n`);
  const t0 = performance.now();
  await seed(setupVault);
  const seeded = performance.now() - t0;
  process.stdout.write(
    `seeded ${SECRETS} secrets x ${VERSIONS} versions in ${FOLDERS} folders in ${(seeded / 1000).toFixed(1)} s\n`,
  );

  // What one batch pays to find its paths, at a cursor near the end of the mount: the walk from
  // the cursor (kv-walk.ts) against the full re-walk every batch used to make.
  const src = setupVault.withNamespace('bench-src');
  const sorted = Array.from({ length: SECRETS }, (_, i) => pathOf(i)).sort();
  const cursor = sorted[Math.max(0, SECRETS - 201)] as string;
  const walkCost = async (find: () => Promise<unknown>) => {
    exchanges = 0;
    const w = performance.now();
    await find();
    return `${exchanges} LISTs, ${(performance.now() - w).toFixed(0)} ms`;
  };
  const fromCursor = await walkCost(() => kvPathsAfter(src, MOUNT, cursor, 200));
  const fullWalk = await walkCost(async () =>
    (await walkKvPaths(src, MOUNT, '2')).filter((p) => p > cursor).slice(0, 200),
  );
  process.stdout.write(
    `one batch's paths (200 after a cursor near the end): walk from the cursor ${fromCursor}; full re-walk ${fullWalk}\n`,
  );

  const p0 = performance.now();
  const plainVersions = await plainCopy(setupVault);
  const plain: Row = { name: 'plain', ms: performance.now() - p0, versions: plainVersions, calls: exchanges };

  const input: MigrateRunInput = {
    id: 'bench',
    from: 'bench-src',
    to: 'bench-wf',
    approval: { requester: 'bench', approvers: ['bench-approver'], quorum: 1, timeout: '1h' },
    graceMs: 0,
  };
  const workflowId = `migrate:${input.id}`;
  const { result, copiedMs, totalMs, calls } = await worker.runUntil(async () => {
    exchanges = 0;
    const w0 = performance.now();
    const handle = await client.workflow.start(migrateWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [input],
    });
    const driver = migrationDriver(client, workflowId);
    const timeoutMs = 3_600_000;
    await driver.stepReaches('approve', 'waiting-approval', timeoutMs);
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bench-approver', reason: 'bench' }] });
    await driver.stepReaches('freeze', 'waiting-approval', timeoutMs);
    const copied = performance.now() - w0;
    await handle.executeUpdate(confirmFreezeUpdate, { args: [{ operator: 'bench' }] });
    await driver.stepReaches('approve-retire', 'waiting-approval', timeoutMs);
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bench-approver', reason: 'bench' }] });
    const done = await handle.result();
    return { result: done, copiedMs: copied, totalMs: performance.now() - w0, calls: exchanges };
  });
  if (result.kv.paths !== SECRETS || result.kv.mismatched > 0)
    throw new Error(`the workflow copied ${result.kv.paths} secrets, ${result.kv.mismatched} mismatched`);
  const workflow: Row = { name: 'workflow', ms: totalMs, versions: result.kv.versionsWritten, calls };

  process.stdout.write(
    `\n# Namespace migration: ${SECRETS} KV v2 secrets x ${VERSIONS} versions, OpenBao dev server, namespace -> namespace.\n` +
      `# plain: list, then per secret read metadata, read each version, write it (${CONCURRENCY} secrets at a time).\n` +
      `# workflow: migrateWorkflow start to result (plan, structure, KV batches of 200 with check-and-set and\n` +
      `# per-version digest verification, ${result.runs} runs by continue-as-new, verify, delta, cutover, retire;\n` +
      `# approvals and freeze given at once). calls: Vault HTTP exchanges per secret.\n` +
      `# Load average ${loadAtStart} at start, ${loadNow()} at end (${cpus().length} cores).\n` +
      `${'path'.padEnd(10)}${'secrets'.padStart(9)}${'versions'.padStart(10)}${'time s'.padStart(9)}${'secrets/s'.padStart(11)}${'versions/s'.padStart(12)}${'calls/secret'.padStart(14)}  vs plain\n` +
      `${row(plain)}\n${row(workflow, plain)}\n` +
      `workflow to a verified copy (plan .. verify, waiting for the freeze): ${(copiedMs / 1000).toFixed(1)} s; ` +
      `${result.kv.versionsWritten} versions written, ${result.kv.placeholders} placeholders, digests ${result.kv.sourceDigest === result.kv.targetDigest ? 'equal' : 'DIFFER'}\n`,
  );
} finally {
  await bench.close();
}
