// `vaultops dr protect|snapshots|drill`. protect --every creates a Temporal Schedule (overlap skip:
// one protection at a time) that runs drProtectWorkflow; --now runs one and waits for its entry.
// snapshots prints the manifest of the snapshot store, read where the CLI can see it (the worker's
// directory: $VAULTOPS_SNAPSHOT_DIR, else <state dir>/snapshots, or --dir). drill runs
// drDrillWorkflow and prints its report; it exits 1 when the restored standby differs.
import { ScheduleAlreadyRunning, WorkflowFailedError } from '@temporalio/client';
import { defaultSnapshotDir, directoryStore } from '../../../activities/dr/directory-store.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../../common/dr/retention.js';
import type { SnapshotEntry } from '../../../common/dr/snapshots.js';
import { formatDuration } from '../../../common/durations.js';
import { parseScheduleCreate, type ScheduleRequest } from '../../../common/schedule/spec.js';
import type { DrDrillInput, DrDrillReport } from '../../../workflows/dr/drill.js';
import type { DrProtectInput, DrProtectResult } from '../../../workflows/dr/protect.js';
import { printTable } from '../../format.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { SPEC_MEMO } from '../schedule/schedule.js';
import { UsageError } from '../usage-error.js';
import { reportWhile } from '../watch.js';
import { CLUSTER, checkClusterPair } from './cluster-args.js';

type Out = (line: string) => void;

export interface DrProtectOptions extends GlobalOptions {
  every?: string;
  now?: boolean;
  cluster?: string;
  keep?: string;
  daily?: string;
  weekly?: string;
  paused?: boolean;
}

export interface DrProtectPlan {
  input: DrProtectInput;
  /** With --every: the schedule to create. */
  schedule: ScheduleRequest | undefined;
  now: boolean;
}

function count(flag: string, value: string | undefined, fallback: number, least: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < least)
    throw new UsageError(
      `${flag} must be a whole number of at least ${least}, e.g. ${flag} ${Math.max(least, 7)}`,
    );
  return n;
}

export const protectScheduleId = (cluster: string) => `dr-protect-${cluster}`;

/** The protect input and schedule from the options; every problem is a UsageError. */
export function parseDrProtect(opts: DrProtectOptions): DrProtectPlan {
  const cluster = opts.cluster ?? 'default';
  if (!CLUSTER.test(cluster))
    throw new UsageError(
      '--cluster must be a cluster name (lowercase letters, digits and "-"), e.g. primary',
    );
  if (opts.every === undefined && !opts.now)
    throw new UsageError(
      'say when: --every <interval> (a schedule, e.g. --every 1h) or --now (one run, now)',
    );
  const retention: RetentionPolicy = {
    keepLast: count('--keep', opts.keep, DEFAULT_RETENTION.keepLast, 1),
    daily: count('--daily', opts.daily, DEFAULT_RETENTION.daily, 0),
    weekly: count('--weekly', opts.weekly, DEFAULT_RETENTION.weekly, 0),
  };
  const input: DrProtectInput = { cluster, retention };
  const schedule =
    opts.every === undefined
      ? undefined
      : parseScheduleCreate(protectScheduleId(cluster), {
          workflow: 'drProtectWorkflow',
          every: opts.every,
          overlap: 'skip',
          paused: opts.paused === true,
        });
  return { input, schedule, now: opts.now === true };
}

export async function drProtectCommand(opts: DrProtectOptions, out: Out): Promise<void> {
  const plan = parseDrProtect(opts);
  const target = resolveTemporal(opts);
  const { cluster } = plan.input;
  await withClient(target, async (client) => {
    if (plan.schedule) {
      const request = plan.schedule;
      try {
        await client.schedule.create({
          scheduleId: request.scheduleId,
          spec: request.spec,
          action: {
            type: 'startWorkflow',
            workflowType: 'drProtectWorkflow',
            taskQueue: target.temporal.task_queue,
            args: [plan.input],
            workflowId: `dr-protect:${cluster}`,
          },
          policies: { overlap: request.overlap },
          state: { paused: request.paused },
          memo: { [SPEC_MEMO]: `${request.summary}: protect ${cluster}` },
        });
      } catch (err) {
        if (err instanceof ScheduleAlreadyRunning)
          throw new UsageError(
            `schedule ${request.scheduleId} exists already; delete it first (${VAULTOPS} schedule delete ${request.scheduleId})`,
          );
        throw err;
      }
      const next = (await client.schedule.getHandle(request.scheduleId).describe()).info.nextActionTimes[0];
      out(
        `Scheduled protection of ${cluster}: schedule ${request.scheduleId}, ${request.summary}, overlap skip, ` +
          `keep last ${plan.input.retention?.keepLast}; next run ${next?.toISOString() ?? 'none'}`,
      );
    }
    if (plan.now) {
      const workflowId = `dr-protect:${cluster}:${new Date().toISOString()}`;
      out(`Protecting ${cluster}: workflow ${workflowId}`);
      let result: DrProtectResult;
      try {
        result = (await client.workflow.execute('drProtectWorkflow', {
          taskQueue: target.temporal.task_queue,
          workflowId,
          args: [plan.input],
        })) as DrProtectResult;
      } catch (err) {
        throw new Error(`no snapshot: ${rootCause(err)}`);
      }
      const e = result.entry;
      out(`Snapshot    ${e.id} (${e.status})`);
      out(`File        ${e.file}, ${e.size} bytes, sha256 ${e.sha256}`);
      out(`Raft index  ${e.raftIndex ?? 'unknown'} (${e.raftIndexSource ?? 'not found'})`);
      out(`Canary      ${e.canaryIds.join(', ')}`);
      out(`Retention   kept ${result.retention.kept.length}, dropped ${result.retention.dropped.length}`);
    }
  });
}

export interface DrSnapshotsOptions {
  dir?: string;
  json?: boolean;
}

export async function drSnapshotsCommand(opts: DrSnapshotsOptions, out: Out): Promise<void> {
  const store = directoryStore(opts.dir ?? defaultSnapshotDir());
  const { snapshots } = await store.readManifest();
  const newest = [...snapshots].sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
  if (opts.json) {
    out(JSON.stringify(newest, null, 2));
    return;
  }
  if (newest.length === 0) {
    out(`No snapshots in ${store.location}; take one with ${VAULTOPS} dr protect --now`);
    return;
  }
  printTable(
    [['ID', 'STATUS', 'TAKEN', 'CLUSTER', 'SIZE', 'RAFT INDEX', 'LAST DRILL'], ...newest.map(row)],
    out,
  );
}

function row(e: SnapshotEntry): string[] {
  const drill = e.lastDrill
    ? `${e.lastDrill.at} into ${e.lastDrill.targetCluster}: ${e.lastDrill.differences.length === 0 ? 'alike' : `${e.lastDrill.differences.length} differences`}`
    : e.reason
      ? `failed: ${e.reason.slice(0, 60)}`
      : '-';
  return [
    e.id,
    e.status,
    e.takenAt,
    e.sourceCluster,
    e.size === null ? '-' : String(e.size),
    String(e.raftIndex ?? '-'),
    drill,
  ];
}

export interface DrDrillOptions extends GlobalOptions {
  from: string;
  into: string;
  snapshot?: string;
  json?: boolean;
}

export function parseDrDrill(opts: DrDrillOptions): DrDrillInput {
  checkClusterPair(['--from', opts.from], ['--into', opts.into], 'the drill overwrites its data');
  return {
    sourceCluster: opts.from,
    targetCluster: opts.into,
    ...(opts.snapshot ? { snapshotId: opts.snapshot } : {}),
  };
}

export async function drDrillCommand(opts: DrDrillOptions, out: Out): Promise<void> {
  const input = parseDrDrill(opts);
  const target = resolveTemporal(opts);
  const workflowId = `dr-drill:${input.sourceCluster}:${input.targetCluster}:${new Date().toISOString()}`;
  const report = await withClient(target, async (client) => {
    out(
      `Drill: restoring ${input.snapshotId ?? `the newest snapshot of ${input.sourceCluster}`} into ${input.targetCluster}: workflow ${workflowId}`,
    );
    try {
      const handle = await client.workflow.start('drDrillWorkflow', {
        taskQueue: target.temporal.task_queue,
        workflowId,
        args: [input],
      });
      // A drill can wait minutes for the target's unseal: say so, and who unseals it.
      return (await reportWhile(client, workflowId, handle.result())) as DrDrillReport;
    } catch (err) {
      throw new Error(`drill failed: ${rootCause(err)}`);
    }
  });
  if (opts.json) out(JSON.stringify(report, null, 2));
  else {
    out(
      `Snapshot   ${report.snapshotId}, taken ${report.takenAt}, raft index ${report.raftIndex ?? 'unknown'}`,
    );
    out(`RPO        ${formatDuration(report.rpoMs)} (the snapshot's age)`);
    out(
      `Restore    upload ${formatDuration(report.restoreMs)}, serving after ${formatDuration(report.readyMs)} (${report.credentials} credentials)`,
    );
    out(
      report.outcome === 'verified'
        ? `Outcome    verified: ${input.targetCluster} matches ${input.sourceCluster} at snapshot time`
        : `Outcome    DIFFERS (${report.differences.length}):`,
    );
    for (const d of report.differences) out(`  - ${d}`);
  }
  if (report.outcome !== 'verified') process.exitCode = 1;
}

function rootCause(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  if (err instanceof WorkflowFailedError || cause instanceof Error) return (cause as Error).message;
  return String(err);
}
