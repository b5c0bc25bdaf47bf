// `vaultops dr protect`: one protection run, meant to be started by a Temporal Schedule. A canary
// with a fresh id, the cluster's fingerprint, a raft snapshot from its leader streamed into the
// snapshot store, the fingerprint again, the stored file's hash read back, the manifest entry
// (usable, with the fingerprints as the drill's baseline), then retention. Snapshot bytes never
// enter this history: it holds the entry (file name, SHA-256, size, raft index, digests, counts).
// A snapshot that fails or is cut short is recorded as failed, never as usable.
import { ApplicationFailure, CancellationScope, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { DrActivities } from '../../activities/dr/protect-and-drill.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../common/dr/retention.js';
import type { SnapshotEntry } from '../../common/dr/snapshots.js';
import { presets } from '../lib/activity-presets.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';

const act = proxyActivities<DrActivities>(presets.drStep);

export interface DrProtectInput {
  /** The cluster to protect (its name in the worker's configuration). */
  cluster: string;
  retention?: RetentionPolicy;
  /** Keys counted per KV mount for the baseline (default 10,000). */
  kvKeyCap?: number;
}

export interface DrProtectResult {
  entry: SnapshotEntry;
  retention: { kept: string[]; dropped: string[] };
}

export const DR_PROTECT_STEPS = ['canary', 'snapshot', 'verify-hash', 'manifest', 'retention'] as const;

export async function drProtectWorkflow(input: DrProtectInput): Promise<DrProtectResult> {
  const steps = trackSteps(DR_PROTECT_STEPS);
  const vaultStep = sealAwareSteps(steps, input.cluster);
  const cluster = input.cluster;
  const cap = input.kvKeyCap ? { kvKeyCap: input.kvKeyCap } : {};
  const id = snapshotId(cluster);

  // 1. A canary the snapshot will carry: a drill must find this id on the restored cluster.
  const canary = await vaultStep('canary', () => act.drWriteCanary({ cluster }));
  // 2. The snapshot, with the fingerprint read on either side of it as the drill's baseline.
  let taken: Awaited<ReturnType<typeof act.drTakeSnapshot>> | undefined;
  let baseline: NonNullable<SnapshotEntry['baseline']>;
  try {
    ({ taken, baseline } = await vaultStep('snapshot', async () => {
      const before = await act.drFingerprint({ cluster, ...cap });
      const snapshot = await act.drTakeSnapshot({ cluster, id });
      const after = await act.drFingerprint({ cluster, ...cap });
      return { taken: snapshot, baseline: { before, after } };
    }));
    const t = taken;
    steps.set('snapshot', 'done', `${t.file}: ${t.size} bytes, raft index ${t.raftIndex ?? 'unknown'}`);
    // 3. What is on disk is what streamed in.
    await steps.run('verify-hash', () =>
      act.drVerifyStored({ file: t.file as string, sha256: t.sha256 as string, size: t.size as number }),
    );
  } catch (err) {
    // Recorded, so the manifest shows the attempt; its file, if any, is removed. Even when the
    // run was cancelled: a half-made snapshot must not outlive it unrecorded.
    const failed = failedEntry(id, cluster, canary.canaryId, failureDetail(err));
    await CancellationScope.nonCancellable(() =>
      act.drFailSnapshot({ entry: failed, file: taken?.file ?? null }),
    );
    throw err;
  }
  // 4. Only now is it usable.
  const entry = await steps.run('manifest', () =>
    act.drRecordSnapshot({ ...taken, status: 'usable', canaryIds: [canary.canaryId], baseline }),
  );
  // 5. Old snapshots go by the retention policy.
  const retention = await steps.run('retention', () =>
    act.drApplyRetention({ policy: input.retention ?? DEFAULT_RETENTION }),
  );
  return { entry, retention };
}

/** `<cluster>-<UTC time>-<random>`: sortable, and the same on every replay. */
function snapshotId(cluster: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(cluster))
    throw ApplicationFailure.create({
      type: 'DrBadInput',
      nonRetryable: true,
      message: `"${cluster}" is not a cluster name (lowercase letters, digits and "-")`,
    });
  const time = new Date(Date.now())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${cluster}-${time}-${uuid4().slice(0, 8)}`;
}

function failedEntry(id: string, cluster: string, canaryId: string, reason: string): SnapshotEntry {
  return {
    id,
    file: null,
    sha256: null,
    size: null,
    raftIndex: null,
    raftIndexSource: null,
    takenAt: new Date(Date.now()).toISOString(),
    sourceCluster: cluster,
    canaryIds: [canaryId],
    status: 'failed',
    reason,
  };
}
