// Which snapshots to keep: the newest N, plus the newest of each of the last D days and of each of
// the last W weeks (UTC days; weeks starting Monday), as backup tools (restic's --keep-last,
// --keep-daily, --keep-weekly) count them. The newest verified snapshot is always kept: it is what
// a failover restores. Failed attempts hold no file; their records go once older than the window.
// Pure: the store applies the answer.
import type { SnapshotEntry } from './snapshots.js';

export interface RetentionPolicy {
  keepLast: number;
  daily: number;
  weekly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 7, daily: 7, weekly: 4 };

export interface RetentionPlan {
  keep: string[];
  /** Snapshots whose files and records go. */
  drop: string[];
}

const DAY_MS = 86_400_000;

const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
/** Days since the epoch (a Thursday) shifted so that weeks start on Monday. */
const weekOf = (ms: number) => Math.floor((dayOf(ms) + 3) / 7);

export function planRetention(
  entries: readonly Pick<SnapshotEntry, 'id' | 'takenAt' | 'status'>[],
  policy: RetentionPolicy,
  now: number,
): RetentionPlan {
  const stored = entries
    .filter((e) => e.status !== 'failed')
    .map((e) => ({ ...e, at: Date.parse(e.takenAt) }))
    .sort((a, b) => b.at - a.at || b.id.localeCompare(a.id));
  const keep = new Set<string>(stored.slice(0, Math.max(0, policy.keepLast)).map((e) => e.id));

  const newestPer = (bucket: (ms: number) => number, count: number, nowBucket: number) => {
    const seen = new Set<number>();
    for (const e of stored) {
      const b = bucket(e.at);
      if (b > nowBucket || b <= nowBucket - count || seen.has(b)) continue;
      seen.add(b);
      keep.add(e.id);
    }
  };
  newestPer(dayOf, policy.daily, dayOf(now));
  newestPer(weekOf, policy.weekly, weekOf(now));
  const verified = stored.find((e) => e.status === 'verified');
  if (verified) keep.add(verified.id);

  const windowMs = Math.max(policy.daily * DAY_MS, policy.weekly * 7 * DAY_MS);
  const drop: string[] = [];
  for (const e of entries) {
    if (e.status === 'failed') {
      if (Date.parse(e.takenAt) < now - windowMs) drop.push(e.id);
      else keep.add(e.id);
    } else if (!keep.has(e.id)) drop.push(e.id);
  }
  return { keep: entries.map((e) => e.id).filter((id) => keep.has(id)), drop };
}
