// `vaultops dr failover` where the standby is a Vault Enterprise DR secondary: no snapshot, no
// unseal; the standby already holds the primary's data, replicated, and is promoted. The runbook:
//   1. detect   health probes of the old primary (common/dr/detect.ts rules), or --force
//   2. check    the standby reports DR mode secondary and the DR operation token can be read on the
//               worker, before anyone is asked and before anything is touched
//   3. approve  the approvers' quorum, or a pre-approved automatic policy (--auto-approve)
//   4. fence    the old primary is demoted where it answers (sys/replication/dr/primary/demote),
//               recorded per node; nodes that do not answer, or answer sealed, are watched and
//               demoted the moment they answer unsealed (fence-watch, to the end of the run). An
//               answering node that refuses the demotion stops the failover before the promotion:
//               two DR primaries must never take writes at once
//   5. promote  sys/replication/dr/secondary/promote with the DR operation batch token
//   6. verify   the standby reports DR mode primary and a node answers sys/health as active
//   7. switch   the current-primary record (file and KV) and the operator's hook, as drFailoverWorkflow
//   8. repoint  the demoted old primary is pointed at the new one (a secondary activation token made
//               on the new primary, update-primary on the old), when it answers; optional
// and the RTO, phase by phase.
// The DR operation token never passes through this history: the input names at most a FILE on the
// worker, and the activities read it there. Like drFailoverWorkflow, once the old primary is
// demoted the failover only rolls forward: it never promotes the old primary back by itself.
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DrFailoverActivities } from '../../activities/dr/failover.js';
import type {
  DrReplicationActivities,
  PrimaryServing,
  PromotionResult,
  RepointResult,
} from '../../activities/dr/replication-failover.js';
import type { ApprovalPolicy } from '../../common/approval.js';
import { DEFAULT_DETECTION, type DetectionPolicy, detectionPolicyProblems } from '../../common/dr/detect.js';
import {
  type DemoteRecord,
  describeDemotion,
  isDemoted,
  needsWatch,
  type ReplicationFailoverPhase,
  type ReplicationFailoverRto,
} from '../../common/dr/replication.js';
import { presets } from '../lib/activity-presets.js';
import { failureDetail, type StepTracker, trackSteps } from '../lib/status.js';
import { drApproval, drApprovalGate } from './steps/approve.js';
import { type DetectionResult, detectPrimaryDown } from './steps/detect.js';
import { watchActivities, watchInBackground } from './steps/fence-watch.js';
import { phaseClock } from './steps/rto.js';

type Acts = DrReplicationActivities & DrFailoverActivities;

const act = proxyActivities<Acts>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
const probe = proxyActivities<Acts>(presets.probe);
const once = proxyActivities<Acts>(presets.once);

export interface DrReplicationFailoverInput {
  fromCluster: string;
  toCluster: string;
  /** The operator declares the primary down: no detection. */
  force?: boolean;
  detection?: Partial<DetectionPolicy>;
  approval?: ApprovalPolicy;
  autoApprove?: { by: string };
  /**
   * A file ON THE WORKER holding the DR operation batch token (default: $VAULTOPS_DR_OPERATION_TOKEN_FILE,
   * else $VAULTOPS_DR_OPERATION_TOKEN, on the worker). A path, never the token.
   */
  drOperationTokenFile?: string;
  /** promote's primary_cluster_addr: the cluster address the new primary gives its secondaries. */
  primaryClusterAddr?: string;
  /** promote's `force`, for servers whose safety checks object. */
  forcePromote?: boolean;
  hook?: string;
  hookTimeoutMs?: number;
  /** How long unreachable or sealed old-primary nodes are watched, to be demoted when they answer (1 h). */
  fenceWatchMs?: number;
  /** How long the promoted standby has to report primary and serve (2 min). */
  verifyTimeoutMs?: number;
  /** Point the demoted old primary at the new one (default true). */
  repoint?: boolean;
  /** update-primary's primary_api_addr: the new primary as the OLD one reaches it (default: as the worker does). */
  primaryApiAddr?: string;
}

export interface DrReplicationFailoverReport {
  outcome: 'failed-over' | 'not-needed';
  path: 'replication';
  fromCluster: string;
  toCluster: string;
  detection: DetectionResult;
  approval: string;
  fencing: DemoteRecord[];
  fenceWatch: DemoteRecord[];
  promotion?: PromotionResult;
  verification?: PrimaryServing;
  switch?: {
    recordFile: string;
    kv: string;
    hook: { exitCode: number | null; signal: string | null; ms: number; error?: string } | null;
  };
  repoint?: RepointResult | null;
  rto: ReplicationFailoverRto;
}

export const DR_REPLICATION_FAILOVER_STEPS = [
  'detect',
  'check',
  'approve',
  'fence',
  'promote',
  'verify',
  'switch',
  'fence-watch',
  'repoint',
] as const;
type Steps = StepTracker<(typeof DR_REPLICATION_FAILOVER_STEPS)[number]>;

const HOOK_TIMEOUT_MS = 120_000;
const FENCE_WATCH_MS = 3600_000;
const VERIFY_TIMEOUT_MS = 120_000;

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

export async function drReplicationFailoverWorkflow(
  input: DrReplicationFailoverInput,
): Promise<DrReplicationFailoverReport> {
  const steps = trackSteps(DR_REPLICATION_FAILOVER_STEPS);
  const { fromCluster: from, toCluster: to } = input;
  const gate = drApprovalGate(input, 'failover'); // a bad policy fails here
  const policy: DetectionPolicy = { ...DEFAULT_DETECTION, ...input.detection };
  const problems = detectionPolicyProblems(policy);
  if (problems.length > 0) throw refuse('DrBadInput', `detection policy: ${problems.join('; ')}`);
  const tokenFile = input.drOperationTokenFile ? { drOperationTokenFile: input.drOperationTokenFile } : {};

  const { timed, rto } = phaseClock<ReplicationFailoverPhase>();
  const base = { path: 'replication' as const, fromCluster: from, toCluster: to };

  // 1. Is the primary down? (Or does the operator say so.)
  const detection = await timed('detection', () =>
    detectPrimaryDown({
      cluster: from,
      force: input.force,
      policy,
      steps,
      step: 'detect',
      probe: probe.drProbeCluster,
    }),
  );
  if (detection.decision === 'alive')
    return {
      ...base,
      outcome: 'not-needed',
      detection,
      approval: 'not asked: the primary answers',
      fencing: [],
      fenceWatch: [],
      rto: rto(),
    };

  // 2. Something to promote, and the token to promote it with, before anyone is asked.
  const checked = await steps.run('check', () => act.drReplicationPreflight({ toCluster: to, ...tokenFile }));
  steps.set(
    'check',
    'done',
    `${to} is DR ${checked.standby.rawMode}; DR operation token from ${checked.tokenSource}`,
  );

  // 3. Nobody fences a primary alone.
  const approval = await timed('approval', () =>
    drApproval({ gate, autoApprove: input.autoApprove, steps, step: 'approve' }),
  );

  // 4. Demoted where it answers; an answering node that stays primary stops everything here.
  const fencing = await timed('fencing', () =>
    steps.run('fence', () => act.drReplicationDemote({ cluster: from })),
  );
  const refused = fencing.filter((r) => r.outcome === 'failed');
  if (refused.length > 0) {
    steps.set('fence', 'failed', describeDemotion(fencing));
    throw refuse(
      'DrFenceFailed',
      `${from} answers but was not demoted (${describeDemotion(refused)}); ${to} was NOT promoted: two DR primaries must never take writes. ` +
        `Demote ${from} by hand (vault write -f sys/replication/dr/primary/demote), or stop it, then fail over again`,
    );
  }
  steps.set('fence', 'done', describeDemotion(fencing));
  const fenceWatch = watchUndemoted(fencing, from, input.fenceWatchMs ?? FENCE_WATCH_MS, steps);

  try {
    // 5. Promoted with the DR operation token (read on the worker).
    const promotion = await timed('promotion', () =>
      steps.run('promote', () =>
        act.drReplicationPromote({
          cluster: to,
          ...tokenFile,
          ...(input.primaryClusterAddr ? { primaryClusterAddr: input.primaryClusterAddr } : {}),
          ...(input.forcePromote ? { force: true } : {}),
        }),
      ),
    );
    steps.set(
      'promote',
      'done',
      promotion.alreadyPrimary
        ? `${to} was DR primary already`
        : `${to} promoted (token from ${promotion.tokenSource})`,
    );

    // 6. It says primary, and it serves.
    const verification = await timed('verification', () =>
      steps.run('verify', () =>
        act.drReplicationAwaitPrimary({ cluster: to, maxWaitMs: input.verifyTimeoutMs ?? VERIFY_TIMEOUT_MS }),
      ),
    );
    steps.set('verify', 'done', `DR mode ${verification.mode}, ${verification.activeNode} active`);

    // 7. The switch: who is primary now, and the operator's hook.
    const switched = await timed('switch', () =>
      steps.run('switch', async () => {
        const record = await act.drSwitchPrimary({
          newPrimary: to,
          oldPrimary: from,
          snapshotId: 'none (promoted by DR replication)',
          workflowId: workflowInfo().workflowId,
          since: new Date(Date.now()).toISOString(),
        });
        const hook = input.hook
          ? await once.drRunHook({
              command: input.hook,
              newPrimary: to,
              oldPrimary: from,
              timeoutMs: input.hookTimeoutMs ?? HOOK_TIMEOUT_MS,
            })
          : null;
        return { recordFile: record.recordFile, kv: record.kv, hook };
      }),
    );
    steps.set(
      'switch',
      'done',
      `${to} is primary (${switched.recordFile}, ${switched.kv})${switched.hook ? `; hook exit ${switched.hook.exitCode ?? switched.hook.signal}` : ''}`,
    );

    // 8. The old primary, demoted now or by the watch, follows the new one.
    const watched = await fenceWatch;
    const repoint = await repointOldPrimary(input, [...fencing, ...watched], steps);
    return {
      ...base,
      outcome: 'failed-over',
      detection,
      approval,
      fencing,
      fenceWatch: watched,
      promotion,
      verification,
      switch: switched,
      repoint,
      rto: rto(),
    };
  } catch (err) {
    // Nothing is undone: the old primary stays demoted (a DR secondary takes no writes) and is never
    // promoted back automatically. The standby is whatever the failed step left (still a secondary
    // after a refused promotion).
    await fenceWatch;
    throw refuse(
      'DrFailoverStopped',
      `failover stopped after demoting ${from}: ${failureDetail(err)}. ${from} stays a DR secondary (never promoted back automatically); ` +
        `no cluster was switched to. Next: fix the cause and fail over again (vaultops dr failover --from ${from} --to ${to} --force --replication), ` +
        `or promote ${from} back by hand with a DR operation token once it is known good`,
    );
  }
}

/** Old-primary nodes not demoted at first are watched in the background and demoted when they answer. */
function watchUndemoted(
  fencing: DemoteRecord[],
  cluster: string,
  watchMs: number,
  steps: Steps,
): Promise<DemoteRecord[]> {
  const open = fencing.filter(needsWatch).map((r) => r.address);
  const watcher = watchActivities<Acts>(watchMs);
  return watchInBackground({
    open,
    watchMs,
    steps,
    step: 'fence-watch',
    verb: 'demoting',
    allDone: 'every node demoted at once',
    watch: (until) => watcher.drReplicationWatch({ cluster, addresses: open, until }),
    describe: describeDemotion,
  });
}

/** update-primary on the old primary once some node of it is known demoted; null when not asked. */
async function repointOldPrimary(
  input: DrReplicationFailoverInput,
  records: DemoteRecord[],
  steps: Steps,
): Promise<RepointResult | null> {
  if (input.repoint === false) {
    steps.set('repoint', 'done', 'not asked (repoint: false)');
    return null;
  }
  if (!records.some(isDemoted)) {
    steps.set(
      'repoint',
      'done',
      `${input.fromCluster} was never seen demoted: nothing to point at ${input.toCluster}`,
    );
    return null;
  }
  const result = await steps.run('repoint', () =>
    act.drReplicationRepoint({
      oldPrimary: input.fromCluster,
      newPrimary: input.toCluster,
      // Unique per run: the new primary refuses a secondary id it knows already.
      secondaryId: `${input.fromCluster}-${workflowInfo().runId.slice(0, 8)}`,
      ...(input.drOperationTokenFile ? { drOperationTokenFile: input.drOperationTokenFile } : {}),
      ...(input.primaryApiAddr ? { primaryApiAddr: input.primaryApiAddr } : {}),
    }),
  );
  steps.set(
    'repoint',
    result.outcome === 'failed' ? 'failed' : 'done',
    result.outcome === 'repointed'
      ? `${input.fromCluster} is a DR secondary of ${input.toCluster} (${result.primaryApiAddr})`
      : result.detail,
  );
  return result;
}
