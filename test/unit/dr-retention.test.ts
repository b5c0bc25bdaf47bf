// Retention of DR snapshots: the newest N, the newest of each of the last D days and W weeks, the
// newest verified one always, failed records dropped once older than the window.
import { describe, expect, it } from 'vitest';
import { planRetention } from '../../common/dr/retention.js';
import type { SnapshotStatus } from '../../common/dr/snapshots.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
// Wednesday 2026-11-18 12:00 UTC
const NOW = Date.parse('2026-11-18T12:00:00Z');

const snap = (id: string, agoMs: number, status: SnapshotStatus = 'usable') => ({
  id,
  takenAt: new Date(NOW - agoMs).toISOString(),
  status,
});

describe('planRetention', () => {
  it('keeps the newest N and drops the rest when no daily or weekly is asked', () => {
    const entries = [snap('a', 5 * HOUR), snap('b', 4 * HOUR), snap('c', 3 * HOUR), snap('d', 1 * HOUR)];
    expect(planRetention(entries, { keepLast: 2, daily: 0, weekly: 0 }, NOW)).toEqual({
      keep: ['c', 'd'],
      drop: ['a', 'b'],
    });
  });

  it('keeps the newest of each of the last D days', () => {
    // Hourly snapshots over 4 days: the newest overall (keepLast 1) and one per day for 3 days.
    const entries = Array.from({ length: 96 }, (_, i) => snap(`h${i}`, i * HOUR));
    const plan = planRetention(entries, { keepLast: 1, daily: 3, weekly: 0 }, NOW);
    // Today's newest is h0 (also the last); yesterday's newest is 12:59 ago → h13 (23:00 yesterday);
    // the day before: h37.
    expect(plan.keep.sort()).toEqual(['h0', 'h13', 'h37'].sort());
    expect(plan.drop).toHaveLength(93);
  });

  it('keeps the newest of each of the last W weeks (weeks start on Monday, UTC)', () => {
    // Daily snapshots for 30 days; NOW is a Wednesday: this week's newest is d0, last week's is
    // Sunday 2026-11-15 (3 days ago), the week before: 2026-11-08 (10 days ago).
    const entries = Array.from({ length: 30 }, (_, i) => snap(`d${i}`, i * DAY));
    const plan = planRetention(entries, { keepLast: 0, daily: 0, weekly: 3 }, NOW);
    expect(plan.keep.sort()).toEqual(['d0', 'd10', 'd3'].sort());
  });

  it('always keeps the newest verified snapshot, and never counts failed attempts as snapshots', () => {
    const entries = [
      snap('old-verified', 40 * DAY, 'verified'),
      snap('usable-1', 2 * HOUR),
      snap('failed-recent', 1 * HOUR, 'failed'),
      snap('failed-old', 60 * DAY, 'failed'),
      snap('usable-2', 30 * 60_000),
    ];
    const plan = planRetention(entries, { keepLast: 1, daily: 1, weekly: 1 }, NOW);
    expect(plan.keep.sort()).toEqual(['failed-recent', 'old-verified', 'usable-2']);
    expect(plan.drop.sort()).toEqual(['failed-old', 'usable-1']);
  });

  it('keeps everything within the limits and ignores the order entries come in', () => {
    const entries = [snap('b', 2 * HOUR), snap('a', 3 * HOUR), snap('c', 1 * HOUR)];
    expect(planRetention(entries, { keepLast: 5, daily: 0, weekly: 0 }, NOW)).toEqual({
      keep: ['b', 'a', 'c'],
      drop: [],
    });
  });
});
