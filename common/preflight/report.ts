// What preflight learns about one cluster, and the pure rules that turn raw observations into
// the feature flags later workflows adapt to (seed 003: "feature detection and adaptation").
// Shared by workflows (deterministic) and activities; no I/O here.

export type ServerFlavour = 'vault' | 'openbao';
export type Edition = 'community' | 'enterprise' | 'hcp';

export interface HealthObservation {
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  performanceStandby: boolean;
  version: string;
  clusterName: string | null;
  clusterId: string | null;
  replicationDrMode: string | null;
  replicationPerformanceMode: string | null;
  serverTimeUtc: number | null;
  /** Vault reports `enterprise`; OpenBao dropped the field. Kept as evidence for flavour detection. */
  enterpriseField: boolean | null;
}

export interface SealObservation {
  type: string;
  sealed: boolean;
  threshold: number;
  shares: number;
  progress: number;
  storageType: string | null;
  /** Vault says build_date; OpenBao says commit_date. */
  buildDate: string | null;
  commitDate: string | null;
}

export interface LeaderObservation {
  haEnabled: boolean;
  isSelf: boolean | null;
  leaderAddress: string | null;
  leaderClusterAddress: string | null;
  raftCommittedIndex: number | null;
}

export interface MountSummary {
  path: string;
  type: string;
  description: string;
  /** kv mounts: "1" or "2"; other engines: null. */
  kvVersion: string | null;
  local: boolean;
  sealWrap: boolean;
  runningPluginVersion: string | null;
}

export interface NamespaceObservation {
  supported: boolean;
  /** Child namespaces of the namespace the probe ran in (empty when unsupported). */
  children: string[];
  evidence: string;
}

/** Built-in and registered plugins: what can be enabled here (OpenBao ships no LDAP auth, say). */
export interface PluginCatalog {
  auth: string[];
  database: string[];
  secret: string[];
}

export interface PreflightObservations {
  /** The configured cluster's name ("default": vault_integration); absent in older histories. */
  cluster?: string;
  address: string;
  namespace: string | null;
  health: HealthObservation;
  seal: SealObservation;
  leader: LeaderObservation | null;
  secretsEngines: MountSummary[] | null;
  authMethods: MountSummary[] | null;
  namespaces: NamespaceObservation | null;
  /** Null when it could not be read (sealed, denied, or a history from before this step). */
  plugins?: PluginCatalog | null;
}

export interface PreflightReport extends PreflightObservations {
  flavour: ServerFlavour;
  flavourEvidence: string;
  edition: Edition;
  /**
   * "primary" / "secondary" where an Enterprise or HCP cluster takes part in DR replication (from
   * sys/health's replication_dr_mode: no extra request); null elsewhere. Absent in older histories.
   */
  drReplication?: 'primary' | 'secondary' | null;
  /** Overall verdict: can workflows run Vault-touching steps against this cluster now? */
  ready: boolean;
  warnings: string[];
  checkedAt: string;
}

/**
 * Vault or OpenBao? The builtin plugin versions say it outright ("+builtin.bao" vs
 * "+builtin.vault"); when mounts could not be read (sealed), the seal-status date field and the
 * health `enterprise` field are the next best evidence.
 */
export function detectFlavour(obs: PreflightObservations): { flavour: ServerFlavour; evidence: string } {
  const plugin = [...(obs.secretsEngines ?? []), ...(obs.authMethods ?? [])]
    .map((m) => m.runningPluginVersion ?? '')
    .find((v) => v.includes('+builtin.'));
  if (plugin?.includes('+builtin.bao')) return { flavour: 'openbao', evidence: `plugin version ${plugin}` };
  if (plugin?.includes('+builtin.vault')) return { flavour: 'vault', evidence: `plugin version ${plugin}` };
  if (obs.seal.commitDate !== null && obs.seal.buildDate === null) {
    return { flavour: 'openbao', evidence: 'seal-status reports commit_date, not build_date' };
  }
  if (obs.health.enterpriseField !== null) {
    return { flavour: 'vault', evidence: 'health reports the "enterprise" field' };
  }
  return { flavour: 'vault', evidence: 'no OpenBao marker found; assuming HashiCorp Vault' };
}

export function detectEdition(obs: PreflightObservations, flavour: ServerFlavour): Edition {
  if (flavour === 'openbao') return 'community';
  if (/\+ent\b|\+ent\./.test(obs.health.version) || obs.health.enterpriseField === true) {
    // HCP Vault is Enterprise whose clusters answer in the `admin` namespace.
    return obs.namespace === 'admin' || obs.namespace?.startsWith('admin/') ? 'hcp' : 'enterprise';
  }
  return 'community';
}

/** The cluster's part in Enterprise DR replication, as sys/health reports it ("dr-primary" in old releases). */
export function detectDrReplication(
  obs: PreflightObservations,
  edition: Edition,
): 'primary' | 'secondary' | null {
  if (edition === 'community') return null;
  const mode = obs.health.replicationDrMode ?? '';
  if (/(^|-)primary$/.test(mode)) return 'primary';
  if (/(^|-)secondary$/.test(mode)) return 'secondary';
  return null;
}

export function assemblePreflightReport(obs: PreflightObservations, checkedAt: string): PreflightReport {
  const { flavour, evidence } = detectFlavour(obs);
  const warnings: string[] = [];
  if (!obs.health.initialized) warnings.push('cluster is not initialized: run `vault operator init` first');
  if (obs.seal.sealed) {
    warnings.push(
      `cluster is sealed (${obs.seal.progress}/${obs.seal.threshold} unseal keys given): Vault-touching steps will wait`,
    );
  }
  if (obs.health.standby) {
    warnings.push(
      `this address is a standby; the leader is ${obs.leader?.leaderAddress ?? 'unknown'}: writes are forwarded`,
    );
  }
  if (obs.seal.storageType === 'inmem') {
    warnings.push('storage is in-memory (a -dev server): data is lost on restart; no raft snapshots or DR');
  }
  const namespaceIgnored = obs.namespace !== null && obs.namespaces?.supported === false;
  if (namespaceIgnored) {
    warnings.push(
      `namespace "${obs.namespace}" was asked for, but this server has no namespaces (${obs.namespaces?.evidence}): ` +
        'it would silently act on the root namespace; unset the namespace or use a server with namespaces',
    );
  }
  if (obs.secretsEngines === null && !obs.seal.sealed) {
    warnings.push('could not list secrets engines: the token lacks read on sys/mounts');
  }
  if (obs.authMethods === null && !obs.seal.sealed) {
    warnings.push('could not list auth methods: the token lacks read on sys/auth');
  }
  const edition = detectEdition(obs, flavour);
  const drReplication = detectDrReplication(obs, edition);
  if (drReplication === 'secondary') {
    warnings.push(
      'this cluster is a Vault Enterprise DR secondary: it serves no requests until promoted (`vaultops dr failover` promotes it)',
    );
  }
  return {
    ...obs,
    flavour,
    flavourEvidence: evidence,
    edition,
    drReplication,
    ready: obs.health.initialized && !obs.seal.sealed && !namespaceIgnored && drReplication !== 'secondary',
    warnings,
    checkedAt,
  };
}
