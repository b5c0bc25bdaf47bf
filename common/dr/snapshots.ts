// DR snapshots as the manifest and the workflow histories record them: references, digests and
// counts, never snapshot bytes, secret values or tokens. Pure, so workflows and the CLI share it.

/** `usable`: stored whole and its hash checked; `verified`: a drill restored it and found it alike. */
export type SnapshotStatus = 'usable' | 'verified' | 'failed';

/** What a cluster held, as digests and counts: enough to say what differs, nothing to leak. */
export interface DrFingerprint {
  /** Secrets engines: "path type [kv version]", sorted. Paths and types are not secret. */
  mounts: string[];
  /** Auth methods: "path type", sorted. */
  authMethods: string[];
  /** ACL policy name → SHA-256 of its text. */
  policies: Record<string, string>;
  /** KV mount → keys counted by walking LIST, at most `cap` (then `capped`). */
  kvKeyCounts: Record<string, { count: number; capped: boolean }>;
  /** The DR canary's id, if the canary secret is present. */
  canaryId: string | null;
  /**
   * The barrier keyring's active key (sys/key-status: term and install time; not secret). Absent in
   * fingerprints recorded before it was read; null when the token may not read sys/key-status.
   * Never compared by fingerprintDifferences: it says how the restore will go, not what it holds.
   */
  keyring?: KeyringIdentity | null;
}

/** Which keyring a cluster holds in memory: its active key's term and install time. */
export interface KeyringIdentity {
  term: number;
  installTime: string;
}

export const sameKeyring = (a: KeyringIdentity, b: KeyringIdentity): boolean =>
  a.term === b.term && a.installTime === b.installTime;

/**
 * The keyring the snapshot holds, when the baseline says for sure: read before and after the
 * snapshot and alike (a rotation in between leaves it unknown). Null for older manifest entries.
 */
export function snapshotKeyring(baseline: DrBaseline | undefined): KeyringIdentity | null {
  const before = baseline?.before.keyring;
  const after = baseline?.after.keyring;
  return before && after && sameKeyring(before, after) ? before : null;
}

/**
 * The fingerprint of the source cluster at snapshot time: read just before and just after the
 * snapshot. When both agree the snapshot holds exactly that state; when a write came in between,
 * a restored value is right if it equals either.
 */
export interface DrBaseline {
  before: DrFingerprint;
  after: DrFingerprint;
}

export interface DrillRecord {
  at: string;
  targetCluster: string;
  /** Snapshot age when the drill began (the RPO this snapshot would give). */
  rpoMs: number;
  restoreMs: number;
  /** Empty when the restored cluster matched the baseline. */
  differences: string[];
}

export interface SnapshotEntry {
  id: string;
  /** The file's name in the store (null for a failed attempt: nothing was kept). */
  file: string | null;
  sha256: string | null;
  size: number | null;
  /** The raft index the snapshot was taken at, and where it was read. */
  raftIndex: number | null;
  raftIndexSource: 'snapshot-meta' | 'leader-committed-index' | null;
  takenAt: string;
  sourceCluster: string;
  canaryIds: string[];
  status: SnapshotStatus;
  /** Why a failed attempt failed. */
  reason?: string;
  baseline?: DrBaseline;
  lastDrill?: DrillRecord;
}

export interface SnapshotManifest {
  version: 1;
  snapshots: SnapshotEntry[];
}

/** Where a restored cluster's fingerprint departs from the baseline, one line per difference. */
export function fingerprintDifferences(baseline: DrBaseline, restored: DrFingerprint): string[] {
  const { before, after } = baseline;
  const out: string[] = [];
  const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

  const lists = [
    ['mount', 'mounts'],
    ['auth method', 'authMethods'],
  ] as const;
  for (const [what, key] of lists) {
    if (sameList(restored[key], before[key]) || sameList(restored[key], after[key])) continue;
    const expected = new Set([...before[key], ...after[key]]);
    const got = new Set(restored[key]);
    for (const m of before[key]) if (!got.has(m)) out.push(`${what} ${m}: missing after restore`);
    for (const m of restored[key])
      if (!expected.has(m)) out.push(`${what} ${m}: not in the snapshot's source`);
  }

  const names = new Set([...Object.keys(before.policies), ...Object.keys(restored.policies)]);
  for (const name of [...names].sort()) {
    const got = restored.policies[name];
    const b = before.policies[name];
    const a = after.policies[name];
    if (got === b || got === a) continue;
    if (got === undefined) out.push(`policy ${name}: missing after restore`);
    else if (b === undefined && a === undefined) out.push(`policy ${name}: not in the snapshot's source`);
    else out.push(`policy ${name}: text differs (sha256 ${short(got)}, expected ${short(b ?? a ?? '')})`);
  }

  const mounts = new Set([...Object.keys(before.kvKeyCounts), ...Object.keys(restored.kvKeyCounts)]);
  for (const mount of [...mounts].sort()) {
    const got = restored.kvKeyCounts[mount];
    const b = before.kvKeyCounts[mount];
    const a = after.kvKeyCounts[mount];
    if (got && ((b && got.count === b.count) || (a && got.count === a.count))) continue;
    // Written to while the snapshot was taken: any count between the two readings is a moment
    // of the snapshot (keys are added, not removed, by clients that write during it).
    if (got && b && a && got.count >= Math.min(b.count, a.count) && got.count <= Math.max(b.count, a.count))
      continue;
    const expected = b?.count === a?.count || !a ? `${b?.count ?? 'none'}` : `${b?.count} or ${a.count}`;
    out.push(
      `kv ${mount}: ${got ? got.count : 'no'} keys after restore, expected ${expected}${got?.capped || b?.capped ? ' (counts capped)' : ''}`,
    );
  }

  if (restored.canaryId !== before.canaryId && restored.canaryId !== after.canaryId)
    out.push(
      `canary: ${restored.canaryId ? `id ${restored.canaryId}` : 'absent'} after restore, expected id ${before.canaryId ?? after.canaryId}`,
    );
  return out;
}

const short = (digest: string) => digest.slice(0, 12);
