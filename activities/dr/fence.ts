// Fencing the old primary so that two clusters never take writes at once: every node that still
// answers is sealed with the primary's own token, each recorded (common/dr/failover.ts). Vault
// refuses to seal a standby ("cannot seal when in standby mode"), and sealing the active node is
// itself a step-down that does not come back, so the nodes are sealed one at a time as each
// becomes active; no separate sys/step-down is sent before a seal (it would hand leadership to a
// standby we would then have to chase). Only where the token may not seal is the active node
// stepped down, and recorded as NOT fenced. Nodes that do not answer are watched: one that
// comes back (a partition heals, a SIGSTOPped process resumes) is sealed as soon as it answers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FenceRecord } from '../../common/dr/failover.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { seal, stepDown } from '../../vault/sys.js';
import { probeCluster, probeNode } from './probe.js';

export interface FenceTimeouts {
  /** For sys/health (default 2.5 s). */
  probeTimeoutMs: number;
  /** For sys/seal, which waits for requests in flight (default 15 s). */
  sealTimeoutMs: number;
}

const record = (address: string, outcome: FenceRecord['outcome'], detail = ''): FenceRecord => ({
  address,
  outcome,
  detail,
  at: new Date().toISOString(),
});

/** Seals one active node; a lost reply is settled by asking the node whether it is sealed. */
export async function sealNode(
  cluster: VaultClient,
  address: string,
  t: FenceTimeouts,
): Promise<FenceRecord> {
  const node = cluster.forNode(address, { timeoutMs: t.sealTimeoutMs });
  try {
    await seal(node);
    return record(address, 'sealed');
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.PermissionDenied)) {
      const stepped = await stepDown(node).then(
        () => 'stepped down only',
        (e: unknown) => `step-down failed too (${e instanceof Error ? e.message.slice(0, 80) : e})`,
      );
      return record(
        address,
        'stepped-down',
        `the token may not seal (it needs sudo on sys/seal); ${stepped}: NOT fenced`,
      );
    }
    const after = await probeNode(cluster, address, t.probeTimeoutMs);
    if (after.health === 'sealed') return record(address, 'sealed');
    if (after.health === 'standby')
      return record(address, 'standby-unsealed', 'lost leadership before the seal; sealed once active again');
    return record(address, 'failed', err instanceof Error ? err.message.slice(0, 160) : String(err));
  } finally {
    await node.close().catch(() => undefined);
  }
}

/**
 * One fencing of every configured node: seal the active one, look again (a standby may have taken
 * over), until no answering node is left unsealed or no standby takes over any more.
 */
export async function fenceCluster(
  cluster: VaultClient,
  t: FenceTimeouts,
  signal?: AbortSignal,
): Promise<FenceRecord[]> {
  const records = new Map<string, FenceRecord>();
  const passes = cluster.nodes.addresses.length + 2;
  for (let pass = 0; pass < passes; pass++) {
    if (signal?.aborted) throw signal.reason;
    const round = await probeCluster(cluster, t.probeTimeoutMs);
    for (const n of round.nodes) {
      const before = records.get(n.address);
      if (n.health === 'no-answer') records.set(n.address, record(n.address, 'unreachable', n.error));
      else if (n.health === 'uninitialized') records.set(n.address, record(n.address, 'uninitialized'));
      else if (n.health === 'sealed') {
        if (before?.outcome !== 'sealed') records.set(n.address, record(n.address, 'already-sealed'));
      } else if (n.health === 'standby')
        records.set(
          n.address,
          record(
            n.address,
            'standby-unsealed',
            'a standby cannot be sealed through the API; sealed once active',
          ),
        );
      else records.set(n.address, await sealNode(cluster, n.address, t));
    }
    const waiting = [...records.values()].some((r) => r.outcome === 'standby-unsealed');
    if (!waiting) break;
    await sleep(1500); // a standby may be elected now that the active node is sealed
  }
  return cluster.nodes.addresses.map((a) => records.get(a) ?? record(a, 'failed', 'not probed'));
}

/**
 * Watches nodes that were not fenced (unreachable, or an unsealed standby) until each is fenced or
 * `untilMs` (epoch) passes, probing every `pollMs` and sealing a node the moment it answers as
 * active. Returns the final record of each watched node.
 */
export async function watchAndFence(
  cluster: VaultClient,
  addresses: string[],
  options: FenceTimeouts & {
    untilMs: number;
    pollMs: number;
    signal?: AbortSignal;
    beat?: (open: string[]) => void;
  },
): Promise<FenceRecord[]> {
  const open = new Set(addresses);
  const records = new Map<string, FenceRecord>();
  while (open.size > 0 && Date.now() < options.untilMs) {
    if (options.signal?.aborted) throw options.signal.reason;
    await Promise.all(
      [...open].map(async (address) => {
        const p = await probeNode(cluster, address, options.probeTimeoutMs);
        if (p.health === 'no-answer' || p.health === 'standby') return;
        const r =
          p.health === 'active'
            ? await sealNode(cluster, address, options)
            : record(
                address,
                p.health === 'sealed' ? 'already-sealed' : 'uninitialized',
                'when it answered again',
              );
        records.set(address, r);
        if (r.outcome !== 'failed' && r.outcome !== 'standby-unsealed') open.delete(address);
      }),
    );
    if (open.size > 0) await sleep(options.pollMs);
  }
  for (const address of open)
    records.set(
      address,
      record(address, 'unreachable', `not seen answering as active before the fence watch ended`),
    );
  return addresses.map((a) => records.get(a) as FenceRecord);
}
