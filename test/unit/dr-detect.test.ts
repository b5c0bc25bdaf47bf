// The detection rules: a quorum of failed probe rounds in a fixed window declares the primary
// down; flapping (a failure now and then) and slow answers do not.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DETECTION,
  detectionDecision,
  detectionPolicyProblems,
  type NodeProbe,
  type RoundVerdict,
  roundVerdict,
} from '../../common/dr/detect.js';

const policy = DEFAULT_DETECTION; // 3 of 5 rounds, slow above 1 s
const node = (health: NodeProbe['health'], latencyMs: number | null = 5): NodeProbe => ({
  address: `http://10.0.0.${Math.floor(Math.random() * 200)}:8200`,
  health,
  latencyMs,
  ...(health === 'no-answer' ? { error: 'connection refused' } : {}),
});
const round = (...nodes: NodeProbe[]) => roundVerdict({ at: '2026-01-01T00:00:00Z', nodes }, policy);

/** Feeds verdicts one round at a time, as the workflow does, until a decision. */
function decide(verdicts: RoundVerdict[]) {
  for (let i = 1; i <= verdicts.length; i++) {
    const d = detectionDecision(verdicts.slice(0, i), policy);
    if (d.decision !== 'undecided') return { ...d, after: i };
  }
  return { ...detectionDecision(verdicts, policy), after: verdicts.length };
}

describe('roundVerdict', () => {
  it('a round is served when any node answers unsealed, active or standby', () => {
    expect(round(node('no-answer', null), node('standby')).verdict).toBe('serving');
    expect(round(node('active')).verdict).toBe('serving');
  });

  it('a late answer within the timeout is slow, not dead', () => {
    const r = round(node('active', 2200));
    expect(r.verdict).toBe('slow');
    expect(r.detail).toMatch(/slow but answering: .* active in 2200 ms/);
  });

  it('no answer, sealed or uninitialised everywhere is not serving, with each reason', () => {
    const r = round(node('no-answer', null), node('sealed'), node('uninitialized'));
    expect(r.verdict).toBe('not-serving');
    expect(r.detail).toMatch(/no answer \(connection refused\); .* sealed; .* uninitialized/);
  });
});

describe('detectionDecision', () => {
  const F = 'not-serving' as const;
  const S = 'serving' as const;
  const L = 'slow' as const;

  it('declares down at the third failed round of five', () => {
    expect(decide([F, F, F])).toMatchObject({ decision: 'down', failed: 3, after: 3 });
    expect(decide([F, S, F, F])).toMatchObject({ decision: 'down', failed: 3, after: 4 });
  });

  it('a flapping primary (a failure now and then) is alive: no failover', () => {
    expect(decide([S, F, S, F, S])).toMatchObject({ decision: 'alive', failed: 2, after: 5 });
    expect(decide([F, S, S, F, S])).toMatchObject({ decision: 'alive', failed: 2, after: 5 });
    expect(decide([F, F, S, S, S])).toMatchObject({ decision: 'alive', failed: 2, after: 5 });
  });

  it('decides alive as soon as the quorum of failures is out of reach', () => {
    expect(decide([S, S, S])).toMatchObject({ decision: 'alive', after: 3 });
  });

  it('slow answers count as answers, and the reason says so', () => {
    const d = decide([L, L, F, L]);
    expect(d).toMatchObject({ decision: 'alive', failed: 1, after: 4 });
    expect(d.reason).toMatch(/3 slow answers count as answers/);
  });

  it('only the window counts: rounds after it change nothing', () => {
    expect(detectionDecision([S, F, S, F, S, F, F, F], policy).decision).toBe('alive');
  });

  it('refuses a policy that cannot decide', () => {
    expect(detectionPolicyProblems({ ...policy, failuresToDeclare: 6 })).toEqual([
      'failuresToDeclare must be between 1 and rounds (5)',
    ]);
    expect(detectionPolicyProblems({ ...policy, intervalMs: 0 })).toEqual(['intervalMs must be positive']);
    expect(detectionPolicyProblems(policy)).toEqual([]);
  });
});
