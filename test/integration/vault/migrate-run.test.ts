// `vaultops migrate run` end to end against the real server, through the workflow (time-skipping
// Temporal, real activities). On OpenBao: <admin>/team-a -> <admin>/team-b (created by the
// migration). Vault Community has no namespaces: there the same source (its own mounts and policy
// in the root namespace) is migrated into prefixed mounts of the root namespace (`prefix` and
// `only`). The source holds KV histories (a soft-deleted version, custom metadata), an AppRole
// role, a userpass user, a policy, a transit key that is exportable with plaintext backup and one
// that is not. Checked item by item at the target; an app logs in with AppRole (a NEW secret ID
// issued at the target) and reads KV there after cutover; a write made while the copy ran reaches
// the target through the delta copy; a cancelled migration removes only what it created; and the
// histories hold no secret value, secret ID, password or backup.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrateRunActivities } from '../../../activities/migrate/run.js';
import type { MigrateRunInput } from '../../../common/migrate/run.js';
import { VaultClient } from '../../../vault/client.js';
import { readMetadata, readSecret, softDelete, writeMetadata, writeSecret } from '../../../vault/kv.js';
import { createNamespace, readPolicy, writePolicy } from '../../../vault/sys.js';
import { decrypt, encrypt, readKey } from '../../../vault/transit.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { confirmFreezeUpdate } from '../../../workflows/migrate/messages.js';
import { type MigrateResult, migrateWorkflow } from '../../../workflows/migrate/migrate.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const openbao = server().flavour === 'openbao';
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
const ledgerMount = unique('ledger');

/** One source: its namespace, names, and where its copy lands. */
interface Source {
  from: string;
  to: string;
  prefix: string;
  kv: string;
  transit: string;
  pki: string;
  approle: string;
  userpass: string;
  policy: string;
  /** Target names (prefixed on Vault). */
  t: { kv: string; transit: string; pki: string; approle: string; userpass: string; policy: string };
  only?: { mounts: string[]; policies: string[] };
  roleId: string;
  oldSecretId: string;
  password: string;
  ciphertext: string;
}

const secretValue = (label: string) => {
  const value = `${label}-${unique('value')}-${unique('v')}`;
  rememberSecret(value, label);
  return value;
};

async function seedSource(): Promise<Source> {
  let from = '';
  let to = '';
  let prefix = '';
  if (openbao) {
    const admin = unique('admin');
    await createNamespace(root, admin);
    await createNamespace(root.withNamespace(admin), 'team-a');
    from = `${admin}/team-a`;
    to = `${admin}/team-b`; // created by the migration
  } else prefix = `${unique('to')}-`;
  const name = (base: string) => (openbao ? base : unique(base));
  const s = {
    kv: name('secret'),
    transit: name('transit'),
    pki: name('pki'),
    approle: name('approle'),
    userpass: name('userpass'),
  };
  const policy = name('app-read');
  const t = {
    kv: `${prefix}${s.kv}`,
    transit: `${prefix}${s.transit}`,
    pki: `${prefix}${s.pki}`,
    approle: `${prefix}${s.approle}`,
    userpass: `${prefix}${s.userpass}`,
    policy: `${prefix}${policy}`,
  };
  const src = root.withNamespace(from);
  await src.write(`sys/mounts/${s.kv}`, { type: 'kv', options: { version: '2' } });
  await src.write(`sys/mounts/${s.transit}`, { type: 'transit', config: { default_lease_ttl: '1h' } });
  await src.write(`sys/mounts/${s.pki}`, { type: 'pki', config: { max_lease_ttl: '720h' } });
  await src.write(`${s.pki}/roles/web`, {
    allowed_domains: ['example.com'],
    allow_subdomains: true,
    max_ttl: '24h',
  });
  await src.write(`sys/auth/${s.approle}`, { type: 'approle' });
  await src.write(`sys/auth/${s.userpass}`, { type: 'userpass', description: 'people' });
  await writePolicy(src, policy, `path "${s.kv}/data/app/*" {\n  capabilities = ["read"]\n}\n`);
  // KV histories: app/db with three versions (v2 soft-deleted), app/api with custom metadata.
  for (let v = 1; v <= 3; v++) await writeSecret(src, s.kv, 'app/db', { password: secretValue(`db v${v}`) });
  await softDelete(src, s.kv, 'app/db', [2]);
  await writeSecret(src, s.kv, 'app/api', { token: secretValue('api v1') });
  await writeMetadata(src, s.kv, 'app/api', { customMetadata: { owner: 'team-a' }, maxVersions: 5 });
  // Transit: one key that may move whole, one that may not.
  await src.write(`${s.transit}/keys/portable`, {
    type: 'aes256-gcm96',
    exportable: true,
    allow_plaintext_backup: true,
  });
  await src.write(`${s.transit}/keys/portable/rotate`, {});
  await src.write(`${s.transit}/keys/pinned`, { type: 'aes256-gcm96' });
  // The key material and a backup of it: neither may reach a history.
  const exported = (await src.read(`${s.transit}/export/encryption-key/portable`)) as {
    data: { keys: Record<string, string> };
  };
  for (const [v, key] of Object.entries(exported.data.keys)) rememberSecret(key, `transit key v${v}`);
  const backup = (await src.read(`${s.transit}/backup/portable`)) as { data: { backup: string } };
  rememberSecret(backup.data.backup, 'transit backup');
  const ciphertext = await encrypt(src, s.transit, 'portable', {
    plaintext: secretValue('transit plaintext'),
  });
  // AppRole: a role with a secret ID at the source (which is not copied); userpass: alice.
  await src.write(`auth/${s.approle}/role/web`, {
    token_policies: [policy],
    secret_id_ttl: '1h',
    token_ttl: '10m',
  });
  const roleId = ((await src.read(`auth/${s.approle}/role/web/role-id`)) as { data: { role_id: string } })
    .data.role_id;
  rememberSecret(roleId, 'source role ID');
  const oldSecretId = (
    (await src.write(`auth/${s.approle}/role/web/secret-id`, {})) as { data: { secret_id: string } }
  ).data.secret_id;
  rememberSecret(oldSecretId, 'source secret ID');
  const password = secretValue('alice password');
  await src.write(`auth/${s.userpass}/users/alice`, { password, token_policies: [policy] });
  return {
    from,
    to,
    prefix,
    ...s,
    policy,
    t,
    ...(openbao
      ? {}
      : {
          only: {
            mounts: [`${s.kv}/`, `${s.transit}/`, `${s.pki}/`, `auth/${s.approle}/`, `auth/${s.userpass}/`],
            policies: [policy],
          },
        }),
    roleId,
    oldSecretId,
    password,
    ciphertext,
  };
}

beforeAll(async () => {
  await root.write(`sys/mounts/${ledgerMount}`, { type: 'kv', options: { version: '2' } });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await root.close();
});

const inputFor = (s: Source, id: string): MigrateRunInput => ({
  id,
  from: s.from,
  to: s.to,
  ...(s.prefix ? { prefix: s.prefix } : {}),
  ...(s.only ? { only: s.only } : {}),
  approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
  graceMs: 1500,
  ledgerMount,
  kvBatchSize: 1,
  batchesPerRun: 1, // every batch continues as new: the cursor must survive it
});

type Script = {
  duringFreeze?: () => Promise<void>;
  cancelAtFreeze?: boolean;
  beforeRetire?: () => Promise<void>;
};

async function run(input: MigrateRunInput, script: Script): Promise<MigrateResult> {
  const taskQueue = unique('migrate');
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
    const waitFor = async (name: string, state: string) => {
      for (let waited = 0; waited < 40_000; waited += 100) {
        // A query racing a continue-as-new may wait long: bounded, and asked again.
        const { steps } = await env.client
          .withDeadline(Date.now() + 3000, () => handle.query(workflowStatusQuery))
          .catch(() => ({ steps: [] as { name: string; state: string; detail: string | null }[] }));
        if (steps.some((s) => s.name === name && s.state === state)) return;
        const failed = steps.find((s) => s.state === 'failed' || s.state === 'queued-sealed');
        if (failed) throw new Error(`step ${failed.name} failed: ${failed.detail}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`step ${name} never reached ${state}`);
    };
    // The result once the workflow has closed: awaiting a running chain of continued-as-new runs
    // in the time-skipping server now and then never returns.
    const closed = async () => {
      for (let waited = 0; waited < 40_000; waited += 100) {
        const { status } = await env.client
          .withDeadline(Date.now() + 3000, () => handle.describe())
          .catch(() => ({
            status: { name: 'RUNNING' },
          }));
        if (status.name !== 'RUNNING') return env.client.workflow.getHandle(workflowId).result();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${workflowId} never closed`);
    };
    const approve = () =>
      handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'integration' }] });
    await waitFor('approve', 'waiting-approval');
    await approve();
    await waitFor('freeze', 'waiting-approval');
    if (script.cancelAtFreeze) {
      await handle.cancel();
      return closed();
    }
    await script.duringFreeze?.();
    await handle.executeUpdate(confirmFreezeUpdate, { args: [{ operator: 'carol' }] });
    // The grace period is a durable timer of a few real seconds here (time-skipping's sleep would
    // race the retirement's approval deadline).
    await waitFor('approve-retire', 'waiting-approval');
    await script.beforeRetire?.();
    await approve();
    // Polled to its end, then its result read (see closed()).
    await waitFor('retire', 'done');
    return closed();
  });
}

describe(`migrate run (${openbao ? 'namespace -> nested namespace' : 'root namespace -> prefixed mounts'})`, () => {
  let s: Source;
  let result: MigrateResult;
  let src: VaultClient;
  let dst: VaultClient;
  /** How the source answered a read between cutover and retirement. */
  let sourceInGrace: string;

  beforeAll(async () => {
    s = await seedSource();
    src = root.withNamespace(s.from);
    dst = root.withNamespace(s.to);
    result = await run(inputFor(s, unique('m')), {
      // Written after the copy, before the freeze is confirmed: the delta copy must bring it.
      duringFreeze: async () => {
        await writeSecret(src, s.kv, 'app/db', { password: secretValue('db v4') });
      },
      beforeRetire: async () => {
        sourceInGrace = await readMetadata(src, s.kv, 'app/db').then(
          () => 'readable',
          (err: Error) => err.message,
        );
      },
    });
  }, 120_000);

  it('copies every KV version in order, the delta included, with metadata', async () => {
    expect(result.kv).toMatchObject({ paths: 2, mismatched: 0 });
    expect(result.runs).toBeGreaterThanOrEqual(2); // continued as new between batches
    expect(result.delta).toMatchObject({ changed: 1, versionsWritten: 1 });
    for (const path of ['app/db', 'app/api']) {
      const a = await readMetadata(src, s.kv, path);
      const b = await readMetadata(dst, s.t.kv, path);
      expect(b.current_version).toBe(a.current_version);
      expect(b.custom_metadata ?? {}).toEqual(a.custom_metadata ?? {});
      expect(b.max_versions).toBe(a.max_versions);
      for (const [v, meta] of Object.entries(a.versions)) {
        expect(b.versions[v]?.deletion_time !== '', `${path} v${v} deleted`).toBe(meta.deletion_time !== '');
        if (meta.deletion_time === '')
          expect((await readSecret(dst, s.t.kv, path, { version: Number(v) })).data).toEqual(
            (await readSecret(src, s.kv, path, { version: Number(v) })).data,
          );
      }
    }
    expect((await readMetadata(dst, s.t.kv, 'app/db')).current_version).toBe(4);
  });

  it('copies the policy, adjusted to the prefixed mount where there is one', async () => {
    const text = await readPolicy(dst, s.t.policy);
    expect(text).toContain(`path "${s.t.kv}/data/app/*"`);
  });

  it('moves the exportable transit key whole (old ciphertexts decrypt), re-creates the other', async () => {
    expect((await readKey(dst, s.t.transit, 'portable')).latest_version).toBe(2);
    const plain = await decrypt(dst, s.t.transit, 'portable', s.ciphertext);
    expect(plain.toString()).toMatch(/^transit plaintext-/);
    expect((await readKey(dst, s.t.transit, 'pinned')).latest_version).toBe(1);
    expect(result.verify.recreatedKeys).toEqual([`${s.t.transit}/keys/pinned`]);
    expect(result.caveats.some((c) => c.includes('pinned') && c.includes('re-created'))).toBe(true);
  });

  it('AppRole: the role ID is kept, the old secret ID is not; an app logs in with a new one and reads KV', async () => {
    const roleId = ((await dst.read(`auth/${s.t.approle}/role/web/role-id`)) as { data: { role_id: string } })
      .data.role_id;
    expect(roleId).toBe(s.roleId);
    await expect(
      dst.write(`auth/${s.t.approle}/login`, { role_id: s.roleId, secret_id: s.oldSecretId }),
    ).rejects.toThrow();
    const secretId = (
      (await dst.write(`auth/${s.t.approle}/role/web/secret-id`, {})) as { data: { secret_id: string } }
    ).data.secret_id;
    rememberSecret(secretId, 'target secret ID');
    const login = (await dst.write(`auth/${s.t.approle}/login`, {
      role_id: s.roleId,
      secret_id: secretId,
    })) as {
      auth: { client_token: string; policies: string[] };
    };
    expect(login.auth.policies).toContain(s.t.policy);
    const app = new VaultClient({ address: server().address, timeoutMs: 10_000 }).withNamespace(s.to);
    app.tokens.set(login.auth.client_token);
    try {
      const latest = await readSecret(app, s.t.kv, 'app/db');
      expect(latest.metadata.version).toBe(4);
      expect(String(latest.data.password)).toMatch(/^db v4-/);
    } finally {
      await app.close();
    }
    expect(result.caveats.some((c) => c.includes('/role/web') && c.includes('secret IDs'))).toBe(true);
  });

  it('copies PKI roles with their settings (issuers are not migratable)', async () => {
    const role = (await dst.read(`${s.t.pki}/roles/web`)) as {
      data: { allowed_domains: string[]; max_ttl: number };
    };
    expect(role.data.allowed_domains).toEqual(['example.com']);
    expect(role.data.max_ttl).toBe(86_400);
  });

  it('userpass: the user exists with its settings, flagged reset required; the old password does not work', async () => {
    const user = (await dst.read(`auth/${s.t.userpass}/users/alice`)) as {
      data: { token_policies: string[] };
    };
    expect(user.data.token_policies).toEqual([s.t.policy]);
    await expect(dst.write(`auth/${s.t.userpass}/login/alice`, { password: s.password })).rejects.toThrow();
    expect(result.caveats.some((c) => c.includes('users/alice') && c.includes('reset required'))).toBe(true);
  });

  it(`${openbao ? 'locks the source namespace API' : 'cannot lock the root namespace'} from cutover until the retirement`, () => {
    if (openbao) {
      expect(result.cutover).toMatchObject({ locked: true, lockNote: null });
      expect(sourceInGrace).toMatch(/lock/i);
    } else {
      expect(result.cutover).toMatchObject({ locked: false, lockNote: 'the root namespace has no API lock' });
      expect(sourceInGrace).toBe('readable');
    }
  });

  it('records the cutover, and marks (does not delete) the source after the second approval', async () => {
    expect(result.retired).toBe('marked');
    const record = await readSecret(root, ledgerMount, `vaultops/migrations/${result.id}/cutover`);
    expect(record.data).toMatchObject({ source: s.from || '(root)', target: s.to || '(root)' });
    const mounts = (await src.read('sys/mounts')) as { data: Record<string, { description: string }> };
    expect(mounts.data[`${s.kv}/`]?.description).toMatch(/^migrated to /);
    // The source still answers (unlocked after the grace), its data intact.
    expect((await readMetadata(src, s.kv, 'app/db')).current_version).toBe(4);
  });

  it('a cancelled migration removes only what it created', async () => {
    const again = await seedSource();
    // Already at the target, identical: skipped by the migration, and left by its rollback.
    const target = root.withNamespace(again.to);
    if (openbao) await createNamespace(root.withNamespace(again.to.split('/')[0] as string), 'team-b');
    const text = await readPolicy(root.withNamespace(again.from), again.policy);
    const { adjustPolicyText } = await import('../../../common/migrate/run.js');
    const adjusted = adjustPolicyText(text, { from: again.from, to: again.to, prefix: again.prefix }, [
      `${again.kv}/`,
    ]);
    await writePolicy(target, again.t.policy, adjusted.text);
    const outcome = await run(inputFor(again, unique('m')), { cancelAtFreeze: true }).then(
      () => 'completed',
      (err: Error) => err.name,
    );
    expect(outcome).toBe('WorkflowFailedError');
    const mounts = (await target.read('sys/mounts')) as { data: Record<string, unknown> };
    const auth = (await target.read('sys/auth')) as { data: Record<string, unknown> };
    expect(Object.keys(mounts.data)).not.toContain(`${again.t.kv}/`);
    expect(Object.keys(mounts.data)).not.toContain(`${again.t.transit}/`);
    expect(Object.keys(auth.data)).not.toContain(`${again.t.approle}/`);
    expect(await readPolicy(target, again.t.policy)).toBe(adjusted.text); // it was there before
    // The source is untouched.
    expect((await readMetadata(root.withNamespace(again.from), again.kv, 'app/db')).current_version).toBe(3);
  });

  it('a cancelled migration into a new target removes what it created there, namespaces included', async () => {
    const fresh = await seedSource();
    // OpenBao: two levels that do not exist yet; both are created, and both removed again.
    const to = openbao ? `${fresh.from.split('/')[0]}/team-c/deep` : fresh.to;
    const id = unique('m');
    const outcome = await run({ ...inputFor(fresh, id), to }, { cancelAtFreeze: true }).then(
      () => 'completed',
      (err: Error) => err.name,
    );
    expect(outcome).toBe('WorkflowFailedError');
    const ledger = await readSecret(root, ledgerMount, `vaultops/migrations/${id}`);
    const removed = JSON.parse(String(ledger.data.rolledBack)) as string[];
    expect(ledger.data.entries).toBe('[]');
    if (openbao) {
      expect(removed.slice(-2)).toEqual([
        `namespace ${to.split('/').slice(0, 2).join('/')}/deep`,
        `namespace ${to.split('/').slice(0, 2).join('/')}`,
      ]);
      const parent = root.withNamespace(to.split('/')[0] as string);
      await expect(parent.read('sys/namespaces/team-c')).rejects.toThrow(/404|not found/i);
    } else {
      const mounts = (await root.read('sys/mounts')) as { data: Record<string, unknown> };
      expect(Object.keys(mounts.data).filter((m) => m.startsWith(fresh.prefix))).toEqual([]);
      expect(removed).toContain(`mount ${fresh.t.kv}/`);
    }
  });

  it('leaves no secret value, secret ID, password or backup in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length + 1);
  });
});
