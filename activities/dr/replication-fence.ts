// Fencing an Enterprise DR primary by demoting it: a demoted primary becomes a DR secondary that
// connects to no primary and takes no writes, yet keeps its data and cluster id, so it can later be
// pointed at the new primary (update-primary) without a wipe. Demotion is cluster-wide: it is sent
// to one answering node (a standby forwards it to the active node), then every node's own DR status
// says how it ended up, recorded per node. Nodes that do not answer, or answer sealed, may come back
// as a DR primary: they are watched and demoted the moment they answer unsealed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoteRecord, DrReplicationStatus } from '../../common/dr/replication.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { demoteDrPrimary, readDrStatus } from '../../vault/replication.js';
import { probeCluster, probeNode } from './probe.js';

export interface DemoteTimeouts {
  /** For sys/health and the DR status (default 2.5 s). */
  probeTimeoutMs: number;
  /** For the demotion itself (default 15 s). */
  demoteTimeoutMs: number;
}

const record = (address: string, outcome: DemoteRecord['outcome'], detail = ''): DemoteRecord => ({
  address,
  outcome,
  detail,
  at: new Date().toISOString(),
});

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 200);

async function statusOf(
  cluster: VaultClient,
  address: string,
  timeoutMs: number,
): Promise<DrReplicationStatus> {
  const node = cluster.forNode(address, { timeoutMs });
  try {
    return await readDrStatus(node);
  } finally {
    await node.close().catch(() => undefined);
  }
}

/**
 * Demotes the cluster through `address`. Returns null when done (or already so), else why not. A
 * lost reply is settled by the node's own status: secondary means the demotion took.
 */
async function demoteThrough(
  cluster: VaultClient,
  address: string,
  t: DemoteTimeouts,
): Promise<string | null> {
  const node = cluster.forNode(address, { timeoutMs: t.demoteTimeoutMs });
  try {
    await demoteDrPrimary(node);
    return null;
  } catch (err) {
    const after = await statusOf(cluster, address, t.probeTimeoutMs).catch(() => null);
    if (after?.mode === 'secondary') return null;
    if (isVaultFailure(err, VaultErrorType.PermissionDenied))
      return `the token may not demote (it needs update on sys/replication/dr/primary/demote): ${message(err)}`;
    return message(err);
  } finally {
    await node.close().catch(() => undefined);
  }
}

/** One node's record from its own DR status, after the cluster's demotion was tried. */
async function settle(
  cluster: VaultClient,
  address: string,
  t: DemoteTimeouts,
  before: DrReplicationStatus | undefined,
  refused: string | null,
): Promise<DemoteRecord> {
  let now: DrReplicationStatus;
  try {
    now = await statusOf(cluster, address, t.probeTimeoutMs);
  } catch (err) {
    return record(address, 'failed', `its DR status could not be read: ${message(err)}`);
  }
  if (now.mode === 'secondary')
    return before?.mode === 'secondary'
      ? record(address, 'already-secondary', 'a DR secondary before the failover')
      : record(address, 'demoted');
  if (now.mode === 'disabled')
    return record(address, 'failed', 'DR replication is not enabled here (mode disabled): nothing to demote');
  return record(address, 'failed', refused ?? `still reports DR mode ${now.rawMode}`);
}

/** Demotes the cluster once, through its first answering node, and records every node. */
export async function demoteCluster(cluster: VaultClient, t: DemoteTimeouts): Promise<DemoteRecord[]> {
  const round = await probeCluster(cluster, t.probeTimeoutMs);
  const answering = round.nodes.filter((n) => n.health === 'active' || n.health === 'standby');
  // The active node first: a standby would only forward the request to it.
  answering.sort((a, b) => Number(b.health === 'active') - Number(a.health === 'active'));
  const before = new Map<string, DrReplicationStatus>();
  let refused: string | null = null;
  const first = answering[0];
  if (first) {
    const status = await statusOf(cluster, first.address, t.probeTimeoutMs).catch(() => undefined);
    if (status) before.set(first.address, status);
    if (status?.mode === 'primary') refused = await demoteThrough(cluster, first.address, t);
  }
  return Promise.all(
    round.nodes.map(async (n) => {
      if (n.health === 'no-answer') return record(n.address, 'unreachable', n.error ?? '');
      if (n.health === 'sealed')
        return record(n.address, 'sealed', 'watched: demoted once it answers unsealed');
      if (n.health === 'uninitialized') return record(n.address, 'uninitialized');
      return settle(cluster, n.address, t, before.get(n.address), refused);
    }),
  );
}

/**
 * Watches nodes that were neither demoted nor answering, until each is demoted (or found a DR
 * secondary) or `untilMs` (epoch) passes, probing every `pollMs`. Returns each node's final record.
 */
export async function watchAndDemote(
  cluster: VaultClient,
  addresses: string[],
  options: DemoteTimeouts & { untilMs: number; pollMs: number; signal?: AbortSignal },
): Promise<DemoteRecord[]> {
  const open = new Set(addresses);
  const records = new Map<string, DemoteRecord>();
  while (open.size > 0 && Date.now() < options.untilMs) {
    if (options.signal?.aborted) throw options.signal.reason;
    await Promise.all(
      [...open].map(async (address) => {
        const p = await probeNode(cluster, address, options.probeTimeoutMs);
        if (p.health === 'no-answer' || p.health === 'sealed') return;
        if (p.health === 'uninitialized') {
          records.set(address, record(address, 'uninitialized', 'when it answered again'));
          open.delete(address);
          return;
        }
        const before = await statusOf(cluster, address, options.probeTimeoutMs).catch(() => undefined);
        if (!before) return;
        const refused = before.mode === 'primary' ? await demoteThrough(cluster, address, options) : null;
        const r = await settle(cluster, address, options, before, refused);
        records.set(address, {
          ...r,
          detail: r.detail ? `${r.detail}; when it answered again` : 'when it answered again',
        });
        if (r.outcome !== 'failed') open.delete(address);
      }),
    );
    if (open.size > 0) await sleep(options.pollMs);
  }
  for (const address of open)
    records.set(
      address,
      records.get(address) ??
        record(address, 'unreachable', 'not seen answering unsealed before the watch ended'),
    );
  return addresses.map((a) => records.get(a) as DemoteRecord);
}
