// The DR benchmark's measurements, each with its baseline from the same run (bench/dr.ts prints
// them): filling the primary, snapshot save (plain stream vs drProtectWorkflow), restore (plain
// snapshot-force vs drDrillWorkflow, into a cold and then a warm standby), and a failover after
// the primary's node is SIGKILLed (drFailoverWorkflow's own RTO phases and RPO).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAILOVER_PHASES, type FailoverPhase } from '../common/dr/failover.js';
import type { SnapshotEntry } from '../common/dr/snapshots.js';
import { VaultClient } from '../vault/client.js';
import { readSecret, writeSecret } from '../vault/kv.js';
import { readSealStatus, restoreRaftSnapshotStream, streamRaftSnapshot } from '../vault/sys.js';
import { type DrDrillReport, drDrillWorkflow } from '../workflows/dr/drill.js';
import { type DrFailoverReport, drFailoverWorkflow } from '../workflows/dr/failover.js';
import { drProtectWorkflow } from '../workflows/dr/protect.js';
import { activityTimes } from './dr-history.js';
import { failoverKeyHolder, type KeyHolderLog, nodeKeyHolder } from './dr-key-holder.js';
import { CLUSTERS, type DrBenchStack } from './dr-stack.js';

/** Secrets spread over this many folders, as applications' trees are (the fingerprint walks them). */
const FOLDERS = 100;
const MOUNT = 'secret';
/** How long a restored standby may take to seal itself (the failover's own settle time). */
const SEAL_WAIT_MS = 15_000;
/** For the bench's own probes, which ask again themselves. */
export const NO_RETRIES = {
  retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
  breaker: { failureThreshold: Number.MAX_SAFE_INTEGER, openMs: 0 },
};

export const secretPath = (i: number) => `bench/app-${i % FOLDERS}/secret-${i}`;
/** The fingerprint counts every key (canary and current-primary record included): none is capped. */
export const kvKeyCapFor = (secrets: number) => secrets + 1000;
const mb = (bytes: number) => bytes / 1e6;
const elapsed = (t0: number) => performance.now() - t0;

export interface FillResult {
  secrets: number;
  concurrency: number;
  ms: number;
}

/** KV v2 writes through the access layer with `concurrency` in flight, each a random 32-byte value. */
export async function fill(stack: DrBenchStack, secrets: number, concurrency: number): Promise<FillResult> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, secrets) }, async () => {
      for (let i = next++; i < secrets; i = next++)
        await writeSecret(stack.primaryVault, MOUNT, secretPath(i), {
          n: i,
          value: randomBytes(16).toString('hex'),
        });
    }),
  );
  return { secrets, concurrency, ms: elapsed(t0) };
}

export interface SaveRun {
  plain: { bytes: number; ms: number };
  protect: { bytes: number; ms: number; snapshotMs: number; fingerprintMs: number; otherMs: number };
  entry: SnapshotEntry;
}

let runTag = 0;
const workflowId = (stack: DrBenchStack, what: string) =>
  `bench-dr-${what}-${stack.flavour}-${process.pid}-${++runTag}`;

async function plainSave(stack: DrBenchStack, file: string): Promise<SaveRun['plain']> {
  const t0 = performance.now();
  await streamRaftSnapshot(stack.primaryVault, createWriteStream(file, { mode: 0o600 }));
  return { bytes: statSync(file).size, ms: elapsed(t0) };
}

export async function protect(
  stack: DrBenchStack,
  kvKeyCap: number,
): Promise<{ entry: SnapshotEntry; ms: number; id: string }> {
  const id = workflowId(stack, 'protect');
  const t0 = performance.now();
  const { entry } = await stack.client.workflow.execute(drProtectWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: id,
    args: [{ cluster: CLUSTERS.primary, kvKeyCap }],
  });
  return { entry, ms: elapsed(t0), id };
}

/** One plain download and one protect run, in alternating order so neither always goes first. */
export async function saveRun(stack: DrBenchStack, run: number, kvKeyCap: number): Promise<SaveRun> {
  const dir = join(stack.dir, 'plain');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `run-${run}.snap`);
  let plain: SaveRun['plain'] | undefined;
  if (run % 2 === 0) plain = await plainSave(stack, file);
  const p = await protect(stack, kvKeyCap);
  plain ??= await plainSave(stack, file);
  const { byActivity } = await activityTimes(stack.client, p.id);
  const snapshotMs = byActivity.drTakeSnapshot ?? Number.NaN;
  const fingerprintMs = byActivity.drFingerprint ?? Number.NaN;
  return {
    plain,
    protect: {
      bytes: p.entry.size ?? Number.NaN,
      ms: p.ms,
      snapshotMs,
      fingerprintMs,
      otherMs: p.ms - snapshotMs - fingerprintMs,
    },
    entry: p.entry,
  };
}

export interface DrillRun {
  bytes: number;
  totalMs: number;
  /** The snapshot's upload into the standby (the workflow's own figure). */
  uploadMs: number;
  /** drRestoreSnapshot: the file's hash checked, the access checked, the upload. */
  restoreMs: number;
  /** From the upload's start until the standby served the primary's data (seal and unseal included). */
  readyMs: number;
  compareMs: number;
  /** Choose and record: manifest reads and writes. */
  manifestMs: number;
  outcome: DrDrillReport['outcome'];
  shares: number;
}

export async function drill(stack: DrBenchStack, kvKeyCap: number, bytes: number): Promise<DrillRun> {
  const id = workflowId(stack, 'drill');
  // The key holder unseals the standby with the primary's key whenever it seals itself.
  const holder = nodeKeyHolder(stack.standby.nodes[0]?.address as string, stack.primary.unsealKey);
  const t0 = performance.now();
  let report: DrDrillReport;
  let log: KeyHolderLog;
  try {
    report = await stack.client.workflow.execute(drDrillWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: id,
      args: [{ sourceCluster: CLUSTERS.primary, targetCluster: CLUSTERS.standby, kvKeyCap }],
    });
  } finally {
    log = await holder.stop();
  }
  const totalMs = elapsed(t0);
  if (report.outcome !== 'verified')
    throw new Error(`the drill found differences: ${report.differences.join('; ')}`);
  const { byActivity } = await activityTimes(stack.client, id);
  return {
    bytes,
    totalMs,
    uploadMs: report.restoreMs,
    restoreMs: byActivity.drRestoreSnapshot ?? Number.NaN,
    readyMs: report.readyMs,
    compareMs: byActivity.drCompare ?? Number.NaN,
    manifestMs: (byActivity.drChooseSnapshot ?? 0) + (byActivity.drRecordDrill ?? 0),
    outcome: report.outcome,
    shares: log.shares,
  };
}

/**
 * A restored cold standby seals itself a few seconds later, possibly after the drill has ended:
 * waits for that and for the key holder's unseal (or for the settle time, should it not seal), so
 * that the next measurement starts on a serving standby.
 */
export async function settleStandby(stack: DrBenchStack): Promise<KeyHolderLog> {
  const address = stack.standby.nodes[0]?.address as string;
  const holder = nodeKeyHolder(address, stack.primary.unsealKey);
  const probe = new VaultClient({ address, timeoutMs: 2000, ...NO_RETRIES });
  try {
    const deadline = Date.now() + SEAL_WAIT_MS;
    while (Date.now() < deadline && holder.log().shares === 0) await sleep(100);
    for (;;) {
      const status = await readSealStatus(probe).catch(() => undefined);
      if (status && !status.sealed) break;
      if (Date.now() > deadline + SEAL_WAIT_MS) throw new Error(`${address} stays sealed`);
      await sleep(100);
    }
    return holder.log();
  } finally {
    await holder.stop();
    await probe.close();
  }
}

export interface PlainRestoreRun {
  bytes: number;
  uploadMs: number;
  /** From the upload's start until a bench secret reads back with the primary's token. */
  readyMs: number;
  shares: number;
}

/**
 * The baseline: the same snapshot file, snapshot-force through the access layer straight into the
 * standby (which honours the primary's token since the first restore), then read back; the key
 * holder stands by as for the drill.
 */
export async function plainRestore(
  stack: DrBenchStack,
  file: string,
  lastKey: string,
): Promise<PlainRestoreRun> {
  const address = stack.standby.nodes[0]?.address as string;
  const standby = new VaultClient({ address });
  standby.tokens.set(stack.primary.rootToken);
  // Asked every 20 ms, without retries or breaker: the tightest "serving again" there is.
  const probe = new VaultClient({ address, timeoutMs: 2000, ...NO_RETRIES });
  probe.tokens.set(stack.primary.rootToken);
  const holder = nodeKeyHolder(address, stack.primary.unsealKey);
  try {
    const t0 = performance.now();
    await restoreRaftSnapshotStream(standby, () => createReadStream(file), { force: true });
    const uploadMs = elapsed(t0);
    const deadline = Date.now() + 4 * SEAL_WAIT_MS;
    while (!(await readSecret(probe, MOUNT, lastKey, { consistent: true }).catch(() => undefined))) {
      if (Date.now() > deadline)
        throw new Error(`${address} did not serve ${MOUNT}/${lastKey} after the restore`);
      await sleep(20);
    }
    return { bytes: statSync(file).size, uploadMs, readyMs: elapsed(t0), shares: holder.log().shares };
  } finally {
    await holder.stop();
    await standby.close();
    await probe.close();
  }
}

export interface FailoverRun {
  report: DrFailoverReport;
  phases: Record<FailoverPhase, number>;
  /** From the SIGKILL until the workflow's result. */
  wallMs: number;
  keyHolder: KeyHolderLog;
  snapshotBytes: number;
}

/**
 * A fresh protect run (the scheduled snapshot), then the primary's node is SIGKILLed and the
 * failover starts at once: detection by probes, pre-approved, fencing (the node is unreachable),
 * restore into the fresh standby, the key holder's share, verification, switch.
 */
export async function failover(stack: DrBenchStack, kvKeyCap: number, lastKey: string): Promise<FailoverRun> {
  const { entry } = await protect(stack, kvKeyCap);
  const node = stack.primary.nodes[0] as DrBenchStack['primary']['nodes'][number];
  const t0 = performance.now();
  stack.primary.kill(node);
  const id = workflowId(stack, 'failover');
  const handle = await stack.client.workflow.start(drFailoverWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: id,
    args: [
      {
        fromCluster: CLUSTERS.primary,
        toCluster: CLUSTERS.fresh,
        autoApprove: { by: 'bench' },
        // The node is dead: watching it for the default hour would only delay the result.
        fenceWatchMs: 1000,
        kvKeyCap,
      },
    ],
  });
  const holder = failoverKeyHolder(stack.client, id, {
    cliConfig: stack.cliConfig,
    cluster: CLUSTERS.fresh,
    unsealKey: stack.primary.unsealKey,
  });
  let report: DrFailoverReport;
  let log: KeyHolderLog;
  try {
    report = await handle.result();
  } finally {
    log = await holder.stop();
  }
  const wallMs = elapsed(t0);
  if (report.outcome !== 'failed-over') throw new Error(`the failover ended ${report.outcome}`);
  // The new primary serves the old one's data to the old one's token.
  const fresh = new VaultClient({ address: stack.fresh.nodes[0]?.address as string });
  fresh.tokens.set(stack.primary.rootToken);
  try {
    await readSecret(fresh, MOUNT, lastKey);
  } finally {
    await fresh.close();
  }
  const phases = Object.fromEntries(
    FAILOVER_PHASES.map((p) => [p, report.rto.phases[p] ?? Number.NaN]),
  ) as Record<FailoverPhase, number>;
  return { report, phases, wallMs, keyHolder: log, snapshotBytes: entry.size ?? Number.NaN };
}

export { mb };
