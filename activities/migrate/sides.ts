// The clients a migrate activity works with: the source namespace, the target namespace and the
// target's root namespace (where the ledger and the cutover record live). Each names its cluster
// in a VaultSealed failure, so that the workflow queues the step with the guard of the cluster that
// is sealed (a migration spans two), not with the target's, which would release it at once.
import { ApplicationFailure } from '@temporalio/common';
import type { MigrateContext, StepReport, TargetMapping } from '../../common/migrate/run.js';
import { VaultClient } from '../../vault/client.js';
import { ifFound, isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { type ClusterClients, DEFAULT_CLUSTER } from '../clusters.js';
import { type Ledger, ledgerAt } from './ledger.js';

export interface Sides {
  source: VaultClient;
  target: VaultClient;
  targetRoot: VaultClient;
  ledger: Ledger;
}

/** A sealed failure from `cluster`, saying so in its message and in its details' `cluster`. */
function sealedAt(cluster: string, err: unknown): unknown {
  if (!isVaultFailure(err, VaultErrorType.Sealed)) return err;
  const detail = err.details?.[0];
  if ((detail as { cluster?: unknown } | undefined)?.cluster !== undefined) return err;
  return ApplicationFailure.create({
    type: err.type ?? VaultErrorType.Sealed,
    message: `sealed: cluster ${cluster}: ${err.message}`,
    nonRetryable: err.nonRetryable ?? false,
    details: [{ ...(typeof detail === 'object' ? detail : {}), cluster }],
  });
}

/**
 * `vault`, whose calls name `cluster` in a VaultSealed failure; so do the clients derived from it
 * (withNamespace, ...). Every method runs on the client itself, so its private state is intact.
 */
export function namingSealed(vault: VaultClient, cluster = DEFAULT_CLUSTER): VaultClient {
  return new Proxy(vault, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const out: unknown = value.apply(target, args);
        if (out instanceof VaultClient) return namingSealed(out, cluster);
        if (out instanceof Promise)
          return out.catch((err: unknown) => {
            throw sealedAt(cluster, err);
          });
        return out;
      };
    },
  });
}

/** A cluster's client (by the name the context gives) whose sealed failures name that cluster. */
export const clusterOf = (clusters: ClusterClients, name: string | undefined) =>
  namingSealed(clusters.get(name), name ?? DEFAULT_CLUSTER);

export function sidesOf(clusters: ClusterClients, ctx: MigrateContext): Sides {
  const targetCluster = clusterOf(clusters, ctx.targetCluster);
  const targetRoot = targetCluster.withNamespace('');
  return {
    source: clusterOf(clusters, ctx.sourceCluster).withNamespace(ctx.mapping.from),
    target: targetCluster.withNamespace(ctx.mapping.to),
    targetRoot,
    ledger: ledgerAt(
      clusterOf(clusters, ctx.ledger.cluster ?? ctx.targetCluster).withNamespace(''),
      ctx.ledger,
    ),
  };
}

/** A step that copies one kind of thing from the source to the target, ledgering its creations. */
export type CopyStep = (
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
) => Promise<StepReport>;

/** The target holds something of this name with other content: the migration stops (and rolls back). */
export const targetConflict = (message: string) =>
  ApplicationFailure.create({ type: 'MigrationConflict', nonRetryable: true, message });

/** A LIST's keys; Vault's 404 for an empty list is none. */
export async function listOrNone(vault: VaultClient, path: string): Promise<string[]> {
  const body = (await ifFound(vault.list(path), undefined)) as { data?: { keys?: string[] } } | undefined;
  return body?.data?.keys ?? [];
}

/** A read's data, or undefined when there is none. */
export async function readOrNone(
  vault: VaultClient,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  const body = (await ifFound(vault.read(path), null)) as { data?: Record<string, unknown> } | null;
  return body === null ? undefined : (body.data ?? {});
}

/** A new StepReport. */
export const newReport = (): StepReport => ({ created: [], skipped: [], caveats: [] });
