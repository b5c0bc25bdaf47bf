// The clients a migrate activity works with: the source namespace, the target namespace and the
// target's root namespace (where the ledger and the cutover record live).
import { ApplicationFailure } from '@temporalio/common';
import type { MigrateContext, StepReport } from '../../common/migrate-run.js';
import type { ClusterClients } from '../clusters.js';
import type { VaultClient } from '../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../vault/errors.js';
import { type Ledger, ledgerAt } from './ledger.js';

export interface Sides {
  source: VaultClient;
  target: VaultClient;
  targetRoot: VaultClient;
  ledger: Ledger;
}

export function sidesOf(clusters: ClusterClients, ctx: MigrateContext): Sides {
  const targetCluster = clusters.get(ctx.targetCluster);
  const targetRoot = targetCluster.withNamespace('');
  return {
    source: clusters.get(ctx.sourceCluster).withNamespace(ctx.mapping.from),
    target: targetCluster.withNamespace(ctx.mapping.to),
    targetRoot,
    ledger: ledgerAt(clusters.get(ctx.ledger.cluster ?? ctx.targetCluster).withNamespace(''), ctx.ledger),
  };
}

/** The target holds something of this name with other content: the migration stops (and rolls back). */
export const targetConflict = (message: string) =>
  ApplicationFailure.create({ type: 'MigrationConflict', nonRetryable: true, message });

/** A LIST's keys; Vault's 404 for an empty list is none. */
export async function listOrNone(vault: VaultClient, path: string): Promise<string[]> {
  try {
    const body = (await vault.list(path)) as { data?: { keys?: string[] } };
    return body.data?.keys ?? [];
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return [];
    throw err;
  }
}

/** A read's data, or undefined when there is none. */
export async function readOrNone(
  vault: VaultClient,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return ((await vault.read(path)) as { data?: Record<string, unknown> }).data ?? {};
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return undefined;
    throw err;
  }
}

/** A new StepReport. */
export const newReport = (): StepReport => ({ created: [], skipped: [], caveats: [] });
