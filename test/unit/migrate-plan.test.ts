// The migration plan (common/migrate/plan.ts): how each inventory item is classified, conflicts
// and gaps at the target, the table and JSON, and the CLI's input checks.
import { describe, expect, it } from 'vitest';
import { parseMigratePlan, printPlan } from '../../client/commands/migrate/plan.js';
import type { AuthMethodItem, NamespaceInventory, ServerFacts } from '../../common/migrate/inventory.js';
import { buildMigrationPlan, type PlanItem, planRows } from '../../common/migrate/plan.js';

const openbao: ServerFacts = {
  flavour: 'openbao',
  version: '2.7.2',
  namespaces: true,
  catalog: {
    auth: ['approle', 'cert', 'jwt', 'kubernetes', 'oidc', 'userpass'],
    secret: ['kubernetes', 'kv', 'pki', 'rabbitmq', 'ssh', 'totp', 'transit'],
    database: ['mysql-database-plugin', 'postgresql-database-plugin'],
  },
};
const vaultCommunity: ServerFacts = {
  flavour: 'vault',
  version: '1.21.0',
  namespaces: false,
  catalog: {
    auth: ['approle', 'cert', 'jwt', 'kubernetes', 'ldap', 'oidc', 'userpass'],
    secret: ['kv', 'nomad', 'pki', 'ssh', 'transit'],
    database: ['mysql-database-plugin', 'postgresql-database-plugin', 'redis-database-plugin'],
  },
};

const empty = (namespace: string, server = openbao): NamespaceInventory => ({
  namespace,
  exists: true,
  server,
  childNamespaces: [],
  secretsEngines: [],
  authMethods: [],
  policies: [],
  identity: { entities: [], groups: [], entityAliases: 0, groupAliases: 0, entityItems: [], groupItems: [] },
  kv: [],
  transitKeys: [],
  pki: [],
  database: [],
  unreadable: [],
});

const mount = (path: string, type: string, digest = `sha256:${path}${type}`) => ({
  path,
  type,
  kvVersion: type === 'kv' ? '2' : null,
  local: false,
  sealWrap: false,
  digest,
});

const auth = (path: string, type: string, over: Partial<AuthMethodItem> = {}): AuthMethodItem => ({
  ...mount(path, type),
  roleKind: type === 'userpass' ? 'user' : 'role',
  roles: [],
  unreadableConfig: [],
  ...over,
});

/** An entity with an alias on a migrated mount, one on a mount not migrated, one on a gone mount. */
const svcWeb = () => ({
  name: 'svc-web',
  policies: ['app-read'],
  metadataDigest: 'sha256:svc-meta',
  disabled: false,
  aliases: [
    { name: 'web', mount: 'approle/' },
    { name: 'web-gh', mount: 'github/' },
    { name: 'web-old', mount: null },
  ],
});

/** A source with a bit of everything, as team-a might hold it. */
function teamA(): NamespaceInventory {
  return {
    ...empty('admin/team-a'),
    childNamespaces: ['sub'],
    secretsEngines: [
      mount('secret/', 'kv'),
      mount('transit/', 'transit'),
      mount('pki/', 'pki'),
      mount('db/', 'database'),
      mount('ssh/', 'ssh'),
      mount('cubbyhole/', 'ns_cubbyhole'),
    ],
    authMethods: [
      auth('approle/', 'approle', {
        roles: [
          { name: 'web', digest: 'sha256:web', secretIds: 3 },
          { name: 'batch', digest: 'sha256:batch', secretIds: 0 },
        ],
      }),
      auth('userpass/', 'userpass', { roles: [{ name: 'alice', digest: 'sha256:alice' }] }),
      auth('oidc/', 'oidc', {
        roles: [{ name: 'dev', digest: 'sha256:dev' }],
        unreadableConfig: ['oidc_client_secret'],
      }),
    ],
    policies: [
      { name: 'default', digest: 'sha256:default', paths: ['auth/token/lookup-self'] },
      { name: 'app-read', digest: 'sha256:app', paths: ['secret/data/app/*'] },
      { name: 'nested', digest: 'sha256:nested', paths: ['sub/secret/data/*', 'secret/data/x'] },
    ],
    identity: {
      entities: ['svc-web'],
      groups: ['ops', 'devs'],
      entityAliases: 3,
      groupAliases: 1,
      entityItems: [svcWeb()],
      groupItems: [
        {
          name: 'ops',
          type: 'internal',
          policies: ['app-read'],
          metadataDigest: 'sha256:ops-meta',
          memberEntities: ['svc-web'],
          memberGroups: [],
          alias: null,
        },
        {
          name: 'devs',
          type: 'external',
          policies: ['app-read'],
          metadataDigest: 'sha256:devs-meta',
          memberEntities: [],
          memberGroups: [],
          alias: { name: 'engineering', mount: 'oidc/' },
        },
      ],
    },
    kv: [
      {
        mount: 'secret',
        kvVersion: '2',
        config: { maxVersions: 0, casRequired: false, deleteVersionAfter: '0s' },
        secrets: 4,
        versions: 11,
        deletedVersions: 1,
        destroyedVersions: 1,
        prunedVersions: 2,
        withCustomMetadata: 1,
        casRequired: 0,
      },
    ],
    transitKeys: [
      {
        mount: 'transit',
        name: 'portable',
        type: 'aes256-gcm96',
        exportable: true,
        allowPlaintextBackup: true,
        latestVersion: 2,
      },
      {
        mount: 'transit',
        name: 'locked',
        type: 'aes256-gcm96',
        exportable: false,
        allowPlaintextBackup: false,
        latestVersion: 1,
      },
    ],
    pki: [
      {
        mount: 'pki',
        issuers: [{ id: 'i-1', name: 'root-2026' }],
        roles: [{ name: 'web', digest: 'sha256:pkirole' }],
      },
    ],
    database: [
      {
        mount: 'db',
        connections: [
          { name: 'pg', plugin: 'postgresql-database-plugin' },
          { name: 'cache', plugin: 'redis-database-plugin' },
        ],
        roles: ['readonly'],
        staticRoles: ['app-user'],
      },
    ],
  };
}

const byName = (items: PlanItem[], name: string) => {
  const found = items.find((i) => i.name === name);
  if (!found) throw new Error(`no plan item ${name}; have ${items.map((i) => i.name).join(', ')}`);
  return found;
};

describe('migration plan classification', () => {
  const plan = buildMigrationPlan(teamA(), empty('admin/team-b'));

  it('copies engines, roles and policies exactly where nothing is lost', () => {
    for (const name of [
      'secret/',
      'transit/',
      'pki/',
      'db/',
      'policy app-read',
      'auth/approle/role/batch',
      'pki/roles/web',
      'db/roles/readonly',
    ])
      expect(byName(plan.items, name).verdict, name).toBe('exact');
    expect(byName(plan.items, 'transit/keys/portable')).toMatchObject({ verdict: 'exact' });
  });

  it('names the action for each caveat', () => {
    expect(byName(plan.items, 'auth/approle/role/web')).toMatchObject({
      verdict: 'caveat',
      action: expect.stringMatching(/secret IDs are reissued/),
      detail: expect.stringContaining('3 secret IDs'),
    });
    expect(byName(plan.items, 'auth/userpass/users/alice').action).toMatch(/reset the user's password/);
    expect(byName(plan.items, 'auth/oidc/').action).toMatch(/re-enter oidc_client_secret/);
    expect(byName(plan.items, 'db/config/pg')).toMatchObject({
      verdict: 'caveat',
      action: expect.stringMatching(
        /^re-enter the connection's password \(vault write db\/config\/pg password=…\)/,
      ),
    });
    expect(byName(plan.items, 'db/static-roles/app-user')).toMatchObject({
      verdict: 'not-migratable',
      reason: expect.stringMatching(/rotates the database user's password/),
      action: expect.stringMatching(/after re-entering the connection password/),
    });
    expect(byName(plan.items, 'transit/keys/locked')).toMatchObject({
      verdict: 'caveat',
      detail: expect.stringContaining('not exportable, no plaintext backup'),
      action: expect.stringMatching(/new key .* re-encrypt/),
    });
    expect(byName(plan.items, 'secret/').verdict).toBe('exact');
    expect(byName(plan.items, 'ssh/').action).toMatch(/re-create the ssh engine's configuration/);
    expect(plan.items.filter((i) => i.verdict === 'caveat').every((i) => i.action)).toBe(true);
  });

  it('copies soft-deleted KV versions as placeholders, and says so', () => {
    const kv = plan.items.find((i) => i.kind === 'kv-data');
    expect(kv).toMatchObject({
      verdict: 'caveat',
      detail: '4 secrets, 11 versions (1 deleted, 1 destroyed, 2 pruned)',
      action: expect.stringMatching(
        /^1 soft-deleted version is copied as deleted placeholders: .* undelete them there/,
      ),
    });
    const clean = teamA();
    (clean.kv[0] as { deletedVersions: number }).deletedVersions = 0;
    expect(buildMigrationPlan(clean, empty('b')).items.find((i) => i.kind === 'kv-data')?.verdict).toBe(
      'exact',
    );
  });

  it('flags policies whose paths name child namespaces', () => {
    expect(byName(plan.items, 'policy nested')).toMatchObject({
      verdict: 'caveat',
      action: expect.stringContaining('sub/secret/data/*'),
    });
  });

  it('copies entities and groups with a caveat, aliases only onto migrated auth mounts', () => {
    expect(byName(plan.items, 'entity svc-web')).toMatchObject({
      kind: 'identity-entity',
      verdict: 'caveat',
      detail: '1 policy, 3 aliases',
      action: expect.stringMatching(/IDs change at the target/),
    });
    expect(byName(plan.items, 'entity svc-web alias web')).toMatchObject({
      kind: 'identity-alias',
      verdict: 'exact',
      detail: "on auth/approle/, re-linked to the target's copy",
    });
    expect(byName(plan.items, 'entity svc-web alias web-gh')).toMatchObject({
      verdict: 'not-migratable',
      reason: expect.stringMatching(/^its auth mount auth\/github\/ is not migrated/),
    });
    expect(byName(plan.items, 'entity svc-web alias web-old')).toMatchObject({
      verdict: 'not-migratable',
      reason: expect.stringMatching(/no longer exists at the source/),
    });
    expect(byName(plan.items, 'group ops')).toMatchObject({
      verdict: 'caveat',
      detail: '1 member entity, 0 member groups, 1 policy',
      action: expect.stringMatching(/members are re-linked by name/),
    });
    expect(byName(plan.items, 'group devs')).toMatchObject({
      verdict: 'caveat',
      action: expect.stringMatching(/external group's members come from its auth method at login/),
    });
    expect(byName(plan.items, 'group devs alias engineering').verdict).toBe('exact');
    // The oidc mount not migratable (the target lacks oidc): its group alias cannot move either.
    const noOidc = buildMigrationPlan(teamA(), {
      ...empty('b'),
      server: {
        ...openbao,
        catalog: {
          ...(openbao.catalog as NonNullable<ServerFacts['catalog']>),
          auth: ['approle', 'userpass'],
        },
      },
    });
    expect(byName(noOidc.items, 'group devs alias engineering')).toMatchObject({
      verdict: 'not-migratable',
      reason: expect.stringMatching(/auth\/oidc\/ is not migrated/),
    });
  });

  it('copies JWT, cert, Kubernetes and LDAP roles (LDAP groups beside users); names the secrets to re-enter', () => {
    const more = teamA();
    more.authMethods.push(
      auth('ldap/', 'ldap', {
        roleKind: 'user',
        roles: [
          { name: 'bob', digest: 'sha256:bob' },
          { name: 'admins', digest: 'sha256:admins', list: 'groups' },
        ],
        unreadableConfig: ['bindpass'],
      }),
      auth('cert/', 'cert', { roleKind: 'certificate', roles: [{ name: 'web', digest: 'sha256:c' }] }),
      auth('k8s/', 'kubernetes', { roles: [{ name: 'app', digest: 'sha256:k' }] }),
    );
    const p = buildMigrationPlan(more, empty('t', vaultCommunity));
    expect(byName(p.items, 'auth/ldap/users/bob')).toMatchObject({
      verdict: 'exact',
      detail: 'user settings',
    });
    expect(byName(p.items, 'auth/ldap/groups/admins')).toMatchObject({
      verdict: 'exact',
      detail: 'group settings',
    });
    expect(byName(p.items, 'auth/ldap/').action).toMatch(/^re-enter bindpass/);
    expect(byName(p.items, 'auth/cert/certs/web').verdict).toBe('exact');
    expect(byName(p.items, 'auth/k8s/role/app').verdict).toBe('exact');
    expect(byName(p.items, 'auth/oidc/role/dev').verdict).toBe('exact');
  });

  it('copies KV v1 data to a KV v1 mount, compared by digest', () => {
    const v1 = teamA();
    v1.kv = [
      {
        mount: 'legacy',
        kvVersion: '1',
        config: null,
        secrets: 3,
        versions: 3,
        deletedVersions: 0,
        destroyedVersions: 0,
        prunedVersions: 0,
        withCustomMetadata: 0,
        casRequired: 0,
      },
    ];
    expect(byName(buildMigrationPlan(v1, empty('b')).items, 'legacy/')).toMatchObject({
      kind: 'kv-data',
      verdict: 'exact',
      detail: expect.stringMatching(/^3 secrets \(KV v1: .* KV v1 mount and compared by digest\)$/),
    });
  });

  it('gives the reason for what cannot move', () => {
    expect(byName(plan.items, 'pki/issuer/root-2026')).toMatchObject({
      verdict: 'not-migratable',
      reason: expect.stringMatching(/private key .* never exports/),
    });
    expect(byName(plan.items, 'cubbyhole/').reason).toMatch(/per-token storage/);
    expect(plan.items.filter((i) => i.verdict === 'not-migratable').every((i) => i.reason)).toBe(true);
  });

  it('lists what the target server lacks', () => {
    expect(byName(plan.items, 'db/config/cache')).toMatchObject({
      verdict: 'not-migratable',
      reason: 'the target server has no redis-database-plugin',
    });
    expect(plan.gaps).toEqual([
      expect.objectContaining({ missing: 'database plugin redis-database-plugin', blocking: false }),
    ]);
    const withLdap = teamA();
    withLdap.authMethods.push(auth('ldap/', 'ldap', { roles: [{ name: 'bob', digest: 'x' }] }));
    withLdap.secretsEngines.push(mount('nomad/', 'nomad'));
    const p = buildMigrationPlan(withLdap, empty('t'));
    expect(byName(p.items, 'auth/ldap/')).toMatchObject({ verdict: 'not-migratable' });
    expect(p.items.some((i) => i.name.startsWith('auth/ldap/users'))).toBe(false);
    expect(byName(p.items, 'nomad/').reason).toBe('the target server has no nomad secrets engine');
    expect(p.gaps.map((g) => g.missing)).toEqual(
      expect.arrayContaining(['auth method ldap', 'secrets engine nomad']),
    );
    expect(p.summary.ready).toBe(true); // gaps of single items do not block the rest
  });

  it('blocks a namespace target on a server without namespaces', () => {
    const p = buildMigrationPlan(
      { ...teamA(), namespace: '', server: vaultCommunity },
      { ...empty('team-b', vaultCommunity), exists: false },
    );
    expect(p.gaps[0]).toMatchObject({ missing: 'namespaces', blocking: true });
    expect(p.summary.ready).toBe(false);
    const lines: string[] = [];
    printPlan(p, 'table', (l) => lines.push(l));
    expect(lines[0]).toBe(
      'Migration plan: (root) (HashiCorp Vault 1.21.0) -> team-b (HashiCorp Vault 1.21.0, which has no namespaces)',
    );
    expect(lines.at(-1)).toBe('Not ready: resolve the conflicts and blocking gaps above first.');
  });

  it('notes that a missing target namespace is created', () => {
    const p = buildMigrationPlan(teamA(), { ...empty('admin/team-b'), exists: false });
    expect(p.notes.join(' ')).toMatch(/admin\/team-b does not exist yet/);
    expect(p.target.namespaceExists).toBe(false);
  });
});

describe('conflicts at the target', () => {
  it('reports same-named items with other content, and accepts identical ones', () => {
    const source = teamA();
    const target = empty('admin/team-b');
    target.secretsEngines = [
      mount('secret/', 'kv'),
      mount('transit/', 'kv'),
      mount('pki/', 'pki', 'sha256:other'),
    ];
    target.policies = [
      { name: 'app-read', digest: 'sha256:app', paths: [] },
      { name: 'default', digest: 'sha256:other-default', paths: [] },
    ];
    target.authMethods = [
      auth('approle/', 'approle', {
        roles: [
          { name: 'web', digest: 'sha256:changed' },
          { name: 'batch', digest: 'sha256:batch' },
        ],
      }),
    ];
    target.identity = {
      entities: ['svc-web'],
      groups: ['ops'],
      entityAliases: 0,
      groupAliases: 0,
      entityItems: [{ ...svcWeb(), policies: ['other'] }],
      // Identical to the source's ops: kept, no conflict.
      groupItems: [source.identity.groupItems[0] as NamespaceInventory['identity']['groupItems'][number]],
    };
    target.transitKeys = [
      {
        mount: 'transit',
        name: 'locked',
        type: 'aes256-gcm96',
        exportable: false,
        allowPlaintextBackup: false,
        latestVersion: 1,
      },
    ];
    target.kv = [{ ...(source.kv[0] as NamespaceInventory['kv'][number]), secrets: 2 }];
    target.database = [
      {
        mount: 'db',
        connections: [{ name: 'pg', plugin: 'postgresql-database-plugin' }],
        roles: [],
        staticRoles: [],
      },
    ];
    const plan = buildMigrationPlan(source, target);
    const conflicts = Object.fromEntries(
      plan.items.filter((i) => i.conflict).map((i) => [i.name, i.conflict]),
    );
    expect(conflicts).toEqual({
      'transit/': 'the target has a kv mount at transit/',
      'pki/': "the target's pki/ has other tuning",
      'secret/': "the target's secret/ already holds 2 secrets",
      'auth/approle/role/web': "the target's auth/approle/role/web has other settings",
      'policy default': "the target's policy default has other rules",
      'entity svc-web': 'an entity named svc-web exists at the target with other policies or metadata',
      'transit/keys/locked': "a key named locked exists in the target's transit/",
      'db/config/pg': "a connection named pg exists in the target's db/",
    });
    expect(plan.summary).toMatchObject({ conflicts: 8, ready: false });
  });
});

describe('plan output', () => {
  const plan = buildMigrationPlan(teamA(), empty('admin/team-b'));

  it('prints a table with a header row, and a footer with gaps, notes and readiness', () => {
    const lines: string[] = [];
    printPlan(plan, 'table', (l) => lines.push(l));
    expect(lines[0]).toBe('Migration plan: admin/team-a (OpenBao 2.7.2) -> admin/team-b (OpenBao 2.7.2)');
    expect(lines[1]).toMatch(
      /^\d+ exact, \d+ with a caveat, \d+ not migratable; 0 conflicts, 1 gap at the target$/,
    );
    expect(lines[3]).toMatch(/^KIND\s+NAME\s+VERDICT\s+DETAIL\s+ACTION \/ REASON\s+CONFLICT$/);
    expect(lines.some((l) => /^auth-role\s+auth\/approle\/role\/web\s+caveat/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('Ready: no conflict and no blocking gap.');
    expect(lines).toContain(
      'Gap: the target lacks database plugin redis-database-plugin: connections using it cannot be configured at the target',
    );
    expect(planRows(plan)).toHaveLength(plan.items.length + 1);
  });

  it('prints JSON that parses back to the plan', () => {
    const lines: string[] = [];
    printPlan(plan, 'json', (l) => lines.push(l));
    expect(JSON.parse(lines.join('\n'))).toEqual(JSON.parse(JSON.stringify(plan)));
  });

  it('counts verdicts in the summary', () => {
    const n = (v: string) => plan.items.filter((i) => i.verdict === v).length;
    expect(plan.summary).toMatchObject({
      exact: n('exact'),
      caveat: n('caveat'),
      notMigratable: n('not-migratable'),
    });
    expect(plan.summary.exact + plan.summary.caveat + plan.summary.notMigratable).toBe(plan.items.length);
  });
});

describe('vaultops migrate plan input', () => {
  const usage = (opts: Parameters<typeof parseMigratePlan>[0]) => {
    try {
      parseMigratePlan(opts);
    } catch (err) {
      expect((err as Error).name).toBe('UsageError');
      return (err as Error).message;
    }
    throw new Error('no UsageError');
  };

  it('takes namespace paths, "/" for the root, and a format', () => {
    expect(parseMigratePlan({ from: '/admin/team-a/', to: 'admin/team-b' })).toEqual({
      from: 'admin/team-a',
      to: 'admin/team-b',
      format: 'table',
    });
    expect(parseMigratePlan({ from: '/', to: 'tenant', format: 'json' })).toEqual({
      from: '',
      to: 'tenant',
      format: 'json',
    });
  });

  it('refuses bad input with what to fix', () => {
    expect(usage({ from: 'a', to: 'b', format: 'yaml' })).toBe(
      '--format must be one of table, json, not "yaml"',
    );
    expect(usage({ from: 'a', to: '/a/' })).toMatch(/same namespace \(a\)/);
    expect(usage({ from: 'a/../b', to: 'c' })).toMatch(/--from "a\/..\/b" is not a namespace path/);
    expect(usage({ from: 'a', to: 'b c' })).toMatch(/--to "b c" is not a namespace path/);
    expect(usage({ to: 'b' })).toMatch(/give --from/);
  });
});

describe('a target whose catalog the token may not read', () => {
  it('checks no plugin gaps, and says so', () => {
    const plan = buildMigrationPlan(teamA(), {
      ...empty('admin/team-b'),
      server: { ...openbao, catalog: null },
    });
    expect(plan.gaps).toEqual([]);
    expect(plan.items.find((i) => i.name === 'db/config/cache')?.verdict).toBe('caveat');
    expect(plan.notes).toContain(
      "The target's plugin catalog is not readable with this token: missing engines, auth methods and database plugins are not checked.",
    );
  });
});
