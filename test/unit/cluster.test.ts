import { describe, expect, it } from 'vitest';
import { ClusterNodes, fullJitterDelay } from '../../vault/cluster.js';

const A = 'http://127.0.0.1:8200';
const B = 'http://127.0.0.1:8210';
const C = 'http://127.0.0.1:8220';

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('ClusterNodes', () => {
  it('tries the leader first, then the others in rotation', () => {
    const nodes = new ClusterNodes([A, B, C], { failureThreshold: 3, openMs: 5000 });
    expect(nodes.roundOrder()).toEqual([A, B, C]);
    expect(nodes.roundOrder()).toEqual([B, C, A]);
    nodes.setLeader(`${C}/`);
    expect(nodes.roundOrder()[0]).toBe(C);
    expect(new Set(nodes.roundOrder())).toEqual(new Set([A, B, C]));
  });

  it('ignores a leader address that is not one of the configured nodes', () => {
    const nodes = new ClusterNodes([A, B], { failureThreshold: 3, openMs: 5000 });
    nodes.setLeader('https://vault-internal:8200');
    expect(nodes.leader).toBeUndefined();
  });

  it('opens a breaker after repeated failures, lets one trial through later, and closes on success', () => {
    const t = clock();
    const nodes = new ClusterNodes([A, B], { failureThreshold: 2, openMs: 1000 }, t.now);
    nodes.failed(A);
    expect(nodes.breakerState(A)).toBe('closed');
    nodes.failed(A);
    expect(nodes.breakerState(A)).toBe('open');
    expect(nodes.roundOrder()).toEqual([B]);
    t.advance(1000);
    expect(nodes.roundOrder()).toContain(A); // half-open: one trial
    expect(nodes.roundOrder()).toEqual([B]); // not a second one while the trial is out
    nodes.succeeded(A);
    expect(nodes.breakerState(A)).toBe('closed');
  });

  it('re-opens at once when the half-open trial fails, and forgets a failed leader', () => {
    const t = clock();
    const nodes = new ClusterNodes([A, B], { failureThreshold: 1, openMs: 1000 }, t.now);
    nodes.setLeader(A);
    nodes.failed(A);
    expect(nodes.leader).toBeUndefined();
    t.advance(1000);
    nodes.roundOrder();
    nodes.failed(A);
    expect(nodes.breakerState(A)).toBe('open');
  });
});

describe('ClusterNodes half-open trials', () => {
  it('hands a trial back when the round ended without trying the node, so it is offered again', () => {
    const t = clock();
    const nodes = new ClusterNodes([A, B], { failureThreshold: 1, openMs: 1000 }, t.now);
    nodes.setLeader(B);
    nodes.failed(A);
    t.advance(1000);
    const round = nodes.startRound();
    expect(round.order).toEqual([B, A]);
    expect(round.trials).toEqual([A]);
    nodes.succeeded(B); // B answered first: A was never tried
    for (const node of round.trials) nodes.release(node);
    expect(nodes.startRound().trials).toEqual([A]); // offered again, not stuck half-open
  });

  it('does not hand out a second trial while one is out', () => {
    const t = clock();
    const nodes = new ClusterNodes([A, B], { failureThreshold: 1, openMs: 1000 }, t.now);
    nodes.failed(A);
    t.advance(1000);
    expect(nodes.startRound().trials).toEqual([A]);
    expect(nodes.startRound().trials).toEqual([]);
  });
});

describe('fullJitterDelay', () => {
  it('draws uniformly below min(cap, base * 2^attempt)', () => {
    const opts = { baseMs: 100, capMs: 1000 };
    expect(fullJitterDelay(0, opts, () => 0.999)).toBe(99);
    expect(fullJitterDelay(3, opts, () => 0.5)).toBe(400);
    expect(fullJitterDelay(10, opts, () => 0.999)).toBe(999);
    expect(fullJitterDelay(2, opts, () => 0)).toBe(0);
  });
});

describe('ClusterNodes when every breaker is open', () => {
  it('tries every node again rather than none, leaving the pacing to the backoff', () => {
    const nodes = new ClusterNodes([A, B], { failureThreshold: 1, openMs: 60_000 });
    nodes.failed(A);
    nodes.failed(B);
    expect(new Set(nodes.roundOrder())).toEqual(new Set([A, B]));
  });
});
