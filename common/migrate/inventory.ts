// What `vaultops migrate plan` found in a namespace: names, counts, settings and SHA-256 digests,
// never a secret value. activities/migrate/inventory.ts fills it in; common/migrate/plan.ts
// classifies it. Pure types, so workflows may carry an inventory too.

export type ServerFlavour = 'openbao' | 'vault';

export interface ServerFacts {
  flavour: ServerFlavour;
  version: string;
  /** Whether the server honours namespaces (OpenBao, Vault Enterprise/HCP; not Vault Community). */
  namespaces: boolean;
  /** What the server can enable (sys/plugins/catalog), besides its built-ins; null if the token may not read it. */
  catalog: { auth: string[]; secret: string[]; database: string[] } | null;
}

/** A secrets engine or auth method mount and its tuning. */
export interface MountItem {
  /** "secret/", "auth/approle/" is given as "approle/" for auth methods. */
  path: string;
  type: string;
  /** kv's "1" or "2"; null for other types. */
  kvVersion: string | null;
  local: boolean;
  sealWrap: boolean;
  /** SHA-256 over type, description, options and tuning (config): equal digests, equal mounts. */
  digest: string;
}

/** An auth method's role, user or certificate entry. */
export interface AuthRoleItem {
  name: string;
  /** SHA-256 of its settings as Vault returns them (Vault never returns passwords or secret IDs). */
  digest: string;
  /** AppRole: how many secret IDs exist (they cannot be read, so they are reissued). */
  secretIds?: number;
  /** The list it is in when not the method's main one (LDAP "groups" beside "users"). */
  list?: string;
}

export interface AuthMethodItem extends MountItem {
  /** What the roles list holds: "role", "user", "certificate", "group"; null if vaultops cannot list them. */
  roleKind: string | null;
  roles: AuthRoleItem[];
  /** Config fields Vault stores but never returns, that were set at the source (e.g. oidc_client_secret). */
  unreadableConfig: string[];
}

export interface PolicyItem {
  name: string;
  digest: string;
  /** The policy's path patterns (public; used to spot namespace-relative paths). */
  paths: string[];
}

/** An entity or group alias: its name and the auth mount it points to (by path, not accessor). */
export interface IdentityAliasItem {
  name: string;
  /** The auth mount's path ("userpass/"), found from its accessor; null if no mount has that accessor. */
  mount: string | null;
}

export interface IdentityEntityItem {
  name: string;
  /** Policy names are public; metadata is kept as a digest only. */
  policies: string[];
  metadataDigest: string;
  disabled: boolean;
  aliases: IdentityAliasItem[];
}

export interface IdentityGroupItem {
  name: string;
  /** External groups get their members from an auth method at login (through their alias). */
  type: 'internal' | 'external';
  policies: string[];
  metadataDigest: string;
  /** Members by name (IDs differ at the target). */
  memberEntities: string[];
  memberGroups: string[];
  alias: IdentityAliasItem | null;
}

export interface IdentityInventory {
  entities: string[];
  groups: string[];
  entityAliases: number;
  groupAliases: number;
  /** The entities and groups with what the migration compares (names, policies, digests). */
  entityItems: IdentityEntityItem[];
  groupItems: IdentityGroupItem[];
}

export interface KvMountInventory {
  mount: string;
  kvVersion: '1' | '2';
  /** KV v2 mount settings (max_versions, cas_required, delete_version_after); null for v1. */
  config: { maxVersions: number; casRequired: boolean; deleteVersionAfter: string } | null;
  secrets: number;
  /** Retained versions (v1: one per secret). */
  versions: number;
  deletedVersions: number;
  destroyedVersions: number;
  /** Versions below oldest retained ones (pruned by max_versions): numbers only, nothing to copy. */
  prunedVersions: number;
  withCustomMetadata: number;
  casRequired: number;
}

export interface TransitKeyItem {
  mount: string;
  name: string;
  type: string;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  latestVersion: number;
}

export interface PkiMountInventory {
  mount: string;
  issuers: { id: string; name: string }[];
  roles: { name: string; digest: string }[];
}

export interface DatabaseMountInventory {
  mount: string;
  connections: { name: string; plugin: string }[];
  roles: string[];
  staticRoles: string[];
}

export interface NamespaceInventory {
  /** "" for the root namespace. */
  namespace: string;
  /** False when the namespace does not exist (yet): everything below is empty. */
  exists: boolean;
  server: ServerFacts;
  childNamespaces: string[];
  secretsEngines: MountItem[];
  authMethods: AuthMethodItem[];
  policies: PolicyItem[];
  identity: IdentityInventory;
  kv: KvMountInventory[];
  transitKeys: TransitKeyItem[];
  pki: PkiMountInventory[];
  database: DatabaseMountInventory[];
  /** What could not be read (a refused list, say), so the plan never silently omits it. */
  unreadable: string[];
}
