// `vaultops dr failover`: the old primary is declared down, fenced, and the standby takes over
// from the newest snapshot. The runbook:
//   1. detect   health probes of every primary node from the worker, a round a second; down only
//               when a quorum of rounds in the window fail (a slow answer is an answer), or
//               declared down by the operator (--force)
//   2. approve  the approvers' quorum, or a pre-approved automatic policy (--auto-approve)
//   3. fence    every old-primary node that still answers is sealed with the primary's token,
//               recorded per node; nodes that do not answer are watched and sealed the moment
//               they answer again (fence-watch, to the end of the run)
//   4. restore  the newest snapshot (not an older drill-verified one, which would drop the writes
//               since; the report says whether a drill verified it), snapshot-force through the
//               standby's active node (asked directly), its hash checked first. A standby never
//               initialised is initialised first with throwaway keys (activities/dr/fresh-standby.ts)
//   5. unseal   the standby seals itself seconds after the forced restore and opens only with the
//               PRIMARY's keys: key holders send their shares straight to it with `vaultops dr
//               unseal-share` while the status shows "unseal: k of n shares"; a standby with an
//               auto-unseal seal opens by itself; a standby whose keyring already is the snapshot's
//               (drilled or failed over before) never seals: sys/key-status says so, no settle wait
//   6. verify   the standby against the snapshot's baseline, the canary included
//   7. switch   the current-primary record (a file next to the snapshot store, and KV on the new
//               primary), then the operator's hook with VAULTOPS_DR_NEW_PRIMARY. The configuration's
//               cluster entries are not rewritten: the record is the pointer config resolution reads
//               (`vaultops dr primary [--env]`, common/dr/primary.ts)
// and the RTO, phase by phase.
//
// The rule after fencing: once the old primary is fenced, the failover only rolls FORWARD. It
// never unfences (unseals) the old primary by itself, since it cannot know the old primary took no
// write the snapshot lacks, nor that it is really gone. A failed restore, unseal or verification
// seals the standby too (both sealed: no cluster takes writes), and the failure says what to do:
// fail over again with another snapshot (`--force --snapshot <id>`), or have the key holders
// unseal the old primary by hand once it is known good. Nothing of an unseal share, token or
// snapshot passes through this history: shares go from the key holder's CLI to the standby.
import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { DrFailoverActivities, FailoverSnapshotChoice } from '../../activities/dr/failover.js';
import type { DrActivities } from '../../activities/dr/protect-and-drill.js';
import type { ApprovalPolicy } from '../../common/approval.js';
import { DEFAULT_DETECTION, type DetectionPolicy, detectionPolicyProblems } from '../../common/dr/detect.js';
import {
  type DrFailoverState,
  describeFencing,
  describeUnseal,
  type FailoverPhase,
  type FailoverRto,
  type FenceRecord,
  isFenced,
} from '../../common/dr/failover.js';
import { type SnapshotEntry, snapshotKeyring } from '../../common/dr/snapshots.js';
import { presets } from '../lib/activity-presets.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import { drFailoverStateQuery, drUnsealProgressSignal } from './messages.js';
import { drApproval, drApprovalGate } from './steps/approve.js';
import { detectPrimaryDown } from './steps/detect.js';
import { watchActivities, watchInBackground } from './steps/fence-watch.js';
import { phaseClock } from './steps/rto.js';
import { type SwitchResult, switchPrimary } from './steps/switch.js';
import { unsealAfterRestore } from './steps/unseal.js';
import { verifyRestored } from './steps/verify.js';

type Acts = DrActivities & DrFailoverActivities;

const act = proxyActivities<Acts>(presets.drStep);
const probe = proxyActivities<Acts>(presets.probe);
const once = proxyActivities<Acts>(presets.once);

export interface DrFailoverInput {
  fromCluster: string;
  toCluster: string;
  /** The operator declares the primary down: no detection. */
  force?: boolean;
  detection?: Partial<DetectionPolicy>;
  /** Who approves; required unless autoApprove. */
  approval?: ApprovalPolicy;
  /** A pre-approved automatic policy: no approval gate; `by` is who set it up. */
  autoApprove?: { by: string };
  /** A snapshot id from the manifest; default: the newest usable one. */
  snapshotId?: string;
  /** Run after the switch with `sh -c`, VAULTOPS_DR_NEW_PRIMARY set; its exit status is recorded. */
  hook?: string;
  hookTimeoutMs?: number;
  /** How long the standby may stay unsealed after the restore before it counts as auto-unsealed (15 s). */
  settleMs?: number;
  /** How long unreachable old-primary nodes are watched, to be sealed when they answer (1 h). */
  fenceWatchMs?: number;
  kvKeyCap?: number;
}

export interface DrFailoverReport {
  outcome: 'failed-over' | 'not-needed';
  fromCluster: string;
  toCluster: string;
  detection: { forced: boolean; decision: 'down' | 'alive' | 'declared'; reason: string; rounds: number };
  approval: string;
  fencing: FenceRecord[];
  /** The final word on nodes that were not fenced at first (empty when all were). */
  fenceWatch: FenceRecord[];
  snapshot?: { id: string; takenAt: string; choice: FailoverSnapshotChoice; rpoMs: number };
  /** Whether the standby sealed itself after the restore (and key holders unsealed it). */
  sealedAfterRestore?: boolean;
  /** Whether the standby was never initialised, so the restore initialised it (throwaway keys) first. */
  standbyInitialised?: boolean;
  switch?: SwitchResult;
  rto: FailoverRto;
}

export const DR_FAILOVER_STEPS = [
  'detect',
  'approve',
  'fence',
  'restore',
  'unseal',
  'verify',
  'switch',
  'fence-watch',
] as const;

const SETTLE_MS = 15_000;
const FENCE_WATCH_MS = 3600_000;

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

export async function drFailoverWorkflow(input: DrFailoverInput): Promise<DrFailoverReport> {
  const steps = trackSteps(DR_FAILOVER_STEPS);
  const { fromCluster: from, toCluster: to } = input;
  const gate = drApprovalGate(input, 'failover'); // a bad policy fails here
  const policy: DetectionPolicy = { ...DEFAULT_DETECTION, ...input.detection };
  const problems = detectionPolicyProblems(policy);
  if (problems.length > 0) throw refuse('DrBadInput', `detection policy: ${problems.join('; ')}`);

  const state: DrFailoverState = { fromCluster: from, toCluster: to, unseal: null };
  setHandler(drFailoverStateQuery, () => state);
  setHandler(drUnsealProgressSignal, (report) => {
    // Progress only (k of n), shown until the workflow's own poll of seal-status confirms it.
    if (state.unseal?.waiting && report.cluster === to)
      steps.set('unseal', 'queued-sealed', `${describeUnseal(report)} (reported by unseal-share)`);
  });
  const { timed, rto } = phaseClock<FailoverPhase>();
  const targetStep = sealAwareSteps(steps, to);

  // 1. Is the primary down? (Or does the operator say so.)
  const detection = await timed('detection', () =>
    detectPrimaryDown({
      cluster: from,
      force: input.force,
      policy,
      steps,
      step: 'detect',
      probe: (i) => probe.drProbeCluster(i),
    }),
  );
  if (detection.decision === 'alive')
    return {
      outcome: 'not-needed',
      fromCluster: from,
      toCluster: to,
      detection,
      approval: 'not asked: the primary answers',
      fencing: [],
      fenceWatch: [],
      rto: rto(),
    };

  // 2. Nobody fences a primary alone.
  const approval = await timed('approval', () =>
    drApproval({ gate, autoApprove: input.autoApprove, steps, step: 'approve' }),
  );

  // 3. Fenced. From here on the failover only rolls forward.
  const fencing = await timed('fencing', () =>
    steps.run('fence', () => act.drFenceCluster({ cluster: from })),
  );
  steps.set('fence', 'done', describeFencing(fencing));
  const fencedAt = Date.now();
  const fenceWatch = watchUnfenced(fencing, from, input.fenceWatchMs ?? FENCE_WATCH_MS, steps);

  let chosen: { entry: SnapshotEntry; choice: FailoverSnapshotChoice; initialised: boolean } | undefined;
  try {
    // 4. The snapshot, restored into the standby through its leader.
    chosen = await timed('restore', () =>
      targetStep('restore', async () => {
        const found = await act.drChooseFailoverSnapshot({
          sourceCluster: from,
          ...(input.snapshotId ? { id: input.snapshotId } : {}),
        });
        if (!found)
          throw refuse(
            'DrNoSnapshot',
            input.snapshotId
              ? `snapshot ${input.snapshotId} is not in the manifest`
              : `no usable snapshot of ${from} in the manifest`,
          );
        const restored = await act.drRestoreSnapshot({
          id: found.entry.id,
          targetCluster: to,
          sourceCluster: from,
        });
        return { ...found, initialised: restored.initialised };
      }),
    );
    const { entry, choice } = chosen;
    steps.set(
      'restore',
      'done',
      `${entry.id}, taken ${entry.takenAt}${choice === 'usable-unverified' ? ' (not verified by a drill yet)' : ` (${choice})`}` +
        (chosen.initialised ? `; ${to} was not initialised: initialised with throwaway keys first` : ''),
    );

    // 5. Unsealed: by the key holders, with the primary's keys, or by its auto-unseal seal; or
    //    never sealed, its keyring being the snapshot's already (workflows/dr/steps/unseal.ts).
    const sealedAfterRestore = await timed('unseal', () =>
      unsealAfterRestore({
        act,
        steps,
        step: 'unseal',
        state,
        cluster: to,
        settleMs: input.settleMs ?? SETTLE_MS,
        restored: { sourceCluster: from, keyring: snapshotKeyring(entry.baseline) },
      }),
    );

    // 6. The standby holds what the primary held at snapshot time, canary included.
    await timed('verification', () =>
      verifyRestored({
        act,
        steps,
        step: 'verify',
        run: targetStep,
        entry,
        targetCluster: to,
        sourceCluster: from,
        kvKeyCap: input.kvKeyCap,
      }),
    );

    // 7. The switch: who is primary now, and the operator's hook.
    const switched = await timed('switch', () =>
      switchPrimary({
        act,
        once,
        steps,
        step: 'switch',
        run: targetStep,
        newPrimary: to,
        oldPrimary: from,
        snapshotId: entry.id,
        hook: input.hook,
        hookTimeoutMs: input.hookTimeoutMs,
        isPrimary: 'is primary',
      }),
    );
    const watched = await fenceWatch;
    return {
      outcome: 'failed-over',
      fromCluster: from,
      toCluster: to,
      detection,
      approval,
      fencing,
      fenceWatch: watched,
      snapshot: {
        id: entry.id,
        takenAt: entry.takenAt,
        choice,
        // Writes after the snapshot and before the fence are what the failover loses at most.
        rpoMs: Math.max(0, fencedAt - Date.parse(entry.takenAt)),
      },
      sealedAfterRestore,
      standbyInitialised: chosen.initialised,
      switch: switched,
      rto: rto(),
    };
  } catch (err) {
    // Rolled forward as far as it went: the standby is sealed too, and the old primary stays fenced.
    const standby = await act.drFenceCluster({ cluster: to, restoredFrom: from }).then(
      (records) => describeFencing(records),
      (e: unknown) => `could not be sealed: ${failureDetail(e)}`,
    );
    await fenceWatch;
    throw refuse(
      'DrFailoverStopped',
      `failover stopped after fencing ${from}: ${failureDetail(err)}. ${from} stays fenced (never unfenced automatically); ` +
        `${to}: ${standby}. Next: fail over again with another snapshot (vaultops dr failover --from ${from} --to ${to} --force --snapshot <id>; ` +
        `vaultops dr snapshots lists them), or have the key holders unseal ${from} by hand once it is known good`,
    );
  }
}

/** Nodes not fenced at first are watched in the background and sealed when they answer. */
function watchUnfenced(
  fencing: FenceRecord[],
  cluster: string,
  watchMs: number,
  steps: ReturnType<typeof trackSteps<(typeof DR_FAILOVER_STEPS)[number]>>,
): Promise<FenceRecord[]> {
  const open = fencing.filter((r) => !isFenced(r) && r.outcome !== 'stepped-down').map((r) => r.address);
  const watcher = watchActivities<Acts>(watchMs);
  return watchInBackground({
    open,
    watchMs,
    steps,
    step: 'fence-watch',
    verb: 'sealing',
    allDone: 'every node fenced at once',
    watch: (until) => watcher.drFenceWatch({ cluster, addresses: open, until }),
    describe: describeFencing,
  });
}
