// sys/ endpoints: health, seal status, leader, mounts, auth methods, namespaces.
// Each call checks the response shape with zod and returns the domain type from common/.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type {
  HealthObservation,
  LeaderObservation,
  MountSummary,
  NamespaceObservation,
  PluginCatalog,
  SealObservation,
} from '../common/preflight/report.js';
import type { VaultClient } from './client.js';
import { isVaultFailure, VaultErrorType } from './errors.js';
import { segment, vaultPath } from './paths.js';
import { parseResponse } from './response.js';

/** Health, seal status and leader describe the cluster; they are answered in the root namespace only. */
const CLUSTER_WIDE = { namespace: '' };

const nullableString = z
  .string()
  .nullish()
  .transform((v) => (v === '' || v === undefined ? null : v));

const healthSchema = z.object({
  initialized: z.boolean(),
  sealed: z.boolean(),
  standby: z.boolean(),
  performance_standby: z.boolean().optional(),
  version: z.string(),
  cluster_name: nullableString,
  cluster_id: nullableString,
  replication_dr_mode: nullableString,
  replication_performance_mode: nullableString,
  server_time_utc: z.number().nullish(),
  enterprise: z.boolean().optional(),
});

/**
 * sys/health with every status mapped to 200, so a standby, sealed or uninitialized node reports
 * its state instead of failing the call.
 */
export async function readHealth(vault: VaultClient): Promise<HealthObservation> {
  const body = await vault.read(
    'sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200&drsecondarycode=200&performancestandbycode=200',
    CLUSTER_WIDE,
  );
  const h = parseResponse(healthSchema, body, 'sys/health');
  return {
    initialized: h.initialized,
    sealed: h.sealed,
    standby: h.standby,
    performanceStandby: h.performance_standby ?? false,
    version: h.version,
    clusterName: h.cluster_name,
    clusterId: h.cluster_id,
    replicationDrMode: h.replication_dr_mode,
    replicationPerformanceMode: h.replication_performance_mode,
    serverTimeUtc: h.server_time_utc ?? null,
    enterpriseField: h.enterprise ?? null,
  };
}

const sealStatusSchema = z.object({
  type: z.string(),
  sealed: z.boolean(),
  t: z.number().int(),
  n: z.number().int(),
  progress: z.number().int(),
  storage_type: nullableString,
  build_date: nullableString,
  commit_date: nullableString,
});

export async function readSealStatus(vault: VaultClient): Promise<SealObservation> {
  const s = parseResponse(
    sealStatusSchema,
    await vault.read('sys/seal-status', CLUSTER_WIDE),
    'sys/seal-status',
  );
  return {
    type: s.type,
    sealed: s.sealed,
    threshold: s.t,
    shares: s.n,
    progress: s.progress,
    storageType: s.storage_type,
    buildDate: s.build_date,
    commitDate: s.commit_date,
  };
}

const leaderSchema = z.object({
  ha_enabled: z.boolean(),
  is_self: z.boolean().optional(),
  leader_address: nullableString,
  leader_cluster_address: nullableString,
  raft_committed_index: z.number().optional(),
});

export async function readLeader(vault: VaultClient): Promise<LeaderObservation> {
  const l = parseResponse(leaderSchema, await vault.read('sys/leader', CLUSTER_WIDE), 'sys/leader');
  return {
    haEnabled: l.ha_enabled,
    isSelf: l.is_self ?? null,
    leaderAddress: l.leader_address,
    leaderClusterAddress: l.leader_cluster_address,
    raftCommittedIndex: l.raft_committed_index ?? null,
  };
}

const mountSchema = z.object({
  type: z.string(),
  description: z.string().default(''),
  local: z.boolean().default(false),
  seal_wrap: z.boolean().default(false),
  options: z.record(z.string(), z.string()).nullish(),
  running_plugin_version: z.string().nullish(),
});

// Current servers wrap the table in `data`; older ones also repeat it at the top level.
const mountTableSchema = z.object({ data: z.record(z.string(), mountSchema) }).transform((b) => b.data);

function summarizeMounts(table: Record<string, z.output<typeof mountSchema>>): MountSummary[] {
  return Object.entries(table)
    .map(([path, m]) => ({
      path,
      type: m.type,
      description: m.description,
      kvVersion: m.type === 'kv' ? (m.options?.version ?? '1') : null,
      local: m.local,
      sealWrap: m.seal_wrap,
      runningPluginVersion: m.running_plugin_version || null,
    }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

export async function listSecretsEngines(vault: VaultClient): Promise<MountSummary[]> {
  return summarizeMounts(parseResponse(mountTableSchema, await vault.read('sys/mounts'), 'sys/mounts'));
}

const mountTuneSchema = z.object({
  data: z.object({ default_lease_ttl: z.number().optional(), max_lease_ttl: z.number().optional() }),
});

/** A secrets engine's lease TTLs in seconds, as its tune says (0 where it does not say). */
export async function readMountTune(
  vault: VaultClient,
  mount: string,
): Promise<{ defaultLeaseTtlSeconds: number; maxLeaseTtlSeconds: number }> {
  const where = vaultPath`sys/mounts/${mount}/tune`;
  const { data } = parseResponse(mountTuneSchema, await vault.read(where), where);
  return { defaultLeaseTtlSeconds: data.default_lease_ttl ?? 0, maxLeaseTtlSeconds: data.max_lease_ttl ?? 0 };
}

/** Sets a secrets engine's maximum lease TTL (a duration such as "87600h"); the same value twice is one. */
export async function tuneMaxLeaseTtl(vault: VaultClient, mount: string, maxLeaseTtl: string): Promise<void> {
  await vault.put(vaultPath`sys/mounts/${mount}/tune`, { max_lease_ttl: maxLeaseTtl });
}

/** Enables a secrets engine of `type` at `mount`. Vault refuses a second enable ("path is already in use"). */
export async function enableSecretsEngine(vault: VaultClient, mount: string, type: string): Promise<void> {
  await vault.write(vaultPath`sys/mounts/${mount}`, { type });
}

export async function listAuthMethods(vault: VaultClient): Promise<MountSummary[]> {
  return summarizeMounts(parseResponse(mountTableSchema, await vault.read('sys/auth'), 'sys/auth'));
}

const namespaceListSchema = z.object({ data: z.object({ keys: z.array(z.string()) }) });

/**
 * Namespaces exist on Vault Enterprise/HCP and OpenBao. Where they exist, LIST sys/namespaces
 * answers 200 with keys, or 404 with an empty error list when there are none. Vault Community
 * answers 404 with a reason ("enterprise-only feature"), and silently ignores X-Vault-Namespace,
 * so this probe is the only way to know a namespace is honoured.
 */
export async function probeNamespaces(vault: VaultClient): Promise<NamespaceObservation> {
  try {
    const body = parseResponse(namespaceListSchema, await vault.list('sys/namespaces'), 'sys/namespaces');
    return { supported: true, children: body.data.keys, evidence: 'LIST sys/namespaces answered with keys' };
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound) || isVaultFailure(err, VaultErrorType.InvalidRequest)) {
      const reason = err.message.replace(/^LIST sys\/namespaces: /, '');
      return reason === 'HTTP 404'
        ? { supported: true, children: [], evidence: 'LIST sys/namespaces: none yet (404 with no error)' }
        : { supported: false, children: [], evidence: `LIST sys/namespaces: ${reason}` };
    }
    throw err;
  }
}

// --- plugin catalog -----------------------------------------------------------------------------

const catalogSchema = z.object({
  data: z.object({
    auth: z.array(z.string()).default([]),
    database: z.array(z.string()).default([]),
    secret: z.array(z.string()).default([]),
  }),
});

/** Which auth methods, database plugins and secrets engines this server can enable. */
export async function readPluginCatalog(vault: VaultClient): Promise<PluginCatalog> {
  const { data } = parseResponse(
    catalogSchema,
    await vault.read('sys/plugins/catalog', CLUSTER_WIDE),
    'sys/plugins/catalog',
  );
  return {
    auth: [...data.auth].sort(),
    database: [...data.database].sort(),
    secret: [...data.secret].sort(),
  };
}

// --- seal ---------------------------------------------------------------------------------------

/** Seals the node; every Vault-touching call then fails with VaultSealed until it is unsealed. */
export async function seal(vault: VaultClient): Promise<void> {
  await vault.write('sys/seal', {}, CLUSTER_WIDE);
}

/** Gives one unseal key share; the returned status says how far unsealing has come. */
export async function unseal(vault: VaultClient, keyShare: string): Promise<SealObservation> {
  await vault.write('sys/unseal', { key: keyShare }, CLUSTER_WIDE);
  return readSealStatus(vault);
}

// --- policies and capabilities ------------------------------------------------------------------

export async function writePolicy(vault: VaultClient, name: string, hcl: string): Promise<void> {
  await vault.put(vaultPath`sys/policies/acl/${segment(name)}`, { policy: hcl });
}

const policySchema = z.object({ data: z.object({ name: z.string(), policy: z.string() }) });

export async function readPolicy(vault: VaultClient, name: string): Promise<string> {
  return parseResponse(
    policySchema,
    await vault.read(vaultPath`sys/policies/acl/${segment(name)}`),
    vaultPath`sys/policies/acl/${segment(name)}`,
  ).data.policy;
}

export async function listPolicies(vault: VaultClient): Promise<string[]> {
  const body = await vault.list('sys/policies/acl');
  return parseResponse(z.object({ data: z.object({ keys: z.array(z.string()) }) }), body, 'sys/policies/acl')
    .data.keys;
}

export async function deletePolicy(vault: VaultClient, name: string): Promise<void> {
  await vault.delete(vaultPath`sys/policies/acl/${segment(name)}`);
}

/** What a token may do on each path (sys/capabilities for another token, -self for ours). */
export async function capabilities(
  vault: VaultClient,
  paths: string[],
  token?: string,
): Promise<Record<string, string[]>> {
  const body = (await vault.put(token ? 'sys/capabilities' : 'sys/capabilities-self', {
    paths,
    ...(token ? { token } : {}),
  })) as Record<string, unknown>;
  const data = (body.data ?? body) as Record<string, unknown>;
  return Object.fromEntries(paths.map((p) => [p, (data[p] as string[] | undefined) ?? []]));
}

// --- audit devices ------------------------------------------------------------------------------

export async function enableFileAudit(vault: VaultClient, path: string, filePath: string): Promise<void> {
  await vault.write(
    vaultPath`sys/audit/${segment(path)}`,
    { type: 'file', options: { file_path: filePath } },
    CLUSTER_WIDE,
  );
}

export async function listAuditDevices(vault: VaultClient): Promise<{ path: string; type: string }[]> {
  const body = (await vault.read('sys/audit', CLUSTER_WIDE)) as { data?: Record<string, { type: string }> };
  return Object.entries(body.data ?? {}).map(([path, d]) => ({ path, type: d.type }));
}

export async function disableAudit(vault: VaultClient, path: string): Promise<void> {
  await vault.delete(vaultPath`sys/audit/${segment(path)}`, CLUSTER_WIDE);
}

// --- raft snapshots -----------------------------------------------------------------------------

/** A point-in-time snapshot of the whole cluster (integrated storage only), as bytes. */
export async function saveRaftSnapshot(vault: VaultClient): Promise<Buffer> {
  return (await vault.requestRaw('sys/storage/raft/snapshot', { namespace: '' })).body;
}

/** Restores a snapshot taken from this cluster; data written since is gone. */
export async function restoreRaftSnapshot(vault: VaultClient, snapshot: Buffer): Promise<void> {
  // Restoring the same bytes twice leaves the same state: safe to resend after a lost reply.
  await vault.requestRaw('sys/storage/raft/snapshot', { namespace: '', upload: snapshot, idempotent: true });
}

// --- quotas -------------------------------------------------------------------------------------

export async function writeRateLimitQuota(
  vault: VaultClient,
  name: string,
  quota: { path: string; ratePerSecond: number; interval?: string; blockInterval?: string },
): Promise<void> {
  await vault.put(
    vaultPath`sys/quotas/rate-limit/${segment(name)}`,
    {
      path: quota.path,
      rate: quota.ratePerSecond,
      ...(quota.interval ? { interval: quota.interval } : {}),
      ...(quota.blockInterval ? { block_interval: quota.blockInterval } : {}),
    },
    CLUSTER_WIDE,
  );
}

export async function deleteRateLimitQuota(vault: VaultClient, name: string): Promise<void> {
  await vault.delete(vaultPath`sys/quotas/rate-limit/${segment(name)}`, CLUSTER_WIDE);
}

// --- namespaces ---------------------------------------------------------------------------------

/** Creates a child of the client's namespace (OpenBao, Vault Enterprise, HCP). */
export async function createNamespace(vault: VaultClient, name: string): Promise<void> {
  await vault.write(vaultPath`sys/namespaces/${segment(name)}`, {});
}

export async function deleteNamespace(vault: VaultClient, name: string): Promise<void> {
  await vault.delete(vaultPath`sys/namespaces/${segment(name)}`);
}

// --- raft snapshots, streamed -------------------------------------------------------------------

/**
 * Streams a snapshot of the whole cluster from its active node into `sink` (a file being hashed,
 * say): the bytes are never held in memory. Resolves when the sink has them all; a failure
 * mid-body rejects, and the sink then holds a partial snapshot its owner must discard.
 */
export async function streamRaftSnapshot(
  vault: VaultClient,
  sink: NodeJS.WritableStream,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const res = await vault.requestStream('sys/storage/raft/snapshot', {
    namespace: '',
    consistent: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await pipeline(res.stream ?? Readable.from([res.body]), sink);
}

/**
 * Restores a snapshot streamed from `open()` (opened afresh on each attempt), through the active
 * node. `force` restores one taken from another cluster (snapshot-force): the target then holds the
 * source's data, tokens and keyring, and after a restart unseals only with the source's keys.
 */
export async function restoreRaftSnapshotStream(
  vault: VaultClient,
  open: () => Readable,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  // Restoring the same bytes twice leaves the same state: safe to resend after a lost reply.
  await vault.requestStream(`sys/storage/raft/${options.force ? 'snapshot-force' : 'snapshot'}`, {
    namespace: '',
    upload: open,
    idempotent: true,
    consistent: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

// --- fencing ------------------------------------------------------------------------------------

/** Makes the active node give up leadership (another node, or itself after a pause, takes over). */
export async function stepDown(vault: VaultClient): Promise<void> {
  await vault.put('sys/step-down', {}, CLUSTER_WIDE);
}
