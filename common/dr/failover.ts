// What a DR failover records and shows, and the pure rules over it: how each node of the old
// primary was fenced, how far the standby's unseal has come ("unseal: k of n shares"), the record
// of which cluster is primary now, and the RTO by phase. No unseal share, token or snapshot byte
// appears in any of these: they are what the workflow's history and status carry.
import type { SealObservation } from '../preflight/report.js';

/**
 * How a node of the old primary ended up. `sealed` (by the failover), `already-sealed` and
 * `uninitialized` take no writes: they are fenced. `unreachable` may come back: the fence watch
 * seals it when it answers. A `standby-unsealed` node cannot be sealed through the API (Vault
 * refuses to seal a standby); it is sealed once it becomes active, and takes no writes without an
 * active node. `stepped-down` means the token may not seal (it needs sudo on sys/seal): NOT fenced.
 */
export type FenceOutcome =
  | 'sealed'
  | 'already-sealed'
  | 'uninitialized'
  | 'unreachable'
  | 'standby-unsealed'
  | 'stepped-down'
  | 'failed';

/** How one node of a cluster ended up after a step done to each node (fenced, demoted). */
export interface NodeOutcomeRecord<Outcome extends string> {
  address: string;
  outcome: Outcome;
  detail: string;
  /** Worker time, ISO 8601. */
  at: string;
}

/** "node a sealed; node b unreachable (connection refused)". */
export function describeNodeOutcomes(records: NodeOutcomeRecord<string>[]): string {
  return records.map((r) => `${r.address} ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`).join('; ');
}

export type FenceRecord = NodeOutcomeRecord<FenceOutcome>;

export const isFenced = (r: FenceRecord): boolean =>
  r.outcome === 'sealed' || r.outcome === 'already-sealed' || r.outcome === 'uninitialized';

export const describeFencing: (records: FenceRecord[]) => string = describeNodeOutcomes;

/** One node's seal status; `sealed` null when the node did not answer. */
export interface NodeSealState {
  address: string;
  sealed: boolean | null;
  /** Shares given so far toward the threshold (seal-status `progress`). */
  progress: number;
  /** Shares needed (seal-status `t`). */
  threshold: number;
  /** Shares that exist (seal-status `n`). */
  shares: number;
  /** shamir, transit, awskms, ... */
  type: string | null;
}

/** A node's seal state from its sys/seal-status. */
export const sealStateOf = (address: string, s: SealObservation): NodeSealState => ({
  address,
  sealed: s.sealed,
  progress: s.progress,
  threshold: s.threshold,
  shares: s.shares,
  type: s.type,
});

export interface SealProgress {
  cluster: string;
  nodes: NodeSealState[];
}

export const allUnsealed = (p: SealProgress): boolean =>
  p.nodes.length > 0 && p.nodes.every((n) => n.sealed === false);
export const anySealed = (p: SealProgress): boolean => p.nodes.some((n) => n.sealed === true);

/** Changes when anything a status line shows changes: the wait for a change compares these. */
export function sealProgressKey(p: SealProgress): string {
  return p.nodes
    .map(
      (n) =>
        `${n.address}=${n.sealed === null ? 'no-answer' : n.sealed ? `sealed:${n.progress}/${n.threshold}` : 'unsealed'}`,
    )
    .join(',');
}

/** "unseal: 1 of 3 shares" (per node when there are several), for `vaultops status`. */
export function describeUnseal(p: SealProgress): string {
  const one = (n: NodeSealState) =>
    n.sealed === null
      ? 'no answer'
      : n.sealed
        ? n.type && n.type !== 'shamir'
          ? `sealed, ${n.type} seal (unseals by itself)`
          : `${n.progress} of ${n.threshold} shares`
        : 'unsealed';
  if (p.nodes.length === 1) return `unseal: ${one(p.nodes[0] as NodeSealState)}`;
  return `unseal: ${p.nodes.map((n) => `${n.address} ${one(n)}`).join('; ')}`;
}

/** Which cluster is primary now: a file next to the snapshot store, and a KV copy on the new primary. */
export interface CurrentPrimaryRecord {
  cluster: string;
  previous: string;
  since: string;
  snapshotId: string;
  workflowId: string;
  /** The new primary's node addresses, as the worker reaches them. */
  addresses: string[];
}

/** Where the KV copy of the record lives on the new primary. */
export const CURRENT_PRIMARY_KV = { mount: 'secret', path: 'vaultops/dr/current-primary' } as const;

export const FAILOVER_PHASES = [
  'detection',
  'approval',
  'fencing',
  'restore',
  'unseal',
  'verification',
  'switch',
] as const;
export type FailoverPhase = (typeof FAILOVER_PHASES)[number];

/** A runbook's RTO, phase by phase (milliseconds), and in all (from its first phase's start to its end). */
export interface PhaseRto<Phase extends string> {
  phases: Partial<Record<Phase, number>>;
  totalMs: number;
}

/** The failover's RTO: the sum, from the start of detection to the switch. */
export type FailoverRto = PhaseRto<FailoverPhase>;

export const FAILBACK_PHASES = [
  'check',
  'approval',
  'protect',
  'fencing',
  'restore',
  'unseal',
  'verification',
  'switch',
] as const;
export type FailbackPhase = (typeof FAILBACK_PHASES)[number];

/** The failback's RTO: `unseal` sums the key holders' turns before and after the restore. */
export type FailbackRto = PhaseRto<FailbackPhase>;

/** What `vaultops dr unseal-share` tells the workflow after sending a share: progress only. */
export type UnsealProgressReport = SealProgress;

/** The failover as `vaultops dr unseal-share` needs it: which standby, and whether it waits for shares. */
export interface DrFailoverState {
  fromCluster: string;
  toCluster: string;
  /** Null until the unseal step; `nodes` are the standby's addresses as the worker reaches them. */
  unseal: { waiting: boolean; nodes: string[]; line: string } | null;
}
