// The one node a restore may go to: the cluster's active node, found by asking every node itself
// (sys/health, each node alone) right before the upload. A client's idea of the leader can be
// stale, and a standby does not always pass the upload on: OpenBao's read-enabled standby takes a
// snapshot-force itself, answers 204, then fails to apply it ("node is not the leader") and seals,
// while the other nodes carry on with the old data. Seen after the old primary's nodes restart for a
// failback: the client still names the pre-crash leader, now a standby. So: exactly one node must
// say it is active (and sys/leader on it must say it is itself), else wait for the election to end.
import { setTimeout as sleep } from 'node:timers/promises';
import type { VaultClient } from '../../vault/client.js';
import { VaultErrorType, vaultFailure } from '../../vault/errors.js';
import { readHealth, readLeader } from '../../vault/sys.js';

const PROBE_TIMEOUT_MS = 5000;

type Seen = { address: string; state: 'active' | 'standby' | 'sealed' | 'uninitialised' | 'no-answer' };

async function stateOf(cluster: VaultClient, address: string): Promise<Seen> {
  const node = cluster.forNode(address, { timeoutMs: PROBE_TIMEOUT_MS });
  try {
    const h = await readHealth(node);
    if (!h.initialized) return { address, state: 'uninitialised' };
    if (h.sealed) return { address, state: 'sealed' };
    if (h.standby) return { address, state: 'standby' };
    // Active by its own word; sys/leader must agree, or it is a node that has not noticed it lost.
    return { address, state: (await readLeader(node)).isSelf === false ? 'standby' : 'active' };
  } catch {
    return { address, state: 'no-answer' };
  } finally {
    await node.close().catch(() => undefined);
  }
}

/** The address of the cluster's single active node; waits up to `withinMs` for one. */
export async function activeNode(
  cluster: VaultClient,
  name: string,
  options: { withinMs: number; signal?: AbortSignal | undefined },
): Promise<string> {
  // One configured address (one node, or a load balancer in front of several): nothing to choose.
  if (cluster.nodes.addresses.length < 2) return cluster.address;
  const deadline = Date.now() + options.withinMs;
  let seen: Seen[] = [];
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    seen = await Promise.all(cluster.nodes.addresses.map((a) => stateOf(cluster, a)));
    const active = seen.filter((s) => s.state === 'active');
    if (active.length === 1) return (active[0] as Seen).address;
    if (seen.every((s) => s.state === 'sealed'))
      // Sealed is for the key holders (the seal-aware step queues on it), not for waiting here.
      throw vaultFailure(VaultErrorType.Sealed, `${name} is sealed: every node says so`, {
        method: 'GET',
        path: 'sys/health',
        status: 503,
        namespace: null,
      });
    if (Date.now() >= deadline) break;
    await sleep(250);
  }
  throw vaultFailure(
    VaultErrorType.Unavailable,
    `${name} has no single active node to restore through (${seen.map((s) => `${s.address} ${s.state}`).join('; ')})`,
    { method: 'GET', path: 'sys/health', status: null, namespace: null },
  );
}
