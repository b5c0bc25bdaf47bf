// How far the standby's unseal has come, node by node (sys/seal-status: sealed, progress, t, n,
// seal type), and a wait for that to change. Key holders send their shares straight to the nodes
// (`vaultops dr unseal-share`); this only watches, so no share ever passes through the worker.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type NodeSealState,
  type SealProgress,
  sealProgressKey,
  sealStateOf,
} from '../../common/dr/failover.js';
import type { VaultClient } from '../../vault/client.js';
import { readSealStatus } from '../../vault/sys.js';

const PROBE_TIMEOUT_MS = 2500;

async function nodeSealState(cluster: VaultClient, address: string): Promise<NodeSealState> {
  const node = cluster.forNode(address, { timeoutMs: PROBE_TIMEOUT_MS });
  try {
    return sealStateOf(address, await readSealStatus(node));
  } catch {
    return { address, sealed: null, progress: 0, threshold: 0, shares: 0, type: null };
  } finally {
    await node.close().catch(() => undefined);
  }
}

export async function readSealProgress(name: string, cluster: VaultClient): Promise<SealProgress> {
  const nodes = await Promise.all(cluster.nodes.addresses.map((a) => nodeSealState(cluster, a)));
  return { cluster: name, nodes };
}

/**
 * Polls every `pollMs` until the progress differs from `knownKey` (sealProgressKey) or `maxWaitMs`
 * has passed; returns the progress then.
 */
export async function awaitSealChange(
  name: string,
  cluster: VaultClient,
  options: { knownKey: string; maxWaitMs: number; pollMs: number; signal?: AbortSignal },
): Promise<SealProgress> {
  const deadline = Date.now() + options.maxWaitMs;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    const progress = await readSealProgress(name, cluster);
    if (sealProgressKey(progress) !== options.knownKey || Date.now() >= deadline) return progress;
    await sleep(Math.min(options.pollMs, Math.max(0, deadline - Date.now())));
  }
}
