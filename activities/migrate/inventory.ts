// The inventory of one namespace for `vaultops migrate plan`: secrets engines
// and their tuning, auth methods and their roles, policies, identity, KV trees with version
// counts, transit keys, PKI issuers and roles, database connections and roles. Only metadata and
// settings endpoints are read (KV: metadata/, never data/); what is kept is names, counts and
// SHA-256 digests. Vault never returns passwords, secret IDs or client secrets from these
// endpoints; the fields that say one was set are noted by name, their values are not kept.
import type {
  AuthMethodItem,
  AuthRoleItem,
  DatabaseMountInventory,
  IdentityInventory,
  KvMountInventory,
  MountItem,
  NamespaceInventory,
  PkiMountInventory,
  PolicyItem,
  ServerFacts,
  TransitKeyItem,
} from '../../common/migrate/inventory.js';
import { keptAlive } from '../../vault/activity-scope.js';
import { inBatches, type Outcome } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { listKeys, readMetadata } from '../../vault/kv.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { listIssuers } from '../../vault/pki/issuers.js';
import { listPolicies, probeNamespaces, readHealth, readPluginCatalog, readPolicy } from '../../vault/sys.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { digestOf } from './digest.js';
import { identityItems } from './identity.js';
import { mountItem, type RawMount, readMounts } from './mount-table.js';
import { listOrNone } from './sides.js';

/** Mounts every namespace has of its own: never copied, never listed. */
const BUILT_IN_MOUNTS = new Set(['system', 'ns_system', 'identity', 'ns_identity', 'token', 'ns_token']);

/** Where each auth method keeps what the plan calls its roles, and what it never returns. */
const AUTH_ROLES: Record<
  string,
  {
    kind: string;
    list: string;
    /** A second list the method keeps (LDAP's groups beside its users). */
    also?: string;
    unreadable?: (config: Record<string, unknown>) => string[];
  }
> = {
  approle: { kind: 'role', list: 'role' },
  userpass: { kind: 'user', list: 'users' },
  jwt: { kind: 'role', list: 'role', unreadable: (c) => (c.oidc_client_id ? ['oidc_client_secret'] : []) },
  oidc: { kind: 'role', list: 'role', unreadable: (c) => (c.oidc_client_id ? ['oidc_client_secret'] : []) },
  kubernetes: {
    kind: 'role',
    list: 'role',
    unreadable: (c) => (c.token_reviewer_jwt_set ? ['token_reviewer_jwt'] : []),
  },
  cert: { kind: 'certificate', list: 'certs' },
  ldap: {
    kind: 'user',
    list: 'users',
    also: 'groups',
    unreadable: (c) => [...(c.binddn ? ['bindpass'] : []), ...(c.client_tls_cert ? ['client_tls_key'] : [])],
  },
};

/** Parallel reads per batch: enough to hide latency, few enough not to crowd the server. */
const CONCURRENCY = 8;

export interface InventoryOptions {
  /** Walk KV trees and count versions (the slow part; a target's conflicts do not need it). */
  walkKv?: boolean;
}

/** Reads `namespace` (client-relative: "" is the client's own) with `vault`'s token. */
export async function readInventory(
  vault: VaultClient,
  options: InventoryOptions = {},
): Promise<NamespaceInventory> {
  const namespace = vault.namespace ?? '';
  const server = await readServerFacts(vault);
  const empty: NamespaceInventory = {
    namespace,
    exists: false,
    server,
    childNamespaces: [],
    secretsEngines: [],
    authMethods: [],
    policies: [],
    identity: {
      entities: [],
      groups: [],
      entityAliases: 0,
      groupAliases: 0,
      entityItems: [],
      groupItems: [],
    },
    kv: [],
    transitKeys: [],
    pki: [],
    database: [],
    unreadable: [],
  };
  // Vault Community ignores X-Vault-Namespace and would answer for the root namespace instead.
  if (namespace !== '' && !server.namespaces) return empty;
  let mounts: Record<string, RawMount>;
  try {
    mounts = await readMounts(vault, 'sys/mounts');
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return empty; // "namespace not found"
    throw err;
  }
  const unreadable: string[] = [];
  const secretsEngines = Object.entries(mounts)
    .filter(([, m]) => !BUILT_IN_MOUNTS.has(m.type))
    .map(([path, m]) => mountItem(path, m))
    .sort((a, b) => a.path.localeCompare(b.path));
  const authTable = await readMounts(vault, 'sys/auth');
  const authMethods: AuthMethodItem[] = [];
  for (const [path, m] of Object.entries(authTable).sort(([a], [b]) => a.localeCompare(b))) {
    if (BUILT_IN_MOUNTS.has(m.type)) continue;
    authMethods.push(await authMethodItem(vault, path, m, unreadable));
  }
  const byType = (type: string) => secretsEngines.filter((m) => m.type === type).map((m) => trim(m.path));
  const kvMounts = secretsEngines.filter((m) => m.type === 'kv');
  return {
    ...empty,
    exists: true,
    childNamespaces: server.namespaces ? (await probeNamespaces(vault)).children.map(trim) : [],
    secretsEngines,
    authMethods,
    policies: await readPolicies(vault),
    identity: await readIdentity(vault, unreadable),
    kv: options.walkKv === false ? [] : await mapSerial(kvMounts, (m) => readKvMount(vault, m)),
    transitKeys: (await mapSerial(byType('transit'), (m) => readTransitKeys(vault, m))).flat(),
    pki: await mapSerial(byType('pki'), (m) => readPkiMount(vault, m)),
    database: await mapSerial(byType('database'), (m) => readDatabaseMount(vault, m)),
    unreadable,
  };
}

export function createMigrateInventoryActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);
  return keptAlive({
    /** The inventory of a namespace. For large KV trees prefer the CLI's plan (it is no history). */
    async migrateInventory(input: {
      cluster?: string | undefined;
      namespace: string;
      walkKv?: boolean;
    }): Promise<NamespaceInventory> {
      const vault = clusters.get(input.cluster).withNamespace(input.namespace);
      return readInventory(vault, { walkKv: input.walkKv ?? true });
    },
  });
}

// --- server -------------------------------------------------------------------------------------

async function readServerFacts(vault: VaultClient): Promise<ServerFacts> {
  const root = vault.withNamespace('');
  const health = await readHealth(root);
  // A token of a namespace may read neither the root's catalog nor its namespace list: the
  // catalog is asked in the namespace itself first, and namespace support follows from the
  // server when the root will not say (Vault Community reports enterprise: false; OpenBao drops
  // the field and has namespaces).
  const denied = (err: unknown) => isVaultFailure(err, VaultErrorType.PermissionDenied);
  const catalog = await readPluginCatalog(vault)
    .catch(() => readPluginCatalog(root))
    .catch((err: unknown) => {
      if (denied(err)) return null;
      throw err;
    });
  const namespaces = await probeNamespaces(root).then(
    (probe) => probe.supported,
    (err: unknown) => {
      if (denied(err)) return health.enterpriseField !== false;
      throw err;
    },
  );
  return {
    flavour: health.enterpriseField === null ? 'openbao' : 'vault',
    version: health.version,
    namespaces,
    catalog,
  };
}

// --- mounts -------------------------------------------------------------------------------------

async function authMethodItem(
  vault: VaultClient,
  path: string,
  m: RawMount,
  unreadable: string[],
): Promise<AuthMethodItem> {
  const base = mountItem(path, m);
  const spec = AUTH_ROLES[m.type];
  if (!spec) return { ...base, roleKind: null, roles: [], unreadableConfig: [] };
  const mount = `auth/${trim(path)}`;
  const roles = await readRoles(vault, mount, m.type, spec.list, unreadable);
  if (spec.also)
    roles.push(
      ...(await readRoles(vault, mount, m.type, spec.also, unreadable)).map((r) => ({
        ...r,
        list: spec.also,
      })),
    );
  let config: Record<string, unknown> = {};
  if (spec.unreadable) {
    try {
      config = ((await vault.read(`${mount}/config`)) as { data?: Record<string, unknown> }).data ?? {};
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.NotFound)) unreadable.push(`${mount}/config: ${message(err)}`);
    }
  }
  return { ...base, roleKind: spec.kind, roles, unreadableConfig: spec.unreadable?.(config) ?? [] };
}

async function readRoles(
  vault: VaultClient,
  mount: string,
  type: string,
  list: string,
  unreadable: string[],
): Promise<AuthRoleItem[]> {
  const names = await listOrNone(vault, vaultPath`${mount}/${list}`);
  const outcomes = await inBatches(names, CONCURRENCY, async (name): Promise<AuthRoleItem> => {
    const settings = (await vault.read(vaultPath`${mount}/${list}/${segment(name)}`)) as {
      data?: unknown;
    };
    const secretIds =
      type === 'approle'
        ? (await listOrNone(vault, vaultPath`${mount}/role/${segment(name)}/secret-id`)).length
        : undefined;
    return { name, digest: digestOf(settings.data ?? {}), ...(secretIds === undefined ? {} : { secretIds }) };
  });
  const roles: AuthRoleItem[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) roles.push(o.value);
    else if (!isVaultFailure(o.error, VaultErrorType.NotFound))
      unreadable.push(`${mount}/${list}/${names[i]}: ${o.error.message}`);
  });
  return roles;
}

// --- policies and identity ----------------------------------------------------------------------

async function readPolicies(vault: VaultClient): Promise<PolicyItem[]> {
  const names = (await listPolicies(vault)).filter((n) => n !== 'root').sort();
  const outcomes = await inBatches(names, CONCURRENCY, async (name) => {
    const text = await readPolicy(vault, name);
    return { name, digest: digestOf(text.trim()), paths: policyPaths(text) };
  });
  return outcomes.flatMap((o) => (o.ok ? [o.value] : []));
}

/** The `path "..."` patterns of an HCL (or JSON) policy. */
export function policyPaths(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/path\s*"([^"]+)"|"path"\s*:\s*\{\s*"([^"]+)"/g))
    found.add((match[1] ?? match[2]) as string);
  return [...found].sort();
}

async function readIdentity(vault: VaultClient, unreadable: string[]): Promise<IdentityInventory> {
  const [entities, groups, entityAliases, groupAliases] = await Promise.all([
    listOrNone(vault, 'identity/entity/name'),
    listOrNone(vault, 'identity/group/name'),
    listOrNone(vault, 'identity/entity-alias/id'),
    listOrNone(vault, 'identity/group-alias/id'),
  ]);
  const items = await identityItems(vault).catch((err: unknown) => {
    if (!isVaultFailure(err, VaultErrorType.PermissionDenied)) throw err;
    unreadable.push(`identity entities and groups: ${message(err)}`);
    return { entityItems: [], groupItems: [] };
  });
  return {
    entities: entities.sort(),
    groups: groups.sort(),
    entityAliases: entityAliases.length,
    groupAliases: groupAliases.length,
    ...items,
  };
}

// --- engines ------------------------------------------------------------------------------------

/** Every secret under a KV mount, walked folder by folder ("app/" is a folder). */
export async function walkKvPaths(
  vault: VaultClient,
  mount: string,
  kvVersion: '1' | '2',
): Promise<string[]> {
  const found: string[] = [];
  const folders = [''];
  while (folders.length > 0) {
    const level = folders.splice(0, folders.length);
    const listed = await inBatches(level, CONCURRENCY, (folder) =>
      kvVersion === '2'
        ? listKeys(vault, mount, folder)
        : listOrNone(vault, folder === '' ? vaultPath`${mount}/` : vaultPath`${mount}/${folder}/`),
    );
    listed.forEach((outcome, i) => {
      if (!outcome.ok) throw outcome.error;
      for (const key of outcome.value) {
        const full = `${level[i]}${key}`;
        if (key.endsWith('/')) folders.push(full);
        else found.push(full);
      }
    });
  }
  return found.sort();
}

async function readKvMount(vault: VaultClient, item: MountItem): Promise<KvMountInventory> {
  const mount = trim(item.path);
  const kvVersion = item.kvVersion === '2' ? '2' : '1';
  const paths = await walkKvPaths(vault, mount, kvVersion);
  const totals: KvMountInventory = {
    mount,
    kvVersion,
    config: null,
    secrets: paths.length,
    versions: kvVersion === '1' ? paths.length : 0,
    deletedVersions: 0,
    destroyedVersions: 0,
    prunedVersions: 0,
    withCustomMetadata: 0,
    casRequired: 0,
  };
  if (kvVersion === '1') return totals;
  const config = (await vault.read(vaultPath`${mount}/config`)) as {
    data: { max_versions?: number; cas_required?: boolean; delete_version_after?: string };
  };
  totals.config = {
    maxVersions: config.data.max_versions ?? 0,
    casRequired: config.data.cas_required ?? false,
    deleteVersionAfter: config.data.delete_version_after ?? '0s',
  };
  const now = Date.now();
  const metas = present(await inBatches(paths, CONCURRENCY, (path) => readMetadata(vault, mount, path)));
  totals.secrets = metas.length;
  for (const meta of metas) {
    const versions = Object.entries(meta.versions);
    totals.versions += versions.length;
    for (const [, v] of versions) {
      if (v.destroyed) totals.destroyedVersions++;
      else if (v.deletion_time !== '' && Date.parse(v.deletion_time) <= now) totals.deletedVersions++;
    }
    const oldest = Math.min(...versions.map(([n]) => Number(n)));
    if (Number.isFinite(oldest)) totals.prunedVersions += oldest - 1;
    if (meta.custom_metadata && Object.keys(meta.custom_metadata).length > 0) totals.withCustomMetadata++;
    if (meta.cas_required) totals.casRequired++;
  }
  return totals;
}

async function readTransitKeys(vault: VaultClient, mount: string): Promise<TransitKeyItem[]> {
  const names = await listOrNone(vault, vaultPath`${mount}/keys`);
  const outcomes = await inBatches(names, CONCURRENCY, async (name) => {
    const { data } = (await vault.read(vaultPath`${mount}/keys/${segment(name)}`)) as {
      data: { type: string; exportable?: boolean; allow_plaintext_backup?: boolean; latest_version?: number };
    };
    return {
      mount,
      name,
      type: data.type,
      exportable: data.exportable ?? false,
      allowPlaintextBackup: data.allow_plaintext_backup ?? false,
      latestVersion: data.latest_version ?? 1,
    };
  });
  return present(outcomes);
}

async function readPkiMount(vault: VaultClient, mount: string): Promise<PkiMountInventory> {
  let issuers: { issuerId: string; issuerName: string }[] = [];
  try {
    issuers = await listIssuers(vault, mount);
  } catch (err) {
    if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
  }
  const roleNames = await listOrNone(vault, vaultPath`${mount}/roles`);
  const roles = await inBatches(roleNames, CONCURRENCY, async (name) => ({
    name,
    digest: digestOf(
      ((await vault.read(vaultPath`${mount}/roles/${segment(name)}`)) as { data?: unknown }).data ?? {},
    ),
  }));
  return {
    mount,
    issuers: issuers.map((i) => ({ id: i.issuerId, name: i.issuerName })),
    roles: present(roles),
  };
}

async function readDatabaseMount(vault: VaultClient, mount: string): Promise<DatabaseMountInventory> {
  const names = await listOrNone(vault, vaultPath`${mount}/config`);
  const connections = await inBatches(names, CONCURRENCY, async (name) => {
    const { data } = (await vault.read(vaultPath`${mount}/config/${segment(name)}`)) as {
      data: { plugin_name?: string };
    };
    return { name, plugin: data.plugin_name ?? '' };
  });
  return {
    mount,
    connections: present(connections),
    roles: await listOrNone(vault, vaultPath`${mount}/roles`),
    staticRoles: await listOrNone(vault, vaultPath`${mount}/static-roles`),
  };
}

// --- helpers ------------------------------------------------------------------------------------

/**
 * The values of a batch of reads. What vanished between the list and the read (a secret or key
 * deleted meanwhile) is left out; any other failure fails the inventory.
 */
function present<T>(outcomes: Outcome<T>[]): T[] {
  return outcomes.flatMap((o) => {
    if (o.ok) return [o.value];
    if (isVaultFailure(o.error, VaultErrorType.NotFound)) return [];
    throw o.error;
  });
}

/** One at a time: each of these already batches its own reads. */
async function mapSerial<I, T>(items: readonly I[], fn: (item: I) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

const trim = (path: string) => path.replace(/\/+$/, '');
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
