// Failover through Vault Enterprise DR replication: what the DR status says, how
// each node of the old primary ended up after its demotion, and the RTO phases of that runbook. No
// DR operation token or secondary activation token appears in any of these: they are what the
// workflow's history and status carry.
import { describeNodeOutcomes, type NodeOutcomeRecord, type PhaseRto } from './failover.js';

/** sys/replication/dr/status, normalised ("dr-primary" in old releases is "primary"). */
export type DrReplicationMode = 'primary' | 'secondary' | 'disabled' | 'unknown';

export interface DrReplicationStatus {
  mode: DrReplicationMode;
  /** The mode as the server wrote it, for the report when it is one we do not know. */
  rawMode: string;
  /** running, idle, stream-wals, merkle-sync, ...; null when not given. */
  state: string | null;
  clusterId: string | null;
  /** A primary's secondaries (their ids). */
  knownSecondaries: string[];
  /** A secondary's primaries as it last knew them (API addresses and connection status). */
  primaries: { apiAddress: string | null; clusterAddress: string | null; connectionStatus: string | null }[];
  /** A secondary's primary cluster address, when it has one. */
  primaryClusterAddr: string | null;
}

/**
 * How a node of the old primary ended up. `demoted` (by this failover), `already-secondary` and
 * `uninitialized` take no writes: they are fenced. `unreachable` and `sealed` nodes may come back
 * as a DR primary: the watch demotes them when they answer. `failed`: the demotion was refused or
 * the node is not a DR primary at all (the detail says which).
 */
export type DemoteOutcome =
  | 'demoted'
  | 'already-secondary'
  | 'uninitialized'
  | 'sealed'
  | 'unreachable'
  | 'failed';

export type DemoteRecord = NodeOutcomeRecord<DemoteOutcome>;

export const isDemoted = (r: DemoteRecord): boolean =>
  r.outcome === 'demoted' || r.outcome === 'already-secondary' || r.outcome === 'uninitialized';

/** Nodes that may still come back as a DR primary: what the watch looks after. */
export const needsWatch = (r: DemoteRecord): boolean => r.outcome === 'unreachable' || r.outcome === 'sealed';

/** "node a demoted; node b unreachable (connection refused)". */
export const describeDemotion: (records: DemoteRecord[]) => string = describeNodeOutcomes;

export const REPLICATION_FAILOVER_PHASES = [
  'detection',
  'approval',
  'fencing',
  'promotion',
  'verification',
  'switch',
] as const;
export type ReplicationFailoverPhase = (typeof REPLICATION_FAILOVER_PHASES)[number];

/** The RTO, phase by phase, and in all (from the start of detection to the switch). */
export type ReplicationFailoverRto = PhaseRto<ReplicationFailoverPhase>;

/** Where the DR operation token comes from on the worker when the input names no file. */
export const DR_OPERATION_TOKEN_FILE_ENV = 'VAULTOPS_DR_OPERATION_TOKEN_FILE';
export const DR_OPERATION_TOKEN_ENV = 'VAULTOPS_DR_OPERATION_TOKEN';

/** Which failover runbook a standby calls for: promotion of a DR secondary, or a snapshot restore. */
export type FailoverPath = 'replication' | 'snapshot';

/**
 * The CLI's choice: the operator's flag wins; otherwise a standby that reports itself an
 * Enterprise DR secondary is promoted, and anything else (no replication, an OSS or OpenBao
 * server, no answer) is restored from a snapshot. `why` is shown to the operator.
 */
export function chooseFailoverPath(
  flag: boolean | undefined,
  standby: { status: DrReplicationStatus } | { error: string },
): { path: FailoverPath; why: string } {
  if (flag === true) return { path: 'replication', why: '--replication given' };
  if (flag === false) return { path: 'snapshot', why: '--no-replication given' };
  if ('error' in standby)
    return {
      path: 'snapshot',
      why: `the standby's DR replication status could not be read (${standby.error}); --replication forces the DR-replication path`,
    };
  if (standby.status.mode === 'secondary')
    return { path: 'replication', why: 'the standby reports Vault Enterprise DR replication mode secondary' };
  return {
    path: 'snapshot',
    why: `the standby reports DR replication mode ${standby.status.rawMode || standby.status.mode}, not secondary`,
  };
}
