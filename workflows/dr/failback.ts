// `vaultops dr failback`: the old primary is repaired; the acting primary (the standby a failover
// made primary) hands everything back, the writes made during the outage included. The runbook:
//   1. check    the current-primary record names --from as primary (else refused: nothing is
//               touched), and the repaired cluster answers (sealed is expected: it was fenced)
//   2. approve  the approvers' quorum, or a pre-approved automatic policy (--auto-approve)
//   3. protect  a last canary, fingerprint and raft snapshot of the acting primary, its hash read
//               back, its manifest entry (the protect step's activities)
//   4. fence    the acting primary's raft committed index is read, then every node is sealed: it
//               takes no write any more. The gap, that index minus the snapshot's, is the number of
//               raft entries committed after the snapshot (0: the snapshot holds every write).
//               Snapshot first, seal second: a sealed cluster cannot be snapshotted
//   5. restore  the repaired cluster, if sealed, is unsealed first by the key holders (`vaultops dr
//               unseal-share`, shares of the ORIGINAL primary's keys, which the acting primary holds
//               too since the failover restored them into it); the snapshot goes in through its
//               leader; it may seal itself after the forced restore: the key holders again. As a
//               rule it does not (its keyring is the snapshot's, both the original primary's):
//               sys/key-status says so, and nobody waits out the settle time for a seal
//   6. verify   the repaired cluster against the snapshot's baseline, the canary included
//   7. switch   the current-primary record back, then the operator's hook
// and the RTO, phase by phase (the key holders' two unseal turns add up under "unseal").
//
// The rule after fencing, as in the failover: once the acting primary is fenced, the failback only
// rolls FORWARD. It never unseals the acting primary by itself. A failed restore, unseal or
// verification seals the repaired cluster too (no cluster takes writes), and the failure says
// what to do: restore the same snapshot into the repaired cluster again (`vaultops dr failover
// --force --snapshot <id>`), or have the key holders unseal the acting primary by hand (it holds
// every write). No unseal share, token or snapshot byte passes through this history.
import { ApplicationFailure, proxyActivities, setHandler, uuid4 } from '@temporalio/workflow';
import type { DrFailbackActivities } from '../../activities/dr/failback.js';
import type { DrFailoverActivities } from '../../activities/dr/failover.js';
import type { DrActivities } from '../../activities/dr/protect-and-drill.js';
import type { ApprovalPolicy } from '../../common/approval.js';
import {
  anySealed,
  type DrFailoverState,
  describeFencing,
  describeUnseal,
  type FailbackPhase,
  type FailbackRto,
  type FenceRecord,
  isFenced,
} from '../../common/dr/failover.js';
import { type SnapshotEntry, snapshotKeyring } from '../../common/dr/snapshots.js';
import { presets } from '../lib/activity-presets.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import { drFailoverStateQuery, drUnsealProgressSignal } from './messages.js';
import { drApproval, drApprovalGate } from './steps/approve.js';
import { phaseClock } from './steps/rto.js';
import { type SwitchResult, switchPrimary } from './steps/switch.js';
import { awaitUnsealed, unsealAfterRestore } from './steps/unseal.js';
import { verifyRestored } from './steps/verify.js';

type Acts = DrActivities & DrFailoverActivities & DrFailbackActivities;

const act = proxyActivities<Acts>(presets.drStep);
const once = proxyActivities<Acts>(presets.once);

export interface DrFailbackInput {
  /** The acting primary (the standby the failover made primary). */
  fromCluster: string;
  /** The repaired old primary. */
  toCluster: string;
  /** Who approves; required unless autoApprove. */
  approval?: ApprovalPolicy;
  /** A pre-approved automatic policy: no approval gate; `by` is who set it up. */
  autoApprove?: { by: string };
  /** Run after the switch with `sh -c`, VAULTOPS_DR_NEW_PRIMARY set; its exit status is recorded. */
  hook?: string;
  hookTimeoutMs?: number;
  /** How long the repaired cluster may stay unsealed after the restore before it counts as settled (15 s). */
  settleMs?: number;
  kvKeyCap?: number;
}

export interface DrFailbackReport {
  outcome: 'failed-back';
  fromCluster: string;
  toCluster: string;
  approval: string;
  snapshot: { id: string; takenAt: string; raftIndex: number | null };
  fencing: FenceRecord[];
  /**
   * Raft entries the acting primary committed after the final snapshot and before it was sealed:
   * 0 means the snapshot holds every write; more means writes (a client's, or Vault's own
   * housekeeping such as lease and token expiry) in that window are not in the repaired cluster.
   * Null when either index is unknown.
   */
  gap: { fenceIndex: number | null; snapshotIndex: number | null; entries: number | null; line: string };
  /** Whether the repaired cluster was sealed before the restore (and key holders unsealed it). */
  sealedBeforeRestore: boolean;
  sealedAfterRestore: boolean;
  switch: SwitchResult;
  /** Time per phase and in all (the sum: from the check to the switch back). */
  rto: FailbackRto;
}

export const DR_FAILBACK_STEPS = [
  'check',
  'approve',
  'protect',
  'fence',
  'unseal-before-restore',
  'restore',
  'unseal-after-restore',
  'verify',
  'switch',
] as const;

const SETTLE_MS = 15_000;
const PROBE_TIMEOUT_MS = 2500;

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

export async function drFailbackWorkflow(input: DrFailbackInput): Promise<DrFailbackReport> {
  const steps = trackSteps(DR_FAILBACK_STEPS);
  const { fromCluster: from, toCluster: to } = input;
  const gate = drApprovalGate(input, 'failback'); // a bad policy fails here
  const { timed, rto } = phaseClock<FailbackPhase>();
  const state: DrFailoverState = { fromCluster: from, toCluster: to, unseal: null };
  setHandler(drFailoverStateQuery, () => state);
  let unsealStep: (typeof DR_FAILBACK_STEPS)[number] = 'unseal-before-restore';
  setHandler(drUnsealProgressSignal, (report) => {
    // Progress only (k of n), shown until the workflow's own poll of seal-status confirms it.
    if (state.unseal?.waiting && report.cluster === to)
      steps.set(unsealStep, 'queued-sealed', `${describeUnseal(report)} (reported by unseal-share)`);
  });
  const actingStep = sealAwareSteps(steps, from);
  const repairedStep = sealAwareSteps(steps, to);

  // 1. The record says who is primary; the repaired cluster must answer.
  const checked = await timed('check', () =>
    steps.run('check', async () => {
      const record = await act.drReadCurrentPrimary();
      if (record?.cluster !== from)
        throw refuse(
          'DrNotPrimary',
          record
            ? `the current-primary record names ${record.cluster} as primary (since ${record.since}), not ${from}: nothing was touched. Fail back from ${record.cluster}, or check the record`
            : `there is no current-primary record: no failover made ${from} primary, so there is nothing to fail back; nothing was touched`,
        );
      const probe = await act.drProbeCluster({ cluster: to, timeoutMs: PROBE_TIMEOUT_MS });
      if (probe.nodes.every((n) => n.health === 'no-answer'))
        throw refuse(
          'DrRepairedDown',
          `${to} does not answer (${probe.nodes.map((n) => `${n.address}: ${n.error ?? 'no answer'}`).join('; ')}): repair it first; nothing was touched`,
        );
      if (probe.nodes.some((n) => n.health === 'uninitialized'))
        throw refuse(
          'DrRepairedUninitialized',
          `${to} is not initialised: a failback returns to the repaired old primary, which keeps its keys; nothing was touched`,
        );
      const seen = probe.nodes.map((n) => `${n.address} ${n.health}`).join('; ');
      const fenced = probe.nodes.some((n) => n.health === 'sealed')
        ? ' (sealed, as the failover fenced it)'
        : '';
      return `${from} is primary since ${record.since}; ${to} answers: ${seen}${fenced}`;
    }),
  );
  steps.set('check', 'done', checked);

  // 2. Nobody fences a primary alone.
  const approval = await timed('approval', () =>
    drApproval({ gate, autoApprove: input.autoApprove, steps, step: 'approve' }),
  );

  // 3. The acting primary's last snapshot, with its canary and baseline: what the repaired cluster gets.
  const entry = await timed('protect', () =>
    actingStep('protect', () => finalSnapshot(from, input.kvKeyCap)),
  );
  steps.set(
    'protect',
    'done',
    `${entry.id}: ${entry.size} bytes, raft index ${entry.raftIndex ?? 'unknown'}`,
  );

  // 4. Fenced, and the gap measured. From here on the failback only rolls forward.
  const { fencing, fenceIndex } = await timed('fencing', () =>
    steps.run('fence', async () => {
      const { index } = await act.drRaftCommittedIndex({ cluster: from, restoredFrom: to });
      return { fenceIndex: index, fencing: await act.drFenceCluster({ cluster: from, restoredFrom: to }) };
    }),
  );
  const open = fencing.filter((r) => !isFenced(r));
  if (open.length > 0) {
    // Not rolled forward: a restore now would leave two clusters taking writes.
    steps.set('fence', 'failed', describeFencing(fencing));
    throw refuse(
      'DrFenceIncomplete',
      `${from} could not be fenced (${describeFencing(open)}): nothing was restored into ${to}. ` +
        `${from} stays primary; have the key holders unseal any node sealed here (vaultops dr unseal-share is for a running failover; use bao/vault operator unseal), fix the cause, and run the failback again`,
    );
  }
  const gap = measureGap(fenceIndex, entry.raftIndex);
  steps.set('fence', 'done', `${describeFencing(fencing)}; ${gap.line}`);

  try {
    // 5. The repaired cluster, unsealed if need be, receives the snapshot through its leader.
    unsealStep = 'unseal-before-restore';
    const before = await act.drSealProgress({ cluster: to });
    const sealedBeforeRestore = anySealed(before);
    if (sealedBeforeRestore)
      await timed('unseal', () =>
        awaitUnsealed({
          act,
          steps,
          step: 'unseal-before-restore',
          state,
          cluster: to,
          first: before,
          settleMs: 0,
        }),
      );
    steps.set(
      'unseal-before-restore',
      'done',
      sealedBeforeRestore ? 'unsealed by the key holders' : 'unsealed already',
    );
    state.unseal = null;
    await timed('restore', () =>
      repairedStep('restore', () =>
        act.drRestoreSnapshot({ id: entry.id, targetCluster: to, sourceCluster: from }),
      ),
    );
    steps.set('restore', 'done', `${entry.id} restored into ${to}`);
    unsealStep = 'unseal-after-restore';
    // Its keyring is the acting primary's (both the original primary's): as a rule no seal follows,
    // and sys/key-status says so without waiting out the settle time (workflows/dr/steps/unseal.ts).
    // It serves the data with its own credentials (the failover restored them into the acting primary).
    const sealedAfterRestore = await timed('unseal', () =>
      unsealAfterRestore({
        act,
        steps,
        step: 'unseal-after-restore',
        state,
        cluster: to,
        settleMs: input.settleMs ?? SETTLE_MS,
        restored: { sourceCluster: to, keyring: snapshotKeyring(entry.baseline) },
      }),
    );

    // 6. The repaired cluster holds what the acting primary held at the snapshot, canary included.
    await timed('verification', () =>
      verifyRestored({
        act,
        steps,
        step: 'verify',
        run: repairedStep,
        entry,
        targetCluster: to,
        sourceCluster: from,
        kvKeyCap: input.kvKeyCap,
      }),
    );

    // 7. The switch back, and the operator's hook.
    const switched = await timed('switch', () =>
      switchPrimary({
        act,
        once,
        steps,
        step: 'switch',
        run: repairedStep,
        newPrimary: to,
        oldPrimary: from,
        snapshotId: entry.id,
        hook: input.hook,
        hookTimeoutMs: input.hookTimeoutMs,
        isPrimary: 'is primary again',
      }),
    );
    return {
      outcome: 'failed-back',
      fromCluster: from,
      toCluster: to,
      approval,
      snapshot: { id: entry.id, takenAt: entry.takenAt, raftIndex: entry.raftIndex },
      fencing,
      gap,
      sealedBeforeRestore,
      sealedAfterRestore,
      switch: switched,
      rto: rto(),
    };
  } catch (err) {
    // Rolled forward as far as it went: the repaired cluster is sealed too; the acting primary stays fenced.
    const repaired = await act.drFenceCluster({ cluster: to }).then(
      (records) => describeFencing(records),
      (e: unknown) => `could not be sealed: ${failureDetail(e)}`,
    );
    throw refuse(
      'DrFailbackStopped',
      `failback stopped after fencing ${from}: ${failureDetail(err)}. ${from} stays fenced (never unfenced automatically) and holds every write; ` +
        `${to}: ${repaired}. Next: restore snapshot ${entry.id} into ${to} again (vaultops dr failover --from ${from} --to ${to} --force --snapshot ${entry.id}), ` +
        `or have the key holders unseal ${from} by hand to keep it primary`,
    );
  }
}

/** The protect step's activities, in its order: canary, fingerprints around the snapshot, hash, manifest. */
async function finalSnapshot(cluster: string, kvKeyCap: number | undefined): Promise<SnapshotEntry> {
  const cap = kvKeyCap ? { kvKeyCap } : {};
  const id = `${cluster}-failback-${new Date(Date.now())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${uuid4().slice(0, 8)}`;
  const canary = await act.drWriteCanary({ cluster });
  const beforeSnapshot = await act.drFingerprint({ cluster, ...cap });
  const taken = await act.drTakeSnapshot({ cluster, id });
  const afterSnapshot = await act.drFingerprint({ cluster, ...cap });
  await act.drVerifyStored({
    file: taken.file as string,
    sha256: taken.sha256 as string,
    size: taken.size as number,
  });
  return act.drRecordSnapshot({
    ...taken,
    status: 'usable',
    canaryIds: [canary.canaryId],
    baseline: { before: beforeSnapshot, after: afterSnapshot },
  });
}

/** The raft entries committed after the snapshot and before the fence, in words. */
export function measureGap(fenceIndex: number | null, snapshotIndex: number | null): DrFailbackReport['gap'] {
  if (fenceIndex === null || snapshotIndex === null)
    return {
      fenceIndex,
      snapshotIndex,
      entries: null,
      line: `gap unknown (raft index at the fence ${fenceIndex ?? 'unknown'}, in the snapshot ${snapshotIndex ?? 'unknown'})`,
    };
  const entries = Math.max(0, fenceIndex - snapshotIndex);
  return {
    fenceIndex,
    snapshotIndex,
    entries,
    line:
      entries === 0
        ? `0 entries after the snapshot (raft index ${snapshotIndex}): it holds every write`
        : `${entries} raft entries after the snapshot (index ${snapshotIndex} -> ${fenceIndex} at the fence): writes in that window, a client's or Vault's own housekeeping, are not in the snapshot`,
  };
}
