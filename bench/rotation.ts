// `npm run bench:rotation`: N concurrent rotations of distinct KV secrets and M of
// PostgreSQL alternating users on the embedded stack (OpenBao dev server, Temporal dev server with
// an in-process worker, payloads encrypted as `vaultops dev` does, a real PostgreSQL): time until
// all complete, rotations per second and Vault calls per rotation, each beside the same protocol
// done by direct activity calls without Temporal (the baseline), in the same run. Its own script:
// `npm run bench` starts no Temporal worker and no database. BENCH_ROTATIONS (default 100) and
// BENCH_PG_ROTATIONS (default 20; 0 skips PostgreSQL) size it.
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { RotationRef, RotationTargetSpec } from '../activities/rotation/inputs.js';
import { createRotationActivities, type RotationActivities } from '../activities/rotation/protocol.js';
import type { PostgresServer } from '../client/stack/postgres.js';
import { parseRotationLabels } from '../common/rotation/labels.js';
import type { VaultClient } from '../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../vault/kv.js';
import { secretRotationWorkflow } from '../workflows/rotation/secret-rotation.js';
import {
  allCpuPerOp,
  type CountingVaultClient,
  type LatencyStats,
  loadNow,
  measured,
  type RunCost,
  stats,
  wholeNumberSetting,
} from './lib.js';
import { DEV_VAULT_CONNECTIONS, startWorkflowBenchStack } from './workflow-stack.js';

const kvRotations = wholeNumberSetting('BENCH_ROTATIONS', 100);
const pgRotations = wholeNumberSetting('BENCH_PG_ROTATIONS', 20, 0);
/** Rotations per path and target before measuring: worker sandbox, connection pools, pg's SCRAM. */
const WARMUP = 2;
const TASK_QUEUE = 'vaultops-bench-rotation';
const MOUNT = 'bench-rotation';

interface PathResult extends RunCost {
  perRotation: LatencyStats;
}

/** Runs `rotate` for every ref at once; the figures count only the calls and CPU spent meanwhile. */
async function allAtOnce(
  refs: RotationRef[],
  rotate: (ref: RotationRef) => Promise<void>,
  counter: CountingVaultClient,
  serverPids: number[],
): Promise<PathResult> {
  const { value: samples, ...cost } = await measured(refs.length, counter, serverPids, () =>
    Promise.all(
      refs.map(async (ref) => {
        const start = performance.now();
        await rotate(ref);
        return performance.now() - start;
      }),
    ),
  );
  return { ...cost, perRotation: stats(samples) };
}

/** The workflow's protocol with grace 0, step by step, as direct calls (no saga: a failure ends the bench). */
async function rotateDirectly(act: RotationActivities, ref: RotationRef): Promise<void> {
  const { baseVersion } = await act.rotationLock(ref);
  const input = { ...ref, baseVersion };
  await act.rotationCreatePending(input);
  await act.rotationSet(input);
  await act.rotationTest(ref);
  const promoted = await act.rotationPromote(input);
  if (promoted.previous !== null) {
    const versions = { ...ref, previous: promoted.previous, current: promoted.current };
    const { sessions } = await act.rotationSessions(versions);
    if (sessions.length > 0)
      throw new Error(`${ref.path}: ${sessions.length} live session(s) of the old role`);
    await act.rotationRetire(versions);
  }
  await act.rotationUnlock(ref);
}

const workflowIdOf = (runTag: string, ref: RotationRef) => `bench-${runTag}-${ref.rotationId}`;

function rotateByWorkflow(client: Client, runTag: string): (ref: RotationRef) => Promise<void> {
  return async (ref) => {
    const result = await client.workflow.execute(secretRotationWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId: workflowIdOf(runTag, ref),
      args: [
        {
          mount: ref.mount,
          path: ref.path,
          target: ref.target,
          strategy: ref.strategy,
          graceMs: 0,
          rotationId: ref.rotationId,
        },
      ],
    });
    if (result.outcome !== 'rotated') throw new Error(`${ref.path}: workflow ended ${result.outcome}`);
  };
}

/** Every secret was rotated once, retired and unlocked (and, for PostgreSQL, moved to role `_b`). */
async function checkRotated(vault: VaultClient, refs: RotationRef[]): Promise<void> {
  for (const ref of refs) {
    const labels = parseRotationLabels((await readMetadata(vault, MOUNT, ref.path)).custom_metadata);
    const ok =
      labels.current === 2 && labels.previous === 1 && labels.state === 'retired' && !labels.rotation;
    const latest = (await readSecret(vault, MOUNT, ref.path)).data;
    const role = ref.target.kind === 'postgres' ? `${ref.target.role}_b` : undefined;
    if (!ok || (role && latest.username !== role)) {
      throw new Error(`${ref.path} was not rotated as expected: labels ${JSON.stringify(labels)}`);
    }
  }
}

/** KV secrets to rotate, each seeded with version 1 (so every rotation retires a previous one). */
async function seedKv(vault: VaultClient, prefix: string, count: number): Promise<RotationRef[]> {
  const refs = Array.from(
    { length: count },
    (_, i): RotationRef => ({
      cluster: 'default',
      mount: MOUNT,
      path: `kv/${prefix}-${i}`,
      rotationId: `${prefix}-kv-${i}`,
      target: { kind: 'kv' },
      strategy: 'single-user',
    }),
  );
  for (let i = 0; i < refs.length; i += 50) {
    await Promise.all(
      refs
        .slice(i, i + 50)
        .map((ref) => writeSecret(vault, MOUNT, ref.path, { value: randomBytes(18).toString('base64url') })),
    );
  }
  return refs;
}

/** Alternating pairs `<base>_a` (in use) and `<base>_b` (idle), one secret each, on one admin reference. */
async function seedPostgres(
  vault: VaultClient,
  db: PostgresServer,
  prefix: string,
  count: number,
): Promise<RotationRef[]> {
  const adminPath = `pg-admin/${prefix}`;
  const adminLogin = {
    host: db.host,
    port: db.port,
    user: db.adminUser,
    password: db.adminPassword,
    database: 'postgres',
  };
  await writeSecret(vault, MOUNT, adminPath, adminLogin);
  const admin = new pg.Client(adminLogin);
  await admin.connect();
  const refs: RotationRef[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const base = `${prefix.replace(/[^a-z0-9]/g, '_')}_${i}`;
      const password = randomBytes(18).toString('hex'); // hex: safe inside the SQL literal
      await admin.query(`CREATE ROLE ${base}_a LOGIN PASSWORD '${password}'`);
      await admin.query(`CREATE ROLE ${base}_b LOGIN PASSWORD NULL`);
      const path = `pg/${prefix}-${i}`;
      await writeSecret(vault, MOUNT, path, { username: `${base}_a`, password });
      const target: RotationTargetSpec = { kind: 'postgres', admin: { path: adminPath }, role: base };
      refs.push({
        cluster: 'default',
        mount: MOUNT,
        path,
        rotationId: `${prefix}-pg-${i}`,
        target,
        strategy: 'alternating',
      });
    }
  } finally {
    await admin.end();
  }
  return refs;
}

const HEADER = `${'target'.padEnd(11)}${'path'.padEnd(10)}${'n'.padStart(5)}${'all done ms'.padStart(13)}${'rot/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'calls/rot'.padStart(11)}${'cpu ms/rot'.padStart(12)}${'servers'.padStart(9)}  vs direct`;

function row(target: string, path: string, r: PathResult, baseline?: PathResult): string {
  const perSecond = r.n / (r.wallMs / 1000);
  const calls = r.vaultCalls / r.n;
  const cpu = r.cpuMs / r.n;
  const servers = r.serverCpuMs / r.n;
  const versus = baseline
    ? `${(r.wallMs / baseline.wallMs).toFixed(2)}x time, ${(calls / (baseline.vaultCalls / baseline.n)).toFixed(2)}x calls, ${(allCpuPerOp(r) / allCpuPerOp(baseline)).toFixed(2)}x cpu`
    : 'baseline';
  return `${target.padEnd(11)}${path.padEnd(10)}${String(r.n).padStart(5)}${r.wallMs.toFixed(0).padStart(13)}${perSecond.toFixed(1).padStart(9)}${r.perRotation.p50.toFixed(0).padStart(9)}${r.perRotation.p99.toFixed(0).padStart(9)}${calls.toFixed(1).padStart(11)}${cpu.toFixed(1).padStart(12)}${servers.toFixed(1).padStart(9)}  ${versus}`;
}

process.stdout.write(
  `vaultops rotation benchmark: ${kvRotations} KV and ${pgRotations} PostgreSQL rotations at once, node ${process.version}\n`,
);
const loadAtStart = loadNow();
const bench = await startWorkflowBenchStack({
  name: 'rotation',
  taskQueue: TASK_QUEUE,
  vaultConnections: DEV_VAULT_CONNECTIONS,
  postgres: pgRotations > 0,
});
process.stdout.write(`${bench.readyLine}\n`);
const { serverPids, setupVault, directVault, workerVault, client, worker } = bench;
try {
  const direct = createRotationActivities({ vault: directVault });
  const runTag = randomBytes(4).toString('hex');
  const byWorkflow = rotateByWorkflow(client, runTag);
  const byCalls = (ref: RotationRef) => rotateDirectly(direct, ref);

  await worker.runUntil(async () => {
    await setupVault.write(`sys/mounts/${MOUNT}`, { type: 'kv', options: { version: '2' } });
    const lines: string[] = [];
    const measure = async (
      target: string,
      seed: (prefix: string, count: number) => Promise<RotationRef[]>,
      count: number,
    ) => {
      const warmDirect = await seed('warm-d', WARMUP);
      const warmWorkflow = await seed('warm-w', WARMUP);
      const directRefs = await seed('direct', count);
      const workflowRefs = await seed('workflow', count);
      await allAtOnce(warmDirect, byCalls, directVault, serverPids);
      await allAtOnce(warmWorkflow, byWorkflow, workerVault, serverPids);
      const baseline = await allAtOnce(directRefs, byCalls, directVault, serverPids);
      await checkRotated(setupVault, directRefs);
      const workflow = await allAtOnce(workflowRefs, byWorkflow, workerVault, serverPids);
      await checkRotated(setupVault, workflowRefs);
      lines.push(row(target, 'direct', baseline), row(target, 'workflow', workflow, baseline));
    };
    await measure('KV', (prefix, count) => seedKv(setupVault, prefix, count), kvRotations);
    const db = bench.postgres;
    if (db) await measure('PostgreSQL', (prefix, n) => seedPostgres(setupVault, db, prefix, n), pgRotations);

    process.stdout.write(
      `\n# Secret rotation: all started at once, grace 0; each workflow row beside the same\n` +
        `# protocol as direct activity calls without Temporal (baseline). Vault client: ${DEV_VAULT_CONNECTIONS} connections.\n` +
        `# PostgreSQL: alternating users. p50/p99: one rotation, start to finish. cpu: this process\n` +
        `# (activities, worker, client); servers: Temporal, OpenBao, PostgreSQL, idle work over the\n` +
        `# window included (ms/rot); x cpu: both together.\n` +
        `# Load average ${loadAtStart} at start, ${loadNow()} at end (${cpus().length} cores).\n` +
        `${HEADER}\n${lines.join('\n')}\n`,
    );
  });
} finally {
  await bench.close();
}
