// `vaultops migrate run --cluster <source> --target-cluster <target>` across two servers (issue
// 11, item 5): a HashiCorp Vault Community dev server's root namespace migrated into a new
// namespace of the OpenBao server, through the workflow (a Temporal dev server, the real
// activities, one worker holding a client per cluster as vault_clusters makes it), started by the
// CLI's own command with --cluster and --target-cluster. The source holds KV v2 histories (a soft-deleted version,
// custom metadata), a transit key that may move whole and one that may not, a PKI role, an AppRole
// role, a userpass user and policies; each is checked at the target, an app logs in with AppRole
// there after cutover and reads its KV, and the history holds no value, secret ID or backup.
// Run once: in the OpenBao pass of the integration suite (the target needs namespaces); the
// HashiCorp Vault server is started here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { createMigrateRunActivities } from '../../../activities/migrate/run.js';
import { migrateRunCommand } from '../../../client/commands/migrate/run.js';
import { toolPath } from '../../../client/stack/tools.js';
import { startVaultDevServer, type VaultDevServer } from '../../../client/stack/vault-dev.js';
import { VaultClient } from '../../../vault/client.js';
import { readMetadata, readSecret, softDelete, writeMetadata, writeSecret } from '../../../vault/kv.js';
import { readPolicy, writePolicy } from '../../../vault/sys.js';
import { decrypt, encrypt, readKey } from '../../../vault/transit.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import type { MigrateResult } from '../../../workflows/migrate/migrate.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { migrationDriver } from '../../harness/migrate-driver.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const openbao = server().flavour === 'openbao';
const SOURCE = 'hcv-source';
const TARGET = 'bao-target';
const taskQueue = 'migrate-cross-cluster';

const bao = rootClient();
const dir = mkdtempSync(join(tmpdir(), 'vaultops-migrate-x-'));
let hcvServer: VaultDevServer | undefined;
let hcv: VaultClient;
let env: TestWorkflowEnvironment | undefined;
let workflowId: string;
let result: MigrateResult;
const to = unique('from-hcv');
const ledgerMount = unique('ledger');

const secretValue = (label: string) => {
  const value = `${label}-${unique('value')}`;
  rememberSecret(value, label);
  return value;
};

/** What the source held, to compare with the target. */
const seeded = { roleId: '', password: '', ciphertext: '' };
const POLICY = 'app-read';
const POLICY_TEXT = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n';
const OPS_POLICY = 'ops';
const OPS_TEXT = 'path "transit/encrypt/*" {\n  capabilities = ["update"]\n}\n';

async function seedSource(src: VaultClient): Promise<void> {
  // KV v2 (the dev server's secret/): histories, one soft-deleted version, custom metadata.
  for (let v = 1; v <= 3; v++)
    await writeSecret(src, 'secret', 'app/db', { password: secretValue(`db v${v}`) });
  await softDelete(src, 'secret', 'app/db', [2]);
  await writeSecret(src, 'secret', 'app/api', { token: secretValue('api v1') });
  await writeSecret(src, 'secret', 'app/api', { token: secretValue('api v2') });
  await writeMetadata(src, 'secret', 'app/api', { customMetadata: { owner: 'team-a' }, maxVersions: 5 });
  for (let i = 0; i < 5; i++)
    await writeSecret(src, 'secret', `batch/s-${i}`, { n: secretValue(`batch ${i}`) });
  // Transit: one key that may move whole (rotated: two versions), one that may not.
  await src.write('sys/mounts/transit', { type: 'transit' });
  await src.write('transit/keys/portable', {
    type: 'aes256-gcm96',
    exportable: true,
    allow_plaintext_backup: true,
  });
  await src.write('transit/keys/portable/rotate', {});
  await src.write('transit/keys/pinned', { type: 'aes256-gcm96' });
  const exported = (await src.read('transit/export/encryption-key/portable')) as {
    data: { keys: Record<string, string> };
  };
  for (const [v, key] of Object.entries(exported.data.keys)) rememberSecret(key, `transit key v${v}`);
  const backup = (await src.read('transit/backup/portable')) as { data: { backup: string } };
  rememberSecret(backup.data.backup, 'transit backup');
  seeded.ciphertext = await encrypt(src, 'transit', 'portable', {
    plaintext: secretValue('transit plaintext'),
  });
  // PKI: a role.
  await src.write('sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '720h' } });
  await src.write('pki/roles/web', {
    allowed_domains: ['example.com'],
    allow_subdomains: true,
    max_ttl: '24h',
  });
  // Policies, AppRole and userpass.
  await writePolicy(src, POLICY, POLICY_TEXT);
  await writePolicy(src, OPS_POLICY, OPS_TEXT);
  await src.write('sys/auth/approle', { type: 'approle' });
  await src.write('auth/approle/role/web', {
    token_policies: [POLICY],
    secret_id_ttl: '1h',
    token_ttl: '10m',
  });
  seeded.roleId = (
    (await src.read('auth/approle/role/web/role-id')) as { data: { role_id: string } }
  ).data.role_id;
  rememberSecret(seeded.roleId, 'source role ID');
  const oldSecretId = (
    (await src.write('auth/approle/role/web/secret-id', {})) as { data: { secret_id: string } }
  ).data.secret_id;
  rememberSecret(oldSecretId, 'source secret ID');
  await src.write('sys/auth/userpass', { type: 'userpass' });
  seeded.password = secretValue('alice password');
  await src.write('auth/userpass/users/alice', { password: seeded.password, token_policies: [OPS_POLICY] });
}

beforeAll(async () => {
  if (!openbao) return;
  const started = await Promise.all([
    startVaultDevServer({ flavour: 'vault', logDir: join(dir, 'hcv') }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
    bundleVaultopsWorkflows(),
  ]);
  const [hcvStarted, envStarted, bundle] = started;
  hcvServer = hcvStarted;
  env = envStarted;
  rememberSecret(hcvServer.rootToken, 'HashiCorp Vault root token');
  hcv = new VaultClient({ address: hcvServer.address, timeoutMs: 10_000 });
  hcv.tokens.set(hcvServer.rootToken);
  await seedSource(hcv);
  await bao.write(`sys/mounts/${ledgerMount}`, { type: 'kv', options: { version: '2' } });

  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: createMigrateRunActivities({
      vault: bao,
      clusters: clusterClients({ default: bao, [SOURCE]: hcv, [TARGET]: bao }),
    }),
    workflowBundle: bundle,
  });
  // Started as `vaultops migrate run --from / --to <ns> --cluster hcv-source --target-cluster
  // bao-target ...` starts it: without VAULT_ADDR, since one address cannot reach both clusters.
  const saved = { VAULT_ADDR: process.env.VAULT_ADDR, VAULT_TOKEN: process.env.VAULT_TOKEN };
  delete process.env.VAULT_ADDR;
  delete process.env.VAULT_TOKEN;
  const printed: string[] = [];
  try {
    workflowId = await migrateRunCommand(
      {
        from: '/',
        to,
        cluster: SOURCE,
        targetCluster: TARGET,
        approver: ['bob'],
        as: 'alice',
        grace: '1s',
        ledgerMount,
        batchSize: '3',
        address: env.address,
        namespace: env.namespace ?? 'default',
        taskQueue,
      },
      (line) => printed.push(line),
    );
  } finally {
    Object.assign(process.env, saved);
  }
  expect(printed.join('\n')).toContain('plan: checked by the workflow against both clusters');
  // What the CLI asked for (plain payloads here): the two clusters, by name.
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  expect(JSON.parse(Buffer.from(payload?.data ?? []).toString())).toMatchObject({
    from: '',
    to,
    sourceCluster: SOURCE,
    targetCluster: TARGET,
    kvBatchSize: 3,
  });
  result = await worker.runUntil(() =>
    migrationDriver((env as TestWorkflowEnvironment).client, workflowId).complete({ timeoutMs: 90_000 }),
  );
  const run = await env.client.workflow.getHandle(workflowId).describe();
  expect(run.status.name).toBe('COMPLETED');
}, 180_000);

afterAll(async () => {
  await env?.teardown();
  await hcv?.close();
  await hcvServer?.stop();
  await bao.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!openbao)(
  'migrate run: HashiCorp Vault Community (root) -> OpenBao namespace, two servers',
  () => {
    const dst = () => bao.withNamespace(to);

    it('copies every KV version with its state, data and metadata', async () => {
      expect(result.kv).toMatchObject({ paths: 7, mismatched: 0 });
      expect(result.kv.sourceDigest).toBe(result.kv.targetDigest);
      expect(result.runs).toBe(1); // 3 batches of 3: under one run's budget
      for (const path of ['app/db', 'app/api', ...Array.from({ length: 5 }, (_, i) => `batch/s-${i}`)]) {
        const a = await readMetadata(hcv, 'secret', path);
        const b = await readMetadata(dst(), 'secret', path);
        expect(b.current_version, path).toBe(a.current_version);
        expect(Object.keys(b.versions).sort(), path).toEqual(Object.keys(a.versions).sort());
        expect(b.custom_metadata ?? {}).toEqual(a.custom_metadata ?? {});
        expect(b.max_versions).toBe(a.max_versions);
        for (const [v, meta] of Object.entries(a.versions)) {
          expect(b.versions[v]?.deletion_time !== '', `${path} v${v} deleted`).toBe(
            meta.deletion_time !== '',
          );
          if (meta.deletion_time === '')
            expect((await readSecret(dst(), 'secret', path, { version: Number(v) })).data).toEqual(
              (await readSecret(hcv, 'secret', path, { version: Number(v) })).data,
            );
        }
      }
    });

    it('copies the policies as written', async () => {
      expect(await readPolicy(dst(), POLICY)).toBe(POLICY_TEXT);
      expect(await readPolicy(dst(), OPS_POLICY)).toBe(OPS_TEXT);
    });

    it('moves the exportable transit key whole (an old ciphertext decrypts), re-creates the other', async () => {
      expect((await readKey(dst(), 'transit', 'portable')).latest_version).toBe(2);
      expect((await decrypt(dst(), 'transit', 'portable', seeded.ciphertext)).toString()).toMatch(
        /^transit plaintext-/,
      );
      expect((await readKey(dst(), 'transit', 'pinned')).latest_version).toBe(1);
      expect(result.verify.recreatedKeys).toEqual(['transit/keys/pinned']);
    });

    it('copies the PKI role with its settings', async () => {
      const role = (await dst().read('pki/roles/web')) as {
        data: { allowed_domains: string[]; allow_subdomains: boolean; max_ttl: number };
      };
      expect(role.data).toMatchObject({
        allowed_domains: ['example.com'],
        allow_subdomains: true,
        max_ttl: 86_400,
      });
    });

    it('userpass: alice exists with her policies, flagged reset required', async () => {
      const user = (await dst().read('auth/userpass/users/alice')) as { data: { token_policies: string[] } };
      expect(user.data.token_policies).toEqual([OPS_POLICY]);
      await expect(dst().write('auth/userpass/login/alice', { password: seeded.password })).rejects.toThrow();
      expect(result.caveats.some((c) => c.includes('users/alice') && c.includes('reset required'))).toBe(
        true,
      );
    });

    it('after cutover an app logs in with AppRole at the target (same role ID, new secret ID) and reads KV', async () => {
      expect(result.cutover.record).toBeTruthy();
      expect(result.cutover).toMatchObject({ locked: false, lockNote: 'the root namespace has no API lock' });
      const roleId = ((await dst().read('auth/approle/role/web/role-id')) as { data: { role_id: string } })
        .data.role_id;
      expect(roleId).toBe(seeded.roleId);
      const secretId = (
        (await dst().write('auth/approle/role/web/secret-id', {})) as { data: { secret_id: string } }
      ).data.secret_id;
      rememberSecret(secretId, 'target secret ID');
      const app = new VaultClient({ address: server().address, timeoutMs: 10_000 }).withNamespace(to);
      try {
        const login = (await app.write('auth/approle/login', { role_id: roleId, secret_id: secretId })) as {
          auth: { client_token: string; policies: string[] };
        };
        expect(login.auth.policies).toContain(POLICY);
        app.tokens.set(login.auth.client_token);
        const latest = await readSecret(app, 'secret', 'app/db');
        expect(latest.metadata.version).toBe(3);
        expect(String(latest.data.password)).toMatch(/^db v3-/);
        await expect(readSecret(app, 'secret', 'batch/s-0')).rejects.toThrow(/403|denied/i);
      } finally {
        await app.close();
      }
    });

    it('marks the source as migrated after the second approval; its data stays', async () => {
      expect(result.retired).toBe('marked');
      expect((await readMetadata(hcv, 'secret', 'app/db')).current_version).toBe(3);
    });

    it('leaves no secret value, secret ID, password or backup in the history', async () => {
      const scan = await expectNoSecretsInHistory((env as TestWorkflowEnvironment).client, {
        workflowIds: [workflowId],
      });
      expect(scan.runs).toBeGreaterThanOrEqual(1);
    });
  },
);
