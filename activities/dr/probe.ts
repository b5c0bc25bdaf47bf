// Health probes of every node of a cluster, each node alone (no failover to another node, no
// retry), each within a short timeout: a node that does not answer in time is `no-answer`, with the
// reason. A probe never fails as a whole: what it saw is the answer, and common/dr/detect.ts
// decides what the answers mean.
import type { NodeHealth, NodeProbe, ProbeRound } from '../../common/dr/detect.js';
import type { VaultClient } from '../../vault/client.js';
import { readHealth } from '../../vault/sys.js';

/** One node's sys/health, answered within `timeoutMs` or recorded as no answer. */
export async function probeNode(
  cluster: VaultClient,
  address: string,
  timeoutMs: number,
): Promise<NodeProbe> {
  const node = cluster.forNode(address, { timeoutMs });
  const started = Date.now();
  try {
    const h = await readHealth(node);
    const health: NodeHealth = !h.initialized
      ? 'uninitialized'
      : h.sealed
        ? 'sealed'
        : h.standby
          ? 'standby'
          : 'active';
    return { address, health, latencyMs: Date.now() - started };
  } catch (err) {
    return { address, health: 'no-answer', latencyMs: null, error: shortReason(err, timeoutMs) };
  } finally {
    await node.close().catch(() => undefined);
  }
}

/** Every configured node of the cluster, probed at once. */
export async function probeCluster(cluster: VaultClient, timeoutMs: number): Promise<ProbeRound> {
  const at = new Date().toISOString();
  const nodes = await Promise.all(cluster.nodes.addresses.map((a) => probeNode(cluster, a, timeoutMs)));
  return { at, nodes };
}

/** The cause in a few words: refused, timed out, reset; never a body or header. */
function shortReason(err: unknown, timeoutMs: number): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(text)) return 'connection refused';
  if (/timeout|timed out|UND_ERR_HEADERS_TIMEOUT|UND_ERR_CONNECT_TIMEOUT/i.test(text))
    return `no answer within ${timeoutMs} ms`;
  if (/ECONNRESET|socket/i.test(text)) return 'connection reset';
  return text.slice(0, 120);
}
