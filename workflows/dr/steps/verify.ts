// The verify step of the DR runbooks (failover, failback): the restored cluster's fingerprint
// against the snapshot's baseline, canary included. A difference fails the step and the runbook,
// which then rolls forward only (seals the restored cluster too).
import { ApplicationFailure } from '@temporalio/workflow';
import type { DrActivities } from '../../../activities/dr/protect-and-drill.js';
import type { SnapshotEntry } from '../../../common/dr/snapshots.js';
import type { StepTracker } from '../../lib/status.js';

export async function verifyRestored<N extends string>(o: {
  act: Pick<DrActivities, 'drCompare'>;
  steps: StepTracker<N>;
  step: N;
  /** Runs the step: seal-aware on the restored cluster. */
  run: (step: N, fn: () => Promise<string[]>) => Promise<string[]>;
  entry: SnapshotEntry;
  targetCluster: string;
  sourceCluster: string;
  kvKeyCap: number | undefined;
}): Promise<void> {
  const { entry, steps, step } = o;
  const differences = await o.run(step, async () => {
    if (!entry.baseline) return [`snapshot ${entry.id} has no baseline recorded; nothing to compare with`];
    const compared = await o.act.drCompare({
      targetCluster: o.targetCluster,
      sourceCluster: o.sourceCluster,
      baseline: entry.baseline,
      ...(o.kvKeyCap ? { kvKeyCap: o.kvKeyCap } : {}),
    });
    return compared.differences;
  });
  if (differences.length > 0) {
    steps.set(step, 'failed', differences.join('; '));
    throw ApplicationFailure.create({
      type: 'DrVerificationFailed',
      nonRetryable: true,
      message: `${o.targetCluster} differs from snapshot ${entry.id}: ${differences.join('; ')}`,
    });
  }
  steps.set(step, 'done', 'alike, canary present');
}
