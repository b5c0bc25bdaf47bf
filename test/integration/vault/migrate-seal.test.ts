// A migration with Vault sealed in the middle of its KV copy (issue 11, with issue 9's queuing),
// for real: a 1-node raft cluster (a dev server cannot be sealed and unsealed again), a Temporal
// dev server and the worker with the real activities and seal guard. On OpenBao the migration
// goes namespace -> namespace; on Vault Community (no namespaces) a root mount into a prefixed
// one. Source and target are the one cluster, so the seal stops both sides. Once part of the
// mount is at the target the cluster is sealed: the KV step shows `queued-sealed` and waits in
// the guard's queue; nothing moves while sealed; after the unseal the migration completes,
// verified by digest, with every version at the target exactly once. Then across two clusters:
// the raft cluster is the SOURCE and the flavour's dev server (the suite's server) the target; the
// source seals mid-copy. The KV step queues with the SOURCE's guard (the failure names the sealed
// cluster), so it waits without a single workflow event until the source is unsealed (the target's
// guard, seeing its cluster unsealed, would release it again every 250 ms).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvPathsAfter } from '../../../activities/migrate/kv-walk.js';
import type { RaftCluster } from '../../../client/stack/raft-cluster.js';
import type { MigrateRunInput } from '../../../common/migrate/run.js';
import type { VaultClient } from '../../../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../../../vault/kv.js';
import { createNamespace, seal, unseal } from '../../../vault/sys.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { sealGuardId, sealGuardStateQuery } from '../../../workflows/lib/seal-signals.js';
import { migrateWorkflow } from '../../../workflows/migrate/migrate.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { migrationDriver } from '../../harness/migrate-driver.js';
import { type RaftWorker, startRaftWorker } from '../../harness/raft-worker.js';
import { rootClient, server, unique } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const openbao = flavour === 'openbao';
const cluster = `raft-${flavour}`;
/** The suite's dev server, as a second cluster: the target of the cross-cluster migration. */
const devCluster = `dev-${flavour}`;
const dev = rootClient();
const taskQueue = 'migrate-seal';
const SECRETS = 60;
const VERSIONS = 3;
let stack: RaftWorker | undefined;
let raft: RaftCluster;
let vault: VaultClient;

beforeAll(async () => {
  stack = await startRaftWorker({ flavour, cluster, taskQueue, otherClusters: { [devCluster]: dev } });
  ({ raft, vault } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await dev.close();
});

const pathOf = (i: number) => `dir-${i % 4}/s-${String(i).padStart(3, '0')}`;

/**
 * Seeds a KV mount on the raft cluster, starts and approves a migration of it to `target`, waits
 * until part of it is at the target and seals the raft cluster (the source).
 */
async function migrationSealedMidCopy(opts: {
  tag: string;
  target: VaultClient;
  targetCluster: string;
  reason: string;
}) {
  const { tag } = opts;
  const env = (stack as RaftWorker).env;
  // OpenBao: namespace -> namespace. Vault Community: a root mount -> a prefixed root mount.
  const from = openbao ? unique(`${tag}-src`) : '';
  const to = openbao ? unique(`${tag}-dst`) : '';
  const prefix = openbao ? '' : `${unique(`${tag}-moved`)}-`;
  const mount = openbao ? 'data' : unique(`${tag}-data`);
  if (openbao) await createNamespace(vault, from);
  const src = vault.withNamespace(from);
  const dst = opts.target.withNamespace(to);
  const targetMount = `${prefix}${mount}`;
  await src.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
  const value = `${tag}-value-${unique('v')}`;
  rememberSecret(value, 'a migrated KV value');
  for (let i = 0; i < SECRETS; i += 10)
    await Promise.all(
      Array.from({ length: 10 }, async (_, k) => {
        for (let v = 1; v <= VERSIONS; v++)
          await writeSecret(src, mount, pathOf(i + k), { value: i + k === 0 ? value : `v${v}`, v });
      }),
    );

  const input: MigrateRunInput = {
    id: unique(tag),
    sourceCluster: cluster,
    targetCluster: opts.targetCluster,
    from,
    to,
    ...(prefix ? { prefix, only: { mounts: [`${mount}/`], policies: [] } } : {}),
    approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
    graceMs: 500,
    kvBatchSize: 4,
    batchesPerRun: 5,
  };
  const workflowId = `migrate:${input.id}`;
  const handle = await env.client.workflow.start(migrateWorkflow, { taskQueue, workflowId, args: [input] });
  const driver = migrationDriver(env.client, workflowId);
  await driver.stepReaches('approve', 'waiting-approval', 30_000);
  await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: opts.reason }] });

  // Part of the mount at the target: seal.
  const copied = async () =>
    (await kvPathsAfter(dst, targetMount, null, SECRETS + 1).catch(() => ({ paths: [] }))).paths.length;
  await waitFor(async () => (await copied()) >= SECRETS / 6, 60_000, 'part of the mount copied');
  await seal(vault);
  return { env, workflowId, driver, src, dst, mount, targetMount };
}

describe(`migrate run with ${flavour} sealed in the middle of the KV copy`, () => {
  it('the KV step queues while sealed, and after the unseal the migration completes, verified', async () => {
    const { env, workflowId, driver, src, dst, mount, targetMount } = await migrationSealedMidCopy({
      tag: 'seal',
      target: vault,
      targetCluster: cluster,
      reason: 'seal test',
    });
    await driver.stepReaches('kv', 'queued-sealed', 30_000);
    const guard = await env.client.workflow.getHandle(sealGuardId(cluster)).query(sealGuardStateQuery);
    expect(guard.sealed).toBe(true);
    expect(guard.queue.map((q) => `${q.workflowId}:${q.step}`)).toContain(`${workflowId}:kv`);
    // Nothing moves while sealed.
    const before = (await driver.steps()).map((s) => `${s.name}:${s.state}`);
    await sleep(1500);
    expect((await driver.steps()).map((s) => `${s.name}:${s.state}`)).toEqual(before);

    await unseal(vault, raft.unsealKey);
    const result = await driver.complete({ timeoutMs: 90_000 });
    expect(result.kv).toMatchObject({ paths: SECRETS, mismatched: 0 });
    expect(result.kv.sourceDigest).toBe(result.kv.targetDigest);
    expect(result.runs).toBeGreaterThan(1);

    // Every version once, with the source's data.
    expect((await kvPathsAfter(dst, targetMount, null, SECRETS + 1)).paths).toEqual(
      (await kvPathsAfter(src, mount, null, SECRETS + 1)).paths,
    );
    for (let i = 0; i < SECRETS; i++) {
      const meta = await readMetadata(dst, targetMount, pathOf(i));
      expect(meta.current_version, pathOf(i)).toBe(VERSIONS);
      expect(Object.keys(meta.versions).sort(), pathOf(i)).toEqual(['1', '2', '3']);
    }
    for (let v = 1; v <= VERSIONS; v++)
      expect((await readSecret(dst, targetMount, pathOf(0), { version: v })).data).toEqual(
        (await readSecret(src, mount, pathOf(0), { version: v })).data,
      );
    await expectNoSecretsInHistory(env.client, { workflowIds: [workflowId] });
  }, 180_000);
});

describe(`migrate run from a ${flavour} raft cluster to the ${flavour} dev server, the SOURCE sealed mid-copy`, () => {
  it("the KV step queues with the source's guard, the history stays still while sealed, and after the unseal the migration completes", async () => {
    const { env, workflowId, driver, src, dst, mount, targetMount } = await migrationSealedMidCopy({
      tag: 'xseal',
      target: dev,
      targetCluster: devCluster,
      reason: 'source seal test',
    });
    await driver.stepReaches('kv', 'queued-sealed', 30_000);
    const kv = (await driver.steps()).find((s) => s.name === 'kv');
    expect(kv?.detail).toBe(`waiting for ${cluster} to be unsealed`);
    const guard = await env.client.workflow.getHandle(sealGuardId(cluster)).query(sealGuardStateQuery);
    expect(guard.sealed).toBe(true);
    expect(guard.queue.map((q) => `${q.workflowId}:${q.step}`)).toContain(`${workflowId}:kv`);
    // The target's guard never had it (it is not even running: nothing met the target sealed).
    await expect(env.client.workflow.getHandle(sealGuardId(devCluster)).describe()).rejects.toThrow();
    // While the source is sealed the step waits: not one event is added to the history.
    const events = async () =>
      (await env.client.workflow.getHandle(workflowId).fetchHistory()).events?.length;
    await sleep(500); // the queueing's own last events
    const before = await events();
    await sleep(3000);
    expect(await events()).toBe(before);

    await unseal(vault, raft.unsealKey);
    const result = await driver.complete({ timeoutMs: 90_000 });
    expect(result.kv).toMatchObject({ paths: SECRETS, mismatched: 0 });
    expect(result.kv.sourceDigest).toBe(result.kv.targetDigest);
    expect((await kvPathsAfter(dst, targetMount, null, SECRETS + 1)).paths).toEqual(
      (await kvPathsAfter(src, mount, null, SECRETS + 1)).paths,
    );
    for (let i = 0; i < SECRETS; i++)
      expect((await readMetadata(dst, targetMount, pathOf(i))).current_version, pathOf(i)).toBe(VERSIONS);
    for (let v = 1; v <= VERSIONS; v++)
      expect((await readSecret(dst, targetMount, pathOf(0), { version: v })).data).toEqual(
        (await readSecret(src, mount, pathOf(0), { version: v })).data,
      );
    await expectNoSecretsInHistory(env.client, { workflowIds: [workflowId] });
  }, 180_000);
});
