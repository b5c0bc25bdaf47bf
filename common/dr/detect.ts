// When is a primary down? Pure rules over health-probe rounds (the worker probes every node's
// sys/health each round), so the failover workflow replays them and unit tests feed them flapping
// sequences. A round fails when no node serves (answers unsealed and initialised) within the
// probe timeout; a node that answers late but answers is slow, not dead, and its round counts as
// answered. Over a fixed window of rounds the primary is down once `failuresToDeclare` rounds have
// failed, and alive once so many have answered that the quorum of failures can no longer be met:
// a primary that flaps (fails one probe, answers the next) is not failed over.

export interface DetectionPolicy {
  /** Rounds in the window (default 5). */
  rounds: number;
  /** Failed rounds in the window that declare the primary down (default 3). */
  failuresToDeclare: number;
  /** Between rounds (default 1 s). */
  intervalMs: number;
  /** How long a node has to answer a probe before it counts as no answer (default 2.5 s). */
  probeTimeoutMs: number;
  /** An answer slower than this is reported slow, and still counts as an answer (default 1 s). */
  slowMs: number;
}

export const DEFAULT_DETECTION: DetectionPolicy = {
  rounds: 5,
  failuresToDeclare: 3,
  intervalMs: 1000,
  probeTimeoutMs: 2500,
  slowMs: 1000,
};

export type NodeHealth = 'active' | 'standby' | 'sealed' | 'uninitialized' | 'no-answer';

export interface NodeProbe {
  address: string;
  health: NodeHealth;
  /** How long the answer took; null without one. */
  latencyMs: number | null;
  /** Why there was no answer (connection refused, timed out after 2500 ms, ...). */
  error?: string;
}

export interface ProbeRound {
  /** Worker time, ISO 8601. */
  at: string;
  nodes: NodeProbe[];
}

export type RoundVerdict = 'serving' | 'slow' | 'not-serving';

export interface RoundResult {
  verdict: RoundVerdict;
  /** One line: which nodes served, how fast, or why none did. */
  detail: string;
}

export interface Detection {
  decision: 'down' | 'alive' | 'undecided';
  failed: number;
  answered: number;
  reason: string;
}

/** What a policy cannot mean, one line per problem; empty when it is usable. */
export function detectionPolicyProblems(p: DetectionPolicy): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(p.rounds) || p.rounds < 1)
    problems.push('rounds must be a whole number of at least 1');
  if (!Number.isInteger(p.failuresToDeclare) || p.failuresToDeclare < 1 || p.failuresToDeclare > p.rounds)
    problems.push(`failuresToDeclare must be between 1 and rounds (${p.rounds})`);
  for (const key of ['intervalMs', 'probeTimeoutMs', 'slowMs'] as const)
    if (!(p[key] > 0)) problems.push(`${key} must be positive`);
  return problems;
}

const serving = (n: NodeProbe) => n.health === 'active' || n.health === 'standby';

/** One round: serving when some node answered unsealed in time, slow when every such answer was late. */
export function roundVerdict(round: ProbeRound, policy: DetectionPolicy): RoundResult {
  const up = round.nodes.filter(serving);
  if (up.length > 0) {
    const fastest = Math.min(...up.map((n) => n.latencyMs ?? Number.POSITIVE_INFINITY));
    const list = up.map((n) => `${n.address} ${n.health} in ${n.latencyMs ?? '?'} ms`).join(', ');
    return fastest > policy.slowMs
      ? { verdict: 'slow', detail: `slow but answering: ${list}` }
      : { verdict: 'serving', detail: list };
  }
  const why = round.nodes.map((n) =>
    n.health === 'no-answer'
      ? `${n.address} no answer (${n.error ?? 'no reason given'})`
      : `${n.address} ${n.health}`,
  );
  return { verdict: 'not-serving', detail: why.length ? why.join('; ') : 'no node configured' };
}

/** The decision after the rounds so far (only the first `policy.rounds` count). */
export function detectionDecision(verdicts: RoundVerdict[], policy: DetectionPolicy): Detection {
  const window = verdicts.slice(0, policy.rounds);
  const failed = window.filter((v) => v === 'not-serving').length;
  const answered = window.length - failed;
  const slow = window.filter((v) => v === 'slow').length;
  const of = `${failed} of ${window.length} rounds failed (${policy.failuresToDeclare} of ${policy.rounds} declare it down)`;
  if (failed >= policy.failuresToDeclare)
    return { decision: 'down', failed, answered, reason: `down: ${of}` };
  if (answered > policy.rounds - policy.failuresToDeclare)
    return {
      decision: 'alive',
      failed,
      answered,
      reason: `alive: ${of}${slow > 0 ? `; ${slow} slow answers count as answers` : ''}`,
    };
  return { decision: 'undecided', failed, answered, reason: of };
}
