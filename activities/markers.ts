// Marker secrets: small KV writes whose count and order can be checked afterwards. The seal-aware
// example workflow writes them; the seal and worker-kill tests count them. Written exactly once:
// check-and-set 0 refuses a second write, and an earlier landing of our own is recognised.

import type { VaultClient } from '../vault/client.js';
import { writeSecret } from '../vault/kv.js';
import { type ClusterClients, resolveClusters } from './clusters.js';

export interface MarkerInput {
  mount: string;
  path: string;
  /** What the marker says (a step name, a run id): never a secret. */
  value: string;
  /** The configured cluster to write to; default "default" (vault_integration). */
  cluster?: string | undefined;
}

export function createMarkerActivities(deps: { vault: VaultClient; clusters?: ClusterClients | undefined }) {
  const clusters = resolveClusters(deps);
  return {
    async writeMarker(input: MarkerInput): Promise<{ version: number }> {
      const vault = clusters.get(input.cluster);
      const written = await writeSecret(vault, input.mount, input.path, { marker: input.value }, { cas: 0 });
      return { version: written.version };
    },
  };
}

export type MarkerActivities = ReturnType<typeof createMarkerActivities>;
