// `vaultops migrate run` for identity, the database engine and KV v1, against the real server and a
// real PostgreSQL, through the workflow (time-skipping Temporal, real activities). On OpenBao:
// <admin>/team-a -> <admin>/team-b; on Vault Community (no namespaces) the same source in the root
// namespace -> prefixed mounts, policies, entities and groups of the root namespace. The source
// holds entities with aliases (one on an auth mount that is NOT migrated), internal groups (one a
// member of the other), an external group with a group alias, a database mount with a connection
// to PostgreSQL, a dynamic and a static role, and a KV v1 mount. Checked item by item at the
// target: an alias re-linked to the migrated mount is proven by a login landing on the migrated
// entity; the database connection, once its password is re-entered, issues credentials that log
// in to PostgreSQL; KV v1 values match, the delta included. A cancelled migration removes only
// what it created (an identical entity the target had before stays, with its ID); and the
// histories hold no secret value, password or database credential.
import { createSign, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrateRunActivities } from '../../../activities/migrate/run.js';
import type { MigrateRunInput } from '../../../common/migrate/run.js';
import type { VaultClient } from '../../../vault/client.js';
import { readEntity, readGroup } from '../../../vault/identity.js';
import { createNamespace, readPluginCatalog, writePolicy } from '../../../vault/sys.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { confirmFreezeUpdate } from '../../../workflows/migrate/messages.js';
import { type MigrateResult, migrateWorkflow } from '../../../workflows/migrate/migrate.js';
import { type DatabaseServer, startPostgres } from '../../harness/databases.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const openbao = server().flavour === 'openbao';
const dir = mkdtempSync(join(tmpdir(), 'vaultops-migrate-id-'));
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let db: DatabaseServer;
const ledgerMount = unique('ledger');

const secretValue = (label: string) => {
  const value = `${label}-${unique('value')}-${unique('v')}`;
  rememberSecret(value, label);
  return value;
};

/** One source: its namespace, names (source and target), and the mapping. */
interface Source {
  from: string;
  to: string;
  prefix: string;
  /** Source names. */
  n: {
    up: string;
    other: string;
    db: string;
    legacy: string;
    policy: string;
    web: string;
    batch: string;
    ops: string;
    devs: string;
    ext: string;
    jwt: string;
    cert: string;
    ldap: string;
    k8s: string;
  };
  /** Target names (prefixed on Vault Community). */
  t: Source['n'];
  only: NonNullable<MigrateRunInput['only']>;
  alicePassword: string;
}

async function seedSource(): Promise<Source> {
  let from = '';
  let to = '';
  let prefix = '';
  if (openbao) {
    const admin = unique('admin');
    await createNamespace(root, admin);
    await createNamespace(root.withNamespace(admin), 'team-a');
    from = `${admin}/team-a`;
    to = `${admin}/team-b`;
  } else prefix = `${unique('to')}-`;
  const name = (base: string) => (openbao ? base : unique(base));
  const n = {
    up: name('userpass'),
    other: name('github-like'),
    db: name('database'),
    legacy: name('legacy'),
    policy: name('app-read'),
    web: name('svc-web'),
    batch: name('svc-batch'),
    ops: name('ops'),
    devs: name('devs'),
    ext: name('engineers'),
    jwt: name('jwt'),
    cert: name('cert'),
    ldap: name('ldap'),
    k8s: name('kubernetes'),
  };
  const t = Object.fromEntries(
    Object.entries(n).map(([k, v]) => [k, k === 'other' ? v : `${prefix}${v}`]),
  ) as Source['n'];
  const src = root.withNamespace(from);
  await src.write(`sys/auth/${n.up}`, { type: 'userpass' });
  await src.write(`sys/auth/${n.other}`, { type: 'userpass' }); // not migrated (not selected)
  await writePolicy(src, n.policy, `path "${n.legacy}/*" {\n  capabilities = ["read"]\n}\n`);
  const alicePassword = secretValue('alice password');
  await src.write(`auth/${n.up}/users/alice`, { password: alicePassword });
  const accessors = (await src.read('sys/auth')) as { data: Record<string, { accessor: string }> };
  const accessor = (mount: string) => accessors.data[`${mount}/`]?.accessor as string;
  // Entities: svc-web with metadata and two aliases (one on the mount that is not migrated).
  await src.write(`identity/entity/name/${n.web}`, { policies: [n.policy], metadata: { team: 'a' } });
  await src.write(`identity/entity/name/${n.batch}`, { policies: [] });
  const id = async (kind: 'entity' | 'group', nm: string) =>
    ((await src.read(`identity/${kind}/name/${nm}`)) as { data: { id: string } }).data.id;
  const webId = await id('entity', n.web);
  const batchId = await id('entity', n.batch);
  await src.write('identity/entity-alias', {
    name: 'alice',
    mount_accessor: accessor(n.up),
    canonical_id: webId,
  });
  await src.write('identity/entity-alias', {
    name: 'web-gh',
    mount_accessor: accessor(n.other),
    canonical_id: webId,
  });
  await src.write('identity/entity-alias', {
    name: 'batch',
    mount_accessor: accessor(n.up),
    canonical_id: batchId,
  });
  // Groups: devs (batch) is a member of ops (web); ext is external with a group alias.
  await src.write(`identity/group/name/${n.devs}`, { policies: [n.policy], member_entity_ids: [batchId] });
  await src.write(`identity/group/name/${n.ops}`, {
    policies: ['default'],
    metadata: { oncall: 'yes' },
    member_entity_ids: [webId],
    member_group_ids: [await id('group', n.devs)],
  });
  await src.write(`identity/group/name/${n.ext}`, { type: 'external', policies: [n.policy] });
  await src.write('identity/group-alias', {
    name: 'engineering',
    mount_accessor: accessor(n.up),
    canonical_id: await id('group', n.ext),
  });
  // Database: a connection to the real PostgreSQL, a dynamic role, a static role.
  await src.write(`sys/mounts/${n.db}`, { type: 'database' });
  await src.write(`${n.db}/config/pg`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${db.host}:${db.port}/postgres?sslmode=disable`,
    username: db.adminUser,
    password: db.adminPassword,
    allowed_roles: ['readonly', 'app-static'],
  });
  await src.write(`${n.db}/roles/readonly`, {
    db_name: 'pg',
    creation_statements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    ],
    default_ttl: '1h',
    max_ttl: '24h',
  });
  const staticUser = unique('static').replace(/-/g, '_');
  await asAdmin(`CREATE ROLE ${staticUser} WITH LOGIN PASSWORD '${unique('pw')}'`);
  await src.write(`${n.db}/static-roles/app-static`, {
    db_name: 'pg',
    username: staticUser,
    rotation_period: '24h',
  });
  await seedOtherAuth(src, n);
  // KV v1: two keys, one in a folder.
  await src.write(`sys/mounts/${n.legacy}`, { type: 'kv', options: { version: '1' } });
  await src.write(`${n.legacy}/a`, { value: secretValue('legacy a') });
  await src.write(`${n.legacy}/dir/b`, { value: secretValue('legacy b'), n: 2 });
  return {
    from,
    to,
    prefix,
    n,
    t,
    only: {
      mounts: [
        `auth/${n.up}/`,
        `${n.db}/`,
        `${n.legacy}/`,
        ...[n.jwt, n.cert, ...(hasLdap ? [n.ldap] : []), n.k8s].map((m) => `auth/${m}/`),
      ],
      policies: [n.policy],
      entities: [n.web, n.batch],
      groups: [n.ops, n.devs, n.ext],
    },
    alicePassword,
  };
}

/** The key that signs the test's JWTs; its public half is the source jwt mount's configuration. */
const jwtKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

function signJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createSign('RSA-SHA256').update(body).sign(jwtKeys.privateKey).toString('base64url')}`;
}

/** Whether the server has the LDAP auth method (this OpenBao build has none). */
let hasLdap = false;

const nonEmpty = (d: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(d).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)),
  );

/** JWT, TLS certificate, LDAP and Kubernetes methods with configuration and roles. */
async function seedOtherAuth(src: VaultClient, n: Source['n']): Promise<void> {
  hasLdap = (await readPluginCatalog(root)).auth.includes('ldap');
  for (const [path, type] of [
    [n.jwt, 'jwt'],
    [n.cert, 'cert'],
    [n.ldap, 'ldap'],
    [n.k8s, 'kubernetes'],
  ] as const)
    if (type !== 'ldap' || hasLdap) await src.write(`sys/auth/${path}`, { type });
  await src.write(`auth/${n.jwt}/config`, {
    jwt_validation_pubkeys: [jwtKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    bound_issuer: 'https://issuer.example',
  });
  await src.write(`auth/${n.jwt}/role/dev`, {
    role_type: 'jwt',
    user_claim: 'sub',
    bound_audiences: ['vaultops'],
    token_policies: [n.policy],
    token_ttl: '10m',
  });
  // A CA certificate for the cert method: a PKI root made for the purpose (not migrated).
  const pki = unique('pki-ca');
  await src.write(`sys/mounts/${pki}`, { type: 'pki' });
  const ca = (await src.write(`${pki}/root/generate/internal`, { common_name: 'clients', ttl: '24h' })) as {
    data: { certificate: string };
  };
  await src.write(`auth/${n.cert}/certs/web`, {
    certificate: ca.data.certificate,
    allowed_common_names: ['web.example.com'],
    token_policies: [n.policy],
  });
  if (hasLdap) await seedLdap(src, n);
  await src.write(`auth/${n.k8s}/config`, {
    kubernetes_host: 'https://127.0.0.1:6443',
    kubernetes_ca_cert: ca.data.certificate, // any CA will do: nothing contacts the host here
    disable_local_ca_jwt: true,
  });
  await src.write(`auth/${n.k8s}/role/app`, {
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['default'],
    token_policies: [n.policy],
  });
}

async function seedLdap(src: VaultClient, n: Source['n']): Promise<void> {
  await src.write(`auth/${n.ldap}/config`, {
    url: 'ldap://127.0.0.1:1',
    binddn: 'cn=vault,dc=example,dc=com',
    bindpass: secretValue('ldap bind password'),
    userdn: 'ou=users,dc=example,dc=com',
    groupdn: 'ou=groups,dc=example,dc=com',
  });
  await src.write(`auth/${n.ldap}/groups/admins`, { policies: [n.policy] });
  await src.write(`auth/${n.ldap}/users/bob`, { groups: 'admins', policies: ['default'] });
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({
    host: db.host,
    port: db.port,
    user: db.adminUser,
    password: db.adminPassword,
    database: 'postgres',
  });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

beforeAll(async () => {
  await root.write(`sys/mounts/${ledgerMount}`, { type: 'kv', options: { version: '2' } });
  [env, bundle, db] = await Promise.all([
    createTimeSkippingEnv(),
    bundleVaultopsWorkflows(),
    startPostgres(join(dir, 'pg')),
  ]);
  rememberSecret(db.adminPassword, 'PostgreSQL admin password');
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await db?.process.stop();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

const inputFor = (s: Source, id: string): MigrateRunInput => ({
  id,
  from: s.from,
  to: s.to,
  ...(s.prefix ? { prefix: s.prefix } : {}),
  only: s.only,
  approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
  graceMs: 1000,
  ledgerMount,
});

async function run(
  input: MigrateRunInput,
  script: { duringFreeze?: () => Promise<void>; cancelAtFreeze?: boolean },
): Promise<MigrateResult> {
  const taskQueue = unique('migrate-id');
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: createMigrateRunActivities({ vault: root }),
    workflowBundle: bundle,
  });
  const workflowId = `migrate:${input.id}`;
  ran.push(workflowId);
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(migrateWorkflow, { taskQueue, workflowId, args: [input] });
    const waitFor = async (step: string, state: string) => {
      for (let waited = 0; waited < 60_000; waited += 100) {
        const { steps } = await env.client
          .withDeadline(Date.now() + 3000, () => handle.query(workflowStatusQuery))
          .catch(() => ({ steps: [] as { name: string; state: string; detail: string | null }[] }));
        if (steps.some((s) => s.name === step && s.state === state)) return;
        const failed = steps.find((s) => s.state === 'failed' || s.state === 'queued-sealed');
        if (failed) throw new Error(`step ${failed.name} failed: ${failed.detail}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`step ${step} never reached ${state}`);
    };
    const approve = () =>
      handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'integration' }] });
    await waitFor('approve', 'waiting-approval');
    await approve();
    await waitFor('freeze', 'waiting-approval');
    if (script.cancelAtFreeze) {
      await handle.cancel();
      return handle.result();
    }
    await script.duringFreeze?.();
    await handle.executeUpdate(confirmFreezeUpdate, { args: [{ operator: 'carol' }] });
    await waitFor('approve-retire', 'waiting-approval');
    await approve();
    await waitFor('retire', 'done');
    return handle.result();
  });
}

describe(`migrate identity, database and KV v1 (${openbao ? 'namespace -> namespace' : 'root namespace -> prefixed names'})`, () => {
  let s: Source;
  let result: MigrateResult;
  let src: VaultClient;
  let dst: VaultClient;
  const values: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    s = await seedSource();
    src = root.withNamespace(s.from);
    dst = root.withNamespace(s.to);
    result = await run(inputFor(s, unique('m')), {
      // After the copy, before the freeze is confirmed: the KV v1 delta must bring both.
      duringFreeze: async () => {
        await src.write(`${s.n.legacy}/a`, { value: secretValue('legacy a v2') });
        await src.write(`${s.n.legacy}/c`, { value: secretValue('legacy c') });
      },
    });
    for (const key of ['a', 'dir/b', 'c'])
      values[key] = ((await src.read(`${s.n.legacy}/${key}`)) as { data: Record<string, unknown> }).data;
  }, 180_000);

  it('creates the entities with their policies (as the target names them) and metadata', async () => {
    const web = await readEntity(dst, s.t.web);
    expect(web).toMatchObject({ name: s.t.web, policies: [s.t.policy], metadata: { team: 'a' } });
    expect(web?.id).not.toBe((await readEntity(src, s.n.web))?.id);
    expect(await readEntity(dst, s.t.batch)).toMatchObject({ policies: [] });
    expect(result.verify.identity).toBe(5); // 2 entities, 3 groups, compared by digest
  });

  it('re-links aliases to the migrated auth mount; the alias on the mount not migrated is reported, not created', async () => {
    const auth = (await dst.read('sys/auth')) as { data: Record<string, { accessor: string }> };
    const upAccessor = auth.data[`${s.t.up}/`]?.accessor;
    const web = await readEntity(dst, s.t.web);
    expect(web?.aliases.map((a) => [a.name, a.mount_accessor])).toEqual([['alice', upAccessor]]);
    expect(
      result.caveats.some(
        (c) => c.includes('entity-alias web-gh') && c.includes(`auth/${s.n.other}/ is not migrated`),
      ),
    ).toBe(true);
    // Proof of the link: alice (password reset at the target, as the caveat says) logs in as svc-web.
    expect(result.caveats.some((c) => c.includes('users/alice') && c.includes('reset required'))).toBe(true);
    const password = secretValue('alice new password');
    await dst.write(`auth/${s.t.up}/users/alice`, { password });
    const login = (await dst.write(`auth/${s.t.up}/login/alice`, { password })) as {
      auth: { entity_id: string; identity_policies?: string[] };
    };
    expect(login.auth.entity_id).toBe(web?.id);
    expect(login.auth.identity_policies).toEqual(expect.arrayContaining([s.t.policy, 'default']));
  });

  it('creates the groups with members by name (nested group too) and the external group with its alias', async () => {
    const ops = await readGroup(dst, s.t.ops);
    const devs = await readGroup(dst, s.t.devs);
    const ext = await readGroup(dst, s.t.ext);
    expect(ops).toMatchObject({ type: 'internal', policies: ['default'], metadata: { oncall: 'yes' } });
    expect(ops?.member_entity_ids).toEqual([(await readEntity(dst, s.t.web))?.id]);
    expect(ops?.member_group_ids).toEqual([devs?.id]);
    expect(devs?.member_entity_ids).toEqual([(await readEntity(dst, s.t.batch))?.id]);
    const auth = (await dst.read('sys/auth')) as { data: Record<string, { accessor: string }> };
    expect(ext).toMatchObject({ type: 'external', policies: [s.t.policy] });
    expect(ext?.alias).toMatchObject({
      name: 'engineering',
      mount_accessor: auth.data[`${s.t.up}/`]?.accessor,
    });
  });

  it('copies the database connection without its password; re-entered, it issues credentials that log in', async () => {
    const conn = (await dst.read(`${s.t.db}/config/pg`)) as {
      data: { plugin_name: string; connection_details: Record<string, unknown>; allowed_roles: string[] };
    };
    const orig = (await src.read(`${s.n.db}/config/pg`)) as typeof conn;
    expect(conn.data.plugin_name).toBe('postgresql-database-plugin');
    expect(conn.data.connection_details).toEqual(orig.data.connection_details);
    expect(conn.data.connection_details.connection_url).toContain('{{username}}:{{password}}@');
    expect(conn.data.allowed_roles).toEqual(['readonly', 'app-static']);
    expect(
      result.caveats.some((c) =>
        c.includes(`re-enter the connection's password (vault write ${s.t.db}/config/pg password=…)`),
      ),
    ).toBe(true);
    // The static role is not created (creating it would rotate the user's password): reported.
    await expect(dst.read(`${s.t.db}/static-roles/app-static`)).rejects.toThrow();
    expect(result.caveats.some((c) => c.includes('static-roles/app-static: not migrated'))).toBe(true);
    // The operator re-enters the password, as the caveat says; the copied role then works.
    await dst.write(`${s.t.db}/config/pg`, { password: db.adminPassword });
    const creds = (await dst.read(`${s.t.db}/creds/readonly`)) as {
      data: { username: string; password: string };
      lease_id: string;
    };
    rememberSecret(creds.data.password, 'dynamic database password');
    const client = new pg.Client({
      host: db.host,
      port: db.port,
      user: creds.data.username,
      password: creds.data.password,
      database: 'postgres',
    });
    await client.connect();
    try {
      expect((await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).toBe(
        creds.data.username,
      );
    } finally {
      await client.end();
    }
    await dst.write('sys/leases/revoke', { lease_id: creds.lease_id });
    expect(result.verify.database).toBe(2); // the connection and the dynamic role
  });

  it('copies JWT, cert, LDAP and Kubernetes configuration (minus secrets) and roles; a JWT login works at the target', async () => {
    const read = async (vault: VaultClient, path: string) =>
      ((await vault.read(path)) as { data: Record<string, unknown> }).data;
    for (const [m, item] of [
      ['jwt', 'role/dev'],
      ['cert', 'certs/web'],
      ['ldap', 'groups/admins'],
      ['ldap', 'users/bob'],
      ['k8s', 'role/app'],
    ] as const) {
      if (m === 'ldap' && !hasLdap) continue;
      // null and [] are the same setting (servers store an unset list either way).
      const a = nonEmpty(await read(src, `auth/${s.n[m]}/${item}`));
      const b = nonEmpty(await read(dst, `auth/${s.t[m]}/${item}`));
      const policies = (d: Record<string, unknown>) => d.token_policies ?? d.policies;
      // Everything but the policy names (prefixed on Vault Community) is as at the source.
      expect({ ...b, token_policies: null, policies: null }, `${m} ${item}`).toEqual({
        ...a,
        token_policies: null,
        policies: null,
      });
      expect(policies(b), `${m} ${item}`).toEqual(
        (policies(a) as string[]).map((p) => (p === s.n.policy ? s.t.policy : p)),
      );
    }
    if (hasLdap) {
      const ldap = await read(dst, `auth/${s.t.ldap}/config`);
      expect(ldap).toMatchObject({ url: 'ldap://127.0.0.1:1', binddn: 'cn=vault,dc=example,dc=com' });
      expect(result.caveats).toContain(
        `auth/${s.t.ldap}/config: re-enter bindpass at the target (Vault never returns it)`,
      );
    }
    expect(await read(dst, `auth/${s.t.k8s}/config`)).toMatchObject({
      kubernetes_host: 'https://127.0.0.1:6443',
    });
    // The JWT method's configuration and role are proven by a login.
    const now = Math.floor(Date.now() / 1000);
    const jwt = signJwt({
      sub: 'ci',
      aud: 'vaultops',
      iss: 'https://issuer.example',
      iat: now,
      nbf: now,
      exp: now + 300,
    });
    rememberSecret(jwt, 'JWT');
    const login = (await dst.write(`auth/${s.t.jwt}/login`, { role: 'dev', jwt })) as {
      auth: { policies: string[] };
    };
    expect(login.auth.policies).toContain(s.t.policy);
  });

  it('copies KV v1 to a KV v1 mount, the delta included, value by value', async () => {
    const mounts = (await dst.read('sys/mounts')) as {
      data: Record<string, { options: { version?: string } | null }>;
    };
    expect(mounts.data[`${s.t.legacy}/`]?.options?.version ?? '1').toBe('1');
    for (const key of ['a', 'dir/b', 'c'])
      expect(((await dst.read(`${s.t.legacy}/${key}`)) as { data: unknown }).data, key).toEqual(values[key]);
    expect(String(values.a?.value)).toMatch(/^legacy a v2-/);
    expect(result.delta.changed).toBeGreaterThanOrEqual(2);
  });

  it('a cancelled migration removes only what it created; an identical entity the target had stays', async () => {
    const again = await seedSource();
    const target = root.withNamespace(again.to);
    if (openbao) await createNamespace(root.withNamespace(again.to.split('/')[0] as string), 'team-b');
    // Already at the target, identical (as the target names its policy): skipped, and kept.
    await target.write(`identity/entity/name/${again.t.web}`, {
      policies: [again.t.policy],
      metadata: { team: 'a' },
    });
    const before = await readEntity(target, again.t.web);
    const outcome = await run(inputFor(again, unique('m')), { cancelAtFreeze: true }).then(
      () => 'completed',
      (err: Error) => err.name,
    );
    expect(outcome).toBe('WorkflowFailedError');
    const kept = await readEntity(target, again.t.web);
    expect(kept?.id).toBe(before?.id);
    // Its alias was created by the migration: removed with the rollback.
    expect(kept?.aliases).toEqual([]);
    expect(await readEntity(target, again.t.batch)).toBeUndefined();
    for (const g of [again.t.ops, again.t.devs, again.t.ext])
      expect(await readGroup(target, g), g).toBeUndefined();
    const mounts = (await target.read('sys/mounts')) as { data: Record<string, unknown> };
    const auth = (await target.read('sys/auth')) as { data: Record<string, unknown> };
    expect(Object.keys(mounts.data)).not.toContain(`${again.t.db}/`);
    expect(Object.keys(mounts.data)).not.toContain(`${again.t.legacy}/`);
    expect(Object.keys(auth.data)).not.toContain(`${again.t.up}/`);
    // The source is untouched.
    expect(await readEntity(root.withNamespace(again.from), again.n.batch)).toMatchObject({
      name: again.n.batch,
    });
  });

  it('leaves no secret value, password or database credential in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
