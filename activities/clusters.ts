// One logged-in Vault client per configured cluster, looked up by the name an activity's input
// gives ("default" when it gives none: the cluster in vault_integration).
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_CLUSTER } from '../common/config/schema.js';
import type { VaultClient } from '../vault/client.js';

export { DEFAULT_CLUSTER };

/** The failure type of a name no cluster has; not retried (the configuration will not change). */
export const UNKNOWN_CLUSTER = 'UnknownCluster';

export interface ClusterClients {
  /** The cluster's client; an unknown name throws a non-retryable UnknownCluster failure. */
  get(name?: string): VaultClient;
  /** The configured names, "default" first. */
  names(): string[];
}

/** Clients by cluster name: a Map from connectVaultClusters, or an object in tests. */
export function clusterClients(
  clients: ReadonlyMap<string, VaultClient> | Record<string, VaultClient>,
): ClusterClients {
  const byName = clients instanceof Map ? new Map(clients) : new Map(Object.entries(clients));
  const names = () =>
    [...byName.keys()].sort((a, b) => Number(b === DEFAULT_CLUSTER) - Number(a === DEFAULT_CLUSTER));
  return {
    get(name = DEFAULT_CLUSTER) {
      const client = byName.get(name);
      if (client) return client;
      const known = names();
      throw ApplicationFailure.create({
        type: UNKNOWN_CLUSTER,
        nonRetryable: true,
        message:
          `no Vault cluster named "${name}" is configured on this worker; known clusters: ${known.length ? known.join(', ') : '(none)'}. ` +
          `Name one of them, or add "${name}" under vault_clusters: in the worker's configuration and restart it`,
        details: [{ cluster: name, known }],
      });
    },
    names,
  };
}

/** What every activity factory is made from: the default cluster's client, and any others by name. */
export interface ClusterDeps {
  vault: VaultClient;
  clusters?: ClusterClients | undefined;
}

/** An activity factory's clusters: the given ones, or just `vault` as the default cluster. */
export function resolveClusters(deps: ClusterDeps): ClusterClients {
  return deps.clusters ?? clusterClients({ [DEFAULT_CLUSTER]: deps.vault });
}
