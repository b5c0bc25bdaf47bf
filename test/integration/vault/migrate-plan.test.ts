// `vaultops migrate plan` against the real servers. On OpenBao: `<admin>/team-a` (several engines,
// auth roles, policies, identity, KV history) into the nested `<admin>/team-b`, which already holds
// a conflicting policy and mount. Vault Community has no namespaces: there the root namespace is
// the source, and a namespace target is reported as a blocking gap. The output, table and JSON,
// must hold no secret value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePlanCommand, readPlanInventories } from '../../../client/commands/migrate/plan.js';
import { buildMigrationPlan, type MigrationPlan, type PlanItem } from '../../../common/migrate/plan.js';
import type { VaultClient } from '../../../vault/client.js';
import { softDelete, writeSecret } from '../../../vault/kv.js';
import { createNamespace, writePolicy } from '../../../vault/sys.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const marker = unique('TOPSECRET');
const openbao = server().flavour === 'openbao';
let from: string;
let to: string;
/** Mount paths: unique on Vault, where the root namespace is shared with every other test. */
const m = openbao
  ? { kv: 'secret', transit: 'transit', approle: 'approle', userpass: 'userpass', pki: 'pki', db: 'db' }
  : {
      kv: unique('kv'),
      transit: unique('transit'),
      approle: unique('approle'),
      userpass: unique('userpass'),
      pki: unique('pki'),
      db: unique('db'),
    };
const savedEnv = {
  addr: process.env.VAULT_ADDR,
  token: process.env.VAULT_TOKEN,
  ns: process.env.VAULT_NAMESPACE,
};

/** A namespace with something of every kind the plan knows. */
async function populate(ns: VaultClient) {
  await ns.write(`sys/mounts/${m.kv}`, { type: 'kv', options: { version: '2' } });
  for (let v = 1; v <= 3; v++) await writeSecret(ns, m.kv, 'app/db', { password: `${marker}-${v}` });
  await softDelete(ns, m.kv, 'app/db', [1]);
  await writeSecret(ns, m.kv, 'app/api', { token: `${marker}-api` });

  await ns.write(`sys/mounts/${m.transit}`, { type: 'transit' });
  await ns.write(`${m.transit}/keys/locked`, {});
  await ns.write(`${m.transit}/keys/portable`, { exportable: true, allow_plaintext_backup: true });

  await ns.write(`sys/auth/${m.approle}`, { type: 'approle' });
  await ns.write(`auth/${m.approle}/role/web`, { token_policies: ['app'] });
  await ns.write(`auth/${m.approle}/role/web/secret-id`, {});
  await ns.write(`auth/${m.approle}/role/web/secret-id`, {});
  await ns.write(`sys/auth/${m.userpass}`, { type: 'userpass' });
  await ns.write(`auth/${m.userpass}/users/alice`, { password: `${marker}-alice`, token_policies: ['app'] });

  await writePolicy(ns, 'app', 'path "secret/data/app/*" { capabilities = ["read"] }');
  await ns.write('identity/entity', { name: 'svc-web', policies: ['app'] });

  await ns.write(`sys/mounts/${m.pki}`, { type: 'pki' });
  await ns.write(`${m.pki}/root/generate/internal`, {
    common_name: 'Team A Root',
    issuer_name: 'team-a-root',
    ttl: '24h',
  });
  await ns.write(`${m.pki}/roles/web`, {
    allowed_domains: 'example.com',
    allow_subdomains: true,
    max_ttl: '1h',
  });

  await ns.write(`sys/mounts/${m.db}`, { type: 'database' });
  await ns.write(`${m.db}/config/pg`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/app',
    username: 'vault',
    password: `${marker}-db`,
    allowed_roles: '*',
    verify_connection: false,
  });
  await ns.write(`${m.db}/roles/readonly`, {
    db_name: 'pg',
    creation_statements: ['CREATE ROLE "{{name}}"'],
    default_ttl: '1h',
    max_ttl: '24h',
  });
}

beforeAll(async () => {
  if (openbao) {
    const admin = unique('admin');
    await createNamespace(root, admin);
    const hcp = root.withNamespace(admin);
    await createNamespace(hcp, 'team-a');
    await createNamespace(hcp, 'team-b');
    from = `${admin}/team-a`;
    to = `${admin}/team-b`;
    const teamA = root.withNamespace(from);
    await populate(teamA);
    // A child namespace, and a policy whose paths reach into it.
    await createNamespace(teamA, 'sub');
    await writePolicy(teamA, 'nested', 'path "sub/secret/data/*" { capabilities = ["read"] }');
    // The target already has a policy `app` with other rules, and a kv mount at transit/.
    const teamB = root.withNamespace(to);
    await writePolicy(teamB, 'app', 'path "secret/data/*" { capabilities = ["read", "list"] }');
    await teamB.write('sys/mounts/transit', { type: 'kv', options: { version: '2' } });
  } else {
    from = '';
    to = 'team-b';
    await populate(root);
  }
  process.env.VAULT_ADDR = server().address;
  process.env.VAULT_TOKEN = server().rootToken;
  delete process.env.VAULT_NAMESPACE;
}, 120_000);

afterAll(async () => {
  for (const [key, value] of [
    ['VAULT_ADDR', savedEnv.addr],
    ['VAULT_TOKEN', savedEnv.token],
    ['VAULT_NAMESPACE', savedEnv.ns],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await root.close();
});

const item = (plan: MigrationPlan, name: string): PlanItem => {
  const found = plan.items.find((i) => i.name === name);
  if (!found) throw new Error(`no plan item ${name}; have ${plan.items.map((i) => i.name).join(', ')}`);
  return found;
};

describe(`migrate plan on ${server().flavour}`, () => {
  it('inventories the source and classifies every item', async () => {
    const { source, target } = await readPlanInventories(root, { from, to });
    const kv = source.kv.find((k) => k.mount === m.kv);
    expect(kv).toMatchObject({
      kvVersion: '2',
      secrets: 2,
      versions: 4,
      deletedVersions: 1,
      destroyedVersions: 0,
    });
    expect(
      source.transitKeys.filter((k) => k.mount === m.transit).map((k) => [k.name, k.exportable]),
    ).toEqual([
      ['locked', false],
      ['portable', true],
    ]);
    expect(source.authMethods.find((a) => a.path === `${m.approle}/`)?.roles).toEqual([
      expect.objectContaining({ name: 'web', secretIds: 2 }),
    ]);
    expect(source.identity.entities).toContain('svc-web');
    expect(source.pki.find((p) => p.mount === m.pki)?.issuers.map((i) => i.name)).toEqual(['team-a-root']);
    expect(source.database.find((d) => d.mount === m.db)).toEqual({
      mount: m.db,
      connections: [{ name: 'pg', plugin: 'postgresql-database-plugin' }],
      roles: ['readonly'],
      staticRoles: [],
    });

    const plan = buildMigrationPlan(source, target);
    expect(item(plan, `${m.kv}/`)).toMatchObject({ kind: 'secrets-engine', verdict: 'exact' });
    expect(plan.items.find((i) => i.kind === 'kv-data' && i.name === `${m.kv}/`)).toMatchObject({
      verdict: 'caveat',
      detail: '2 secrets, 4 versions (1 deleted, 0 destroyed, 0 pruned)',
    });
    expect(item(plan, `auth/${m.approle}/role/web`).action).toMatch(/secret IDs are reissued/);
    expect(item(plan, `auth/${m.userpass}/users/alice`).action).toMatch(/reset the user's password/);
    expect(item(plan, `${m.transit}/keys/locked`).verdict).toBe('caveat');
    expect(item(plan, `${m.transit}/keys/portable`).verdict).toBe('exact');
    expect(item(plan, `${m.pki}/issuer/team-a-root`).verdict).toBe('not-migratable');
    expect(item(plan, `${m.pki}/roles/web`).verdict).toBe('exact');
    expect(item(plan, `${m.db}/config/pg`).action).toMatch(/re-enter the connection's password/);
    expect(item(plan, `${m.db}/roles/readonly`).verdict).toBe('exact');
    expect(item(plan, 'entity svc-web').verdict).toBe('caveat');
    expect(item(plan, 'policy app').verdict).toBe('exact');

    if (openbao) {
      expect(item(plan, 'policy nested')).toMatchObject({
        verdict: 'caveat',
        action: expect.stringContaining('sub/secret/data/*'),
      });
      const conflicts = plan.items.filter((i) => i.conflict).map((i) => [i.name, i.conflict]);
      expect(conflicts).toEqual([
        ['transit/', 'the target has a kv mount at transit/'],
        ['policy app', "the target's policy app has other rules"],
      ]);
      expect(plan.gaps).toEqual([]);
      expect(plan.summary.ready).toBe(false);
    } else {
      expect(plan.gaps).toEqual([expect.objectContaining({ missing: 'namespaces', blocking: true })]);
      expect(plan.summary.ready).toBe(false);
    }
  });

  it('prints the plan as a table and as JSON, with no secret value', async () => {
    const table: string[] = [];
    await migratePlanCommand({ from: from || '/', to }, (l) => table.push(l));
    const json: string[] = [];
    const plan = await migratePlanCommand({ from: from || '/', to, format: 'json' }, (l) => json.push(l));
    expect(table.join('\n')).toMatch(new RegExp(`auth-role\\s+auth/${m.approle}/role/web\\s+caveat`));
    expect(table.at(-1)).toBe('Not ready: resolve the conflicts and blocking gaps above first.');
    expect(JSON.parse(json.join('\n'))).toEqual(JSON.parse(JSON.stringify(plan)));
    for (const text of [table.join('\n'), json.join('\n')]) expect(text).not.toContain(marker);
    if (!openbao)
      expect(table).toContain(
        'Gap (blocking): the target lacks namespaces: the target server (HashiCorp Vault 1.21.0) has no namespaces, ' +
          'so team-b cannot exist there; migrate into another cluster or mount paths of the root namespace',
      );
  });

  it('refuses a source namespace that does not exist', async () => {
    const missing = openbao ? `${from}-missing` : 'team-a';
    await expect(migratePlanCommand({ from: missing, to }, () => {})).rejects.toThrow(
      openbao ? /does not exist/ : /has no namespaces: use --from \//,
    );
  });
});
