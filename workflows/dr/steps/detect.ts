// The detection phase of a DR failover, shared by runbooks: health-probe rounds of the old primary
// until common/dr/detect.ts decides it is down or alive, or the operator's word (--force). Used by
// the snapshot failover (workflows/dr/failover.ts) and the DR-replication runbook alike.
import { sleep } from '@temporalio/workflow';
import {
  type DetectionPolicy,
  detectionDecision,
  type ProbeRound,
  type RoundVerdict,
  roundVerdict,
} from '../../../common/dr/detect.js';
import type { StepTracker } from '../../lib/status.js';

export interface DetectionResult {
  forced: boolean;
  decision: 'down' | 'alive' | 'declared';
  reason: string;
  rounds: number;
}

export async function detectPrimaryDown<N extends string>(o: {
  cluster: string;
  force: boolean | undefined;
  policy: DetectionPolicy;
  steps: StepTracker<N>;
  step: N;
  probe: (input: { cluster: string; timeoutMs: number }) => Promise<ProbeRound>;
}): Promise<DetectionResult> {
  const { steps, step, policy } = o;
  if (o.force) {
    const reason = 'declared down by the operator (--force); no probes';
    steps.set(step, 'done', reason);
    return { forced: true, decision: 'declared', reason, rounds: 0 };
  }
  const verdicts: RoundVerdict[] = [];
  steps.set(step, 'running', `probing ${o.cluster}`);
  for (;;) {
    const round = await o.probe({ cluster: o.cluster, timeoutMs: policy.probeTimeoutMs });
    const result = roundVerdict(round, policy);
    verdicts.push(result.verdict);
    const d = detectionDecision(verdicts, policy);
    if (d.decision !== 'undecided') {
      steps.set(step, 'done', `${d.reason}; last round: ${result.detail}`);
      return { forced: false, decision: d.decision, reason: d.reason, rounds: verdicts.length };
    }
    steps.set(step, 'running', `round ${verdicts.length}: ${result.verdict}; ${d.reason}`);
    await sleep(policy.intervalMs);
  }
}
