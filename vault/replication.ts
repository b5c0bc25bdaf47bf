// sys/replication/dr/: Vault Enterprise disaster-recovery replication. Request and response shapes
// as the API documentation gives them:
//   https://developer.hashicorp.com/vault/api-docs/system/replication/replication-dr
//   https://developer.hashicorp.com/vault/docs/enterprise/replication/disaster-recovery/operation-token
// The endpoints on a DR SECONDARY (promote, update-primary) take no Vault token: a DR secondary
// honours none of its own; the DR operation token goes in the body as `dr_operation_token`. So
// those calls send no X-Vault-Token at all. The primary's endpoints (demote, secondary-token) take
// the cluster's ordinary token. The status is unauthenticated. Tokens given here are never echoed
// into an error: the client's messages carry the method, path and Vault's own reason only.
import { z } from 'zod';
import type { DrReplicationMode, DrReplicationStatus } from '../common/dr/replication.js';
import type { VaultClient } from './client.js';
import { parseResponse } from './response.js';

/** Replication is cluster-wide: answered in the root namespace only. */
const ROOT = { namespace: '' };

const str = z
  .string()
  .nullish()
  .transform((v) => (v ? v : null));

const statusFields = z.object({
  mode: z.string(),
  state: str,
  cluster_id: str,
  known_secondaries: z.array(z.string()).nullish(),
  primaries: z
    .array(
      z.object({
        api_address: str,
        cluster_address: str,
        connection_status: str,
      }),
    )
    .nullish(),
  primary_cluster_addr: str,
});

// Current releases answer inside `data`; old ones repeated the fields at the top level too.
const statusSchema = z.union([z.object({ data: statusFields }).transform((b) => b.data), statusFields]);

function normaliseMode(mode: string): DrReplicationMode {
  if (mode === 'disabled') return 'disabled';
  if (/(^|-)primary$/.test(mode)) return 'primary';
  if (/(^|-)secondary$/.test(mode)) return 'secondary';
  return 'unknown';
}

/** GET sys/replication/dr/status, sent without a token (the endpoint is unauthenticated). */
export async function readDrStatus(vault: VaultClient): Promise<DrReplicationStatus> {
  const s = parseResponse(
    statusSchema,
    await vault.read('sys/replication/dr/status', { ...ROOT, token: null }),
    'sys/replication/dr/status',
  );
  return {
    mode: normaliseMode(s.mode),
    rawMode: s.mode,
    state: s.state,
    clusterId: s.cluster_id,
    knownSecondaries: s.known_secondaries ?? [],
    primaries: (s.primaries ?? []).map((p) => ({
      apiAddress: p.api_address,
      clusterAddress: p.cluster_address,
      connectionStatus: p.connection_status,
    })),
    primaryClusterAddr: s.primary_cluster_addr,
  };
}

/**
 * POST sys/replication/dr/primary/demote with the cluster's token. Not idempotent (a second demote
 * is refused): a lost reply raises VaultOutcomeUnknown, which the caller settles with the status.
 */
export async function demoteDrPrimary(vault: VaultClient): Promise<void> {
  await vault.write('sys/replication/dr/primary/demote', {}, ROOT);
}

export interface PromoteOptions {
  drOperationToken: string;
  /** The cluster address the new primary gives its secondaries (behind a load balancer, say). */
  primaryClusterAddr?: string | undefined;
  /** Promote even where the server's own safety checks object (newer releases). */
  force?: boolean | undefined;
}

/** POST sys/replication/dr/secondary/promote: no Vault token, the DR operation token in the body. */
export async function promoteDrSecondary(vault: VaultClient, o: PromoteOptions): Promise<void> {
  await vault.write(
    'sys/replication/dr/secondary/promote',
    {
      dr_operation_token: o.drOperationToken,
      ...(o.primaryClusterAddr ? { primary_cluster_addr: o.primaryClusterAddr } : {}),
      ...(o.force ? { force: true } : {}),
    },
    { ...ROOT, token: null },
  );
}

export interface UpdatePrimaryOptions {
  drOperationToken: string;
  /** The secondary activation token from the new primary (secondary-token's wrap_info.token). */
  activationToken: string;
  /** Overrides the primary API address embedded in the activation token. */
  primaryApiAddr?: string | undefined;
  caFile?: string | undefined;
  caPath?: string | undefined;
}

/** POST sys/replication/dr/secondary/update-primary: points a DR secondary at another primary. */
export async function updateDrPrimary(vault: VaultClient, o: UpdatePrimaryOptions): Promise<void> {
  await vault.write(
    'sys/replication/dr/secondary/update-primary',
    {
      dr_operation_token: o.drOperationToken,
      token: o.activationToken,
      ...(o.primaryApiAddr ? { primary_api_addr: o.primaryApiAddr } : {}),
      ...(o.caFile ? { ca_file: o.caFile } : {}),
      ...(o.caPath ? { ca_path: o.caPath } : {}),
    },
    { ...ROOT, token: null },
  );
}

const secondaryTokenSchema = z.object({
  wrap_info: z.object({ token: z.string().min(1), ttl: z.number().optional() }),
});

/**
 * POST sys/replication/dr/primary/secondary-token (needs sudo): a secondary activation token for
 * the secondary named `id`. Returned to the calling activity only, never to a workflow.
 */
export async function createDrSecondaryToken(
  vault: VaultClient,
  o: { id: string; ttl?: string },
): Promise<string> {
  const body = await vault.write(
    'sys/replication/dr/primary/secondary-token',
    { id: o.id, ...(o.ttl ? { ttl: o.ttl } : {}) },
    ROOT,
  );
  return parseResponse(secondaryTokenSchema, body, 'sys/replication/dr/primary/secondary-token').wrap_info
    .token;
}
