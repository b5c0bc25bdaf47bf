// `vaultops dr drill`: proves a snapshot restorable. The newest usable snapshot of the source
// (or a named one) is restored into the standby through its leader (snapshot-force, after its
// SHA-256 is checked against the manifest), and the standby is compared with what protect recorded
// at snapshot time: mounts, auth methods, policy digests, KV key counts and the canary's id. Alike:
// the snapshot is marked verified. Not alike: the report lists exactly what differs. Either way
// it gives the RPO (the snapshot's age) and the restore time.
//
// Access after the restore: the standby then holds the source's data, tokens and keyring; its own
// root token and unseal keys are void. The drill reaches it with the target's own configured
// credentials while they are honoured (a fresh standby), else with the source's session sent to
// the target's nodes (activities/dr/protect-and-drill.ts drillAccess). Its unseal keys are the source's from then
// on: OpenBao seals itself seconds after a forced restore, so the `unseal` step queues (state
// queued-sealed) until the key holders unseal the target with the SOURCE's keys (`bao operator
// unseal` against it), or until a shared auto-unseal seal (transit) unseals it by itself. The
// worker holds no unseal key.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { DrActivities } from '../../activities/dr/protect-and-drill.js';
import type { SnapshotEntry } from '../../common/dr/snapshots.js';
import { presets } from '../lib/activity-presets.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';

const act = proxyActivities<DrActivities>(presets.drStep);

export interface DrDrillInput {
  sourceCluster: string;
  targetCluster: string;
  /** A snapshot id from the manifest; default: the source's newest usable one. */
  snapshotId?: string;
  kvKeyCap?: number;
}

export interface DrDrillReport {
  snapshotId: string;
  takenAt: string;
  raftIndex: number | null;
  sourceCluster: string;
  targetCluster: string;
  /** The snapshot's age when the drill began: the data a failover to it would lose at most. */
  rpoMs: number;
  /** The snapshot's upload into the target's leader. */
  restoreMs: number;
  /** From the start of the upload until the target served the source's data (any unseal included). */
  readyMs: number;
  /** Which credentials reached the target for the restore. */
  credentials: 'target' | 'source';
  outcome: 'verified' | 'differs';
  differences: string[];
}

export const DR_DRILL_STEPS = ['choose', 'restore', 'unseal', 'compare', 'record'] as const;

export async function drDrillWorkflow(input: DrDrillInput): Promise<DrDrillReport> {
  const steps = trackSteps(DR_DRILL_STEPS);
  const { sourceCluster, targetCluster } = input;
  if (sourceCluster === targetCluster)
    throw ApplicationFailure.create({
      type: 'DrBadInput',
      nonRetryable: true,
      message: `a drill restores into another cluster than its source; both are "${sourceCluster}"`,
    });
  const targetStep = sealAwareSteps(steps, targetCluster);

  // 1. The snapshot: the newest usable one unless named.
  const entry = await steps.run('choose', async () => {
    const chosen = await act.drChooseSnapshot({
      sourceCluster,
      ...(input.snapshotId ? { id: input.snapshotId } : {}),
    });
    if (!chosen)
      throw ApplicationFailure.create({
        type: 'DrNoSnapshot',
        nonRetryable: true,
        message: `no usable snapshot of ${sourceCluster} in the manifest; run vaultops dr protect --now first`,
      });
    return chosen;
  });
  steps.set('choose', 'done', `${entry.id}, taken ${entry.takenAt}`);
  const startedAt = Date.now();
  const rpoMs = Math.max(0, startedAt - Date.parse(entry.takenAt));

  // 2. Restored into the target, after its hash is checked; a corrupt file is marked failed.
  let restored: Awaited<ReturnType<typeof act.drRestoreSnapshot>>;
  try {
    restored = await targetStep('restore', () =>
      act.drRestoreSnapshot({ id: entry.id, targetCluster, sourceCluster }),
    );
  } catch (err) {
    if (failureType(err) === 'DrSnapshotCorrupt')
      await act.drFailSnapshot({ entry: { ...entry, reason: failureDetail(err) }, file: entry.file });
    throw err;
  }
  steps.set('restore', 'done', `uploaded in ${restored.uploadMs} ms`);
  // 3. Serving the source's data; unsealed with the source's keys should it have sealed itself.
  await targetStep('unseal', () => act.drAwaitRestored({ targetCluster, sourceCluster }));
  const readyMs = Date.now() - startedAt;

  // 4. Compared with the source as it was when the snapshot was taken.
  const differences = await targetStep('compare', async () => {
    if (!entry.baseline) return [`snapshot ${entry.id} has no baseline recorded; nothing to compare with`];
    const compared = await act.drCompare({
      targetCluster,
      sourceCluster,
      baseline: entry.baseline,
      ...(input.kvKeyCap ? { kvKeyCap: input.kvKeyCap } : {}),
    });
    return compared.differences;
  });
  steps.set('compare', 'done', differences.length === 0 ? 'alike' : `${differences.length} differences`);

  // 5. Verified, or the differences on record.
  await steps.run('record', () =>
    act.drRecordDrill({
      id: entry.id,
      drill: {
        at: new Date(startedAt).toISOString(),
        targetCluster,
        rpoMs,
        restoreMs: readyMs,
        differences,
      },
    }),
  );
  return report(entry, input, rpoMs, { ...restored, readyMs }, differences);
}

function report(
  entry: SnapshotEntry,
  input: DrDrillInput,
  rpoMs: number,
  restored: { uploadMs: number; readyMs: number; credentials: 'target' | 'source' },
  differences: string[],
): DrDrillReport {
  return {
    snapshotId: entry.id,
    takenAt: entry.takenAt,
    raftIndex: entry.raftIndex,
    sourceCluster: input.sourceCluster,
    targetCluster: input.targetCluster,
    rpoMs,
    restoreMs: restored.uploadMs,
    readyMs: restored.readyMs,
    credentials: restored.credentials,
    outcome: differences.length === 0 ? 'verified' : 'differs',
    differences,
  };
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof Error && 'cause' in err ? (err as { cause?: unknown }).cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}
