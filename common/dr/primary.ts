// Which cluster is primary, as a user's next `vaultops` command should see it. The configuration
// names each cluster once, by its own nodes' addresses, and those entries are NOT rewritten at a
// failover: the failback needs the old primary under its own name and addresses (it fences one
// and restores into the other), and a rewritten file would silently lose the operator's comments
// and layout. What changes is a pointer: the current-primary record the switch writes next to the
// snapshot store (file; a KV copy lives on the new primary). Resolution reads the configuration
// and that record: no record, the primary is the configured default cluster (vault_integration);
// a record, the cluster it names, reached at the addresses the configuration gives that name
// (else at those the worker recorded). `vaultops dr primary` prints it (and `--env` the VAULT_ADDR
// to export), so the next command, a script or a shell reaches the cluster that takes writes.
import { z } from 'zod';
import { DEFAULT_CLUSTER, type VaultopsConfig, vaultClusterConfigs } from '../config/schema.js';
import type { CurrentPrimaryRecord } from './failover.js';

export const currentPrimaryRecordSchema = z.object({
  cluster: z.string().min(1),
  previous: z.string(),
  since: z.string(),
  snapshotId: z.string(),
  workflowId: z.string(),
  addresses: z.array(z.string()),
});

/** The record file's text parsed; a record that does not parse is an error naming the file. */
export function parseCurrentPrimaryRecord(text: string, file: string): CurrentPrimaryRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON: it should be the current-primary record a failover wrote`);
  }
  const parsed = currentPrimaryRecordSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${file} is not a current-primary record (${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')})`,
    );
  return parsed.data;
}

export interface PrimaryResolution {
  cluster: string;
  /** The first is the one to try first (VAULT_ADDR). */
  addresses: string[];
  /** Whether a failover or failback record decided it, or the configuration alone. */
  decidedBy: 'record' | 'configuration';
  /** Where the addresses come from. */
  addressesFrom: 'configuration' | 'record';
  record: CurrentPrimaryRecord | null;
}

/** The primary: the record's cluster if there is a record, else the configured default cluster. */
export function resolvePrimary(
  config: Pick<VaultopsConfig, 'vault_integration' | 'vault_clusters'>,
  record: CurrentPrimaryRecord | null,
): PrimaryResolution {
  const configured = vaultClusterConfigs(config as VaultopsConfig);
  const cluster = record?.cluster ?? DEFAULT_CLUSTER;
  const entry = configured.get(cluster);
  if (entry)
    return {
      cluster,
      addresses: [entry.address, ...entry.ha_addresses],
      decidedBy: record ? 'record' : 'configuration',
      addressesFrom: 'configuration',
      record,
    };
  return {
    cluster,
    addresses: [...(record?.addresses ?? [])],
    decidedBy: 'record',
    addressesFrom: 'record',
    record,
  };
}
