// `vaultops dr failover` options → the workflow's input, checked before anything connects: the
// two clusters, the detection policy, the approval. Shared by the snapshot and the DR-replication paths.
import {
  DEFAULT_DETECTION,
  type DetectionPolicy,
  detectionPolicyProblems,
} from '../../../common/dr/detect.js';
import { parseDuration } from '../../../common/durations.js';
import type { DrFailoverInput } from '../../../workflows/dr/failover.js';
import type { GlobalOptions } from '../../temporal-client.js';
import { UsageError } from '../usage-error.js';
import { parseDrApproval } from './approval-options.js';
import { checkClusterPair, checkHook } from './cluster-args.js';

export interface DrFailoverOptions extends GlobalOptions {
  from: string;
  to: string;
  force?: boolean;
  autoApprove?: boolean;
  approver?: string[];
  quorum?: string;
  approvalTimeout?: string;
  as?: string;
  snapshot?: string;
  hook?: string;
  fenceWatch?: string;
  /** "<failures>/<rounds>": failed probe rounds that declare the primary down (default 3/5). */
  detect?: string;
  probeEvery?: string;
  probeTimeout?: string;
  /** Promote an Enterprise DR secondary (true), restore a snapshot (false), or look (undefined). */
  replication?: boolean;
  /** DR-replication path: the file on the worker holding the DR operation batch token. */
  drOperationTokenFile?: string;
}

/** The detection policy the options ask for; only what they change (the workflow fills in the rest). */
function parseDetection(opts: DrFailoverOptions): Partial<DetectionPolicy> {
  const out: Partial<DetectionPolicy> = {};
  if (opts.detect !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(opts.detect.trim());
    if (!m) throw new UsageError('--detect must be <failures>/<rounds>, e.g. --detect 3/5');
    out.failuresToDeclare = Number(m[1]);
    out.rounds = Number(m[2]);
  }
  for (const [flag, key, value] of [
    ['--probe-every', 'intervalMs', opts.probeEvery],
    ['--probe-timeout', 'probeTimeoutMs', opts.probeTimeout],
  ] as const) {
    if (value === undefined) continue;
    const ms = parseDuration(value);
    if (ms === undefined || ms < 100)
      throw new UsageError(`${flag} must be a duration of at least 100ms, e.g. ${flag} 2s`);
    out[key] = ms;
  }
  const problems = detectionPolicyProblems({ ...DEFAULT_DETECTION, ...out });
  if (problems.length > 0) throw new UsageError(`--detect: ${problems.join('; ')}`);
  return out;
}

/** The workflow input from the options; every problem is a UsageError saying what to fix. */
export function parseDrFailover(opts: DrFailoverOptions, requester: string): DrFailoverInput {
  checkClusterPair(['--from', opts.from], ['--to', opts.to], 'the standby that takes over');
  const approval = parseDrApproval(opts, requester, 'failover');
  let fenceWatchMs: number | undefined;
  if (opts.fenceWatch !== undefined) {
    fenceWatchMs = parseDuration(opts.fenceWatch);
    if (fenceWatchMs === undefined || fenceWatchMs < 1000)
      throw new UsageError('--fence-watch must be a duration of at least 1s, e.g. --fence-watch 1h');
  }
  const detection = parseDetection(opts);
  if (opts.force && Object.keys(detection).length > 0)
    throw new UsageError(
      '--force skips detection: drop --detect, --probe-every and --probe-timeout, or --force',
    );
  checkHook(opts.hook);
  return {
    fromCluster: opts.from,
    toCluster: opts.to,
    ...(opts.force ? { force: true } : {}),
    ...(Object.keys(detection).length > 0 ? { detection } : {}),
    ...(approval ? { approval } : { autoApprove: { by: requester } }),
    ...(opts.snapshot ? { snapshotId: opts.snapshot } : {}),
    ...(opts.hook ? { hook: opts.hook } : {}),
    ...(fenceWatchMs ? { fenceWatchMs } : {}),
  };
}
