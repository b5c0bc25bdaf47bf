// Preflight activities: one per observation, so the Temporal UI shows each step of the inspection
// and a step that fails (a token without read on sys/mounts, say) does not hide the others.
import type {
  HealthObservation,
  LeaderObservation,
  MountSummary,
  NamespaceObservation,
  PluginCatalog,
  SealObservation,
} from '../../common/preflight/report.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import {
  listAuthMethods,
  listSecretsEngines,
  probeNamespaces,
  readHealth,
  readLeader,
  readPluginCatalog,
  readSealStatus,
} from '../../vault/sys.js';
import { type ClusterClients, DEFAULT_CLUSTER, resolveClusters } from '../clusters.js';

export interface PreflightTarget {
  /** The configured cluster to inspect (vault_clusters); "default" is vault_integration. */
  cluster?: string | undefined;
  /** Namespace to inspect in; undefined means the client's configured namespace. */
  namespace?: string | undefined;
}

export interface PreflightDeps {
  /** The default cluster's client (the only one when `clusters` is not given). */
  vault: VaultClient;
  /** Every configured cluster's client by name; default: `vault` as "default". */
  clusters?: ClusterClients | undefined;
}

/** A permission-denied answer becomes null: the report says what could not be seen, and why. */
async function orNullIfDenied<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.PermissionDenied)) return null;
    throw err;
  }
}

export function createPreflightActivities(deps: PreflightDeps) {
  const clusters = resolveClusters(deps);
  const at = (target: PreflightTarget) => {
    const vault = clusters.get(target.cluster);
    return target.namespace === undefined ? vault : vault.withNamespace(target.namespace || undefined);
  };

  return {
    /** `cluster` is optional in the type: histories recorded before clusters had names lack it. */
    async describeTarget(
      target: PreflightTarget,
    ): Promise<{ cluster?: string; address: string; namespace: string | null }> {
      const vault = at(target);
      return {
        cluster: target.cluster ?? DEFAULT_CLUSTER,
        address: vault.address,
        namespace: vault.namespace ?? null,
      };
    },
    async readHealth(target: PreflightTarget): Promise<HealthObservation> {
      return readHealth(at(target));
    },
    async readSealStatus(target: PreflightTarget): Promise<SealObservation> {
      return readSealStatus(at(target));
    },
    async readLeader(target: PreflightTarget): Promise<LeaderObservation | null> {
      return orNullIfDenied(readLeader(at(target)));
    },
    async listSecretsEngines(target: PreflightTarget): Promise<MountSummary[] | null> {
      return orNullIfDenied(listSecretsEngines(at(target)));
    },
    async listAuthMethods(target: PreflightTarget): Promise<MountSummary[] | null> {
      return orNullIfDenied(listAuthMethods(at(target)));
    },
    async probeNamespaces(target: PreflightTarget): Promise<NamespaceObservation | null> {
      return orNullIfDenied(probeNamespaces(at(target)));
    },
    async readPluginCatalog(target: PreflightTarget): Promise<PluginCatalog | null> {
      return orNullIfDenied(readPluginCatalog(at(target)));
    },
  };
}

export type PreflightActivities = ReturnType<typeof createPreflightActivities>;
