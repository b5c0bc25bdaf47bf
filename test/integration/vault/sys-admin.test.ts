// sys/ administration against the real servers: seal and unseal, raft snapshot save and restore
// (on a one-node raft server, since -dev servers have no raft), policies and capabilities, audit
// devices, rate-limit quotas, and namespaces with tenant isolation where the server has them.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import {
  capabilities,
  createNamespace,
  deletePolicy,
  deleteRateLimitQuota,
  disableAudit,
  enableFileAudit,
  listAuditDevices,
  listPolicies,
  readHealth,
  readPolicy,
  readSealStatus,
  restoreRaftSnapshot,
  saveRaftSnapshot,
  seal,
  unseal,
  writePolicy,
  writeRateLimitQuota,
} from '../../../vault/sys.js';
import { failureType } from '../../harness/failures.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-sys-'));
const root = rootClient();
let raft: RaftCluster;
let raftClient: VaultClient;
const noRetry = { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 };

beforeAll(async () => {
  raft = await startRaftCluster({ flavour: server().flavour, dir: join(dir, 'raft'), size: 1 });
  raftClient = new VaultClient({ address: raft.nodes[0]?.address as string, retry: noRetry });
  raftClient.tokens.set(raft.rootToken);
  await raftClient.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
}, 120_000);

afterAll(async () => {
  await Promise.all([root.close(), raftClient?.close()]);
  await raft?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe(`sys administration on ${server().flavour}`, () => {
  it('seals: calls fail as VaultSealed (retryable) until the node is unsealed', async () => {
    await writeSecret(raftClient, 'secret', 'before-seal', { v: 1 });
    await seal(raftClient);
    expect((await readSealStatus(raftClient)).sealed).toBe(true);
    const sealedCall = readSecret(raftClient, 'secret', 'before-seal').catch(
      (e: unknown) => e as ApplicationFailure,
    );
    expect(((await sealedCall) as ApplicationFailure).type).toBe(VaultErrorType.Sealed);
    expect(((await sealedCall) as ApplicationFailure).nonRetryable).toBe(false);
    const status = await unseal(raftClient, raft.unsealKey);
    expect(status.sealed).toBe(false);
    // Unsealed is not yet active: the node must first win its raft election. Until then OpenBao
    // serves reads from the standby but refuses writes ("local node not active"). A client that
    // retries (the default) rides that out, as that 503 says nothing was done...
    const retrying = new VaultClient({ address: raft.nodes[0]?.address as string });
    retrying.tokens.set(raft.rootToken);
    try {
      await writeSecret(retrying, 'secret', 'after-unseal', { v: 2 });
    } finally {
      await retrying.close();
    }
    // ...but raftClient does not retry, so wait for sys/health to say active before the next test.
    await waitFor(
      async () => !(await readHealth(raftClient)).standby,
      30_000,
      'the unsealed raft node to become active',
    );
    expect((await readSecret(raftClient, 'secret', 'before-seal')).data).toEqual({ v: 1 });
  });

  it('saves a raft snapshot and restores it: later writes are gone', async () => {
    await writeSecret(raftClient, 'secret', 'snap', { v: 'kept' });
    const snapshot = await saveRaftSnapshot(raftClient);
    expect(snapshot.length).toBeGreaterThan(1000);
    await writeSecret(raftClient, 'secret', 'snap', { v: 'lost' });
    await writeSecret(raftClient, 'secret', 'after-snapshot', { v: 1 });
    await restoreRaftSnapshot(raftClient, snapshot);
    expect((await readSecret(raftClient, 'secret', 'snap')).data).toEqual({ v: 'kept' });
    expect(await failureType(readSecret(raftClient, 'secret', 'after-snapshot'))).toBe(
      VaultErrorType.NotFound,
    );
  });

  it('writes, reads, lists and deletes policies, and says what a token may do', async () => {
    const name = unique('policy');
    const hcl = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n';
    await writePolicy(root, name, hcl);
    expect(await readPolicy(root, name)).toBe(hcl);
    expect(await listPolicies(root)).toContain(name);
    const { token } = await tokenWithPolicy(root, hcl);
    const caps = await capabilities(root, ['secret/data/app/db', 'secret/data/other'], token);
    expect(caps['secret/data/app/db']?.sort()).toEqual(['list', 'read']);
    expect(caps['secret/data/other']).toEqual(['deny']);
    expect((await capabilities(root, ['sys/mounts']))['sys/mounts']).toEqual(['root']);
    await deletePolicy(root, name);
    expect(await listPolicies(root)).not.toContain(name);
  });

  it('enables a file audit device that records requests, and disables it', async () => {
    const path = unique('audit');
    const file = join(dir, `${path}.log`);
    if (server().flavour === 'openbao') {
      // OpenBao 2 only takes audit devices from its server configuration.
      await expect(enableFileAudit(root, path, file)).rejects.toThrow(/config-based audit device management/);
      expect(await listAuditDevices(root)).toEqual([]);
      return;
    }
    await enableFileAudit(root, path, file);
    expect(await listAuditDevices(root)).toContainEqual({ path: `${path}/`, type: 'file' });
    await root.read('sys/mounts');
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(
      lines.some((l) => (JSON.parse(l) as { request?: { path?: string } }).request?.path === 'sys/mounts'),
    ).toBe(true);
    // Audit logs hash secrets: the root token never appears in clear.
    expect(readFileSync(file, 'utf8')).not.toContain(server().rootToken);
    await disableAudit(root, path);
    expect((await listAuditDevices(root)).map((d) => d.path)).not.toContain(`${path}/`);
  });

  it('maps a rate-limit quota hit to VaultRateLimited (retryable)', async () => {
    const mount = unique('limited');
    const name = unique('quota');
    await root.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
    await writeRateLimitQuota(root, name, { path: `${mount}/`, ratePerSecond: 1, interval: '10s' });
    const client = new VaultClient({ address: server().address, retry: noRetry });
    client.tokens.set(server().rootToken);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 15 }, (_, i) => failureType(writeSecret(client, mount, `k${i}`, { i }))),
      );
      expect(outcomes).toContain(VaultErrorType.RateLimited);
      expect(outcomes).toContain('resolved');
    } finally {
      await deleteRateLimitQuota(root, name);
      await client.close();
    }
  });

  it('isolates tenant namespaces, under a configurable root namespace', async () => {
    if (server().flavour !== 'openbao') {
      // Vault Community has no namespaces; preflight reports that (see preflight.test.ts).
      expect(await failureType(createNamespace(root, unique('tenant')))).toBe(VaultErrorType.NotFound);
      return;
    }
    const adminName = unique('admin');
    await createNamespace(root, adminName);
    // A client whose root namespace is `admin...`, as on HCP Vault.
    const hcp = root.withNamespace(adminName);
    await createNamespace(hcp, 'team-a');
    await createNamespace(hcp, 'team-b');
    const teamA = hcp.child('team-a');
    const teamB = hcp.child('team-b');
    expect(teamA.namespace).toBe(`${adminName}/team-a`);
    for (const team of [teamA, teamB])
      await team.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    await writeSecret(teamA, 'secret', 'db', { owner: 'a' });
    await writeSecret(teamB, 'secret', 'db', { owner: 'b' });
    expect((await readSecret(teamA, 'secret', 'db')).data).toEqual({ owner: 'a' });
    expect((await readSecret(teamB, 'secret', 'db')).data).toEqual({ owner: 'b' });

    // A token made in team-a cannot reach team-b, even for the same path.
    await teamA.write('sys/policies/acl/reader', {
      policy: 'path "secret/data/*" { capabilities = ["read"] }',
    });
    const tokenA = (
      (await teamA.write('auth/token/create', { policies: ['reader'], ttl: '5m' })) as {
        auth: { client_token: string };
      }
    ).auth.client_token;
    const asA = new VaultClient({
      address: server().address,
      namespace: `${adminName}/team-a`,
      retry: noRetry,
    });
    asA.tokens.set(tokenA);
    try {
      expect((await readSecret(asA, 'secret', 'db')).data).toEqual({ owner: 'a' });
      const crossed = await failureType(readSecret(asA.withNamespace(`${adminName}/team-b`), 'secret', 'db'));
      expect(crossed).toBe(VaultErrorType.PermissionDenied);
    } finally {
      await asA.close();
    }
  });
});
