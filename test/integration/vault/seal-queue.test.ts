// Seal-event queuing for real: a 1-node raft cluster, a Temporal dev server and a worker with the
// real activities. Three multi-step workflows write markers; the cluster is sealed (sys/seal) in
// the middle and unsealed with its key share. Every marker is written exactly once (version 1,
// no other), each workflow's markers in step order, the queued steps in queue order; one alert
// per seal event reaches a webhook, and the detection and release times are printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { createNotifier } from '../../../activities/notifier.js';
import { VaultClient } from '../../../activities/vault/client.js';
import { readMetadata } from '../../../activities/vault/kv.js';
import { readSealStatus, seal, unseal } from '../../../activities/vault/sys.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { toolPath } from '../../../client/stack/tools.js';
import { logger } from '../../../common/logger.js';
import { ensureSealGuard } from '../../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import { orderedWritesWorkflow } from '../../../workflows/examples/ordered-writes.js';
import { sealGuardId, sealGuardStateQuery } from '../../../workflows/lib/seal-signals.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { server } from '../../harness/vault.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-seal-${flavour}-`));
const cluster = `raft-${flavour}`;
const STEPS = 5;
let raft: RaftCluster;
let vault: VaultClient;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let webhook: Server;
const alerts: { event: string; episode: number; at: string; receivedAt: number }[] = [];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      alerts.push({ ...JSON.parse(body), receivedAt: Date.now() });
      res.end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;

  [raft, env] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'raft'), size: 1 }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ]);
  rememberSecret(raft.rootToken, `${flavour} raft root token`);
  rememberSecret(raft.unsealKey, `${flavour} raft unseal key`);
  vault = new VaultClient({
    address: raft.nodes[0]?.address as string,
    retry: { maxRetries: 3, waitMinMs: 50, waitMaxMs: 200 },
  });
  vault.tokens.set(raft.rootToken);
  await vault.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: 'seal-queue',
    // The raft cluster is the worker's cluster by that name, as vault_clusters would make it.
    deps: {
      vault,
      clusters: clusterClients({ [cluster]: vault }),
      notifier: createNotifier({ logger, webhookUrl: hook }),
    },
  });
  running = worker.run();
  // As `vaultops worker` does at start: the guard watches before anything meets a seal.
  await ensureSealGuard(env.client, { cluster, taskQueue: 'seal-queue' });
}, 180_000);

afterAll(async () => {
  await env?.client.workflow
    .getHandle(sealGuardId(cluster))
    .terminate('test done')
    .catch(() => undefined);
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await vault?.close();
  await raft?.stop();
  await new Promise<void>((resolve) => webhook?.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe(`seal-event queuing on a real ${flavour} cluster`, () => {
  it('queues Vault writes while sealed and runs each exactly once, in order, after the unseal', async () => {
    const prefixes = ['alpha', 'bravo', 'charlie'];
    const handles = await Promise.all(
      prefixes.map((prefix) =>
        env.client.workflow.start(orderedWritesWorkflow, {
          taskQueue: 'seal-queue',
          workflowId: `seal-${flavour}-${prefix}-${Date.now()}`,
          args: [{ mount: 'secret', prefix, steps: STEPS, pauseMs: 300, cluster }],
        }),
      ),
    );
    // Let every workflow write a marker or two, then seal under them.
    await waitFor(async () => (await markers(prefixes)).length >= 4, 20_000);
    const writtenBeforeSeal = (await markers(prefixes)).length;
    const sealCalledAt = Date.now();
    await seal(vault);
    const sealedAt = Date.now(); // sys/seal has returned: the server is sealed from here
    expect((await readSealStatus(vault)).sealed).toBe(true);
    await sleep(2500); // every workflow reaches its next step and queues
    const guard = env.client.workflow.getHandle(sealGuardId(cluster));
    const queued = await guard.query(sealGuardStateQuery);
    expect(queued.sealed).toBe(true);
    expect(queued.queue.map((q) => q.workflowId).sort()).toEqual(handles.map((h) => h.workflowId).sort());

    const unsealedAt = Date.now();
    await unseal(vault, raft.unsealKey);
    const results = await Promise.all(handles.map((h) => h.result()));
    const allDoneAt = Date.now();
    expect(results.map((r) => r.written.length)).toEqual([STEPS, STEPS, STEPS]);

    // Exactly once: every marker exists at version 1 and has no other version.
    for (const prefix of prefixes) {
      const created: string[] = [];
      for (let i = 1; i <= STEPS; i++) {
        const meta = await readMetadata(vault, 'secret', `${prefix}/step-${String(i).padStart(2, '0')}`);
        expect(meta.current_version).toBe(1);
        expect(Object.keys(meta.versions)).toEqual(['1']);
        created.push(meta.created_time);
      }
      // In step order within each workflow.
      expect(created).toEqual([...created].sort());
    }
    // The queued steps ran in queue order: their markers' creation times follow the queue.
    const after = await guard.query(sealGuardStateQuery);
    const released = after.released.slice(-queued.queue.length);
    expect(released.map((r) => `${r.workflowId}:${r.step}`)).toEqual(
      queued.queue.map((q) => `${q.workflowId}:${q.step}`),
    );
    const releasedTimes = await Promise.all(
      queued.queue.map(async (q) => {
        const prefix = prefixes.find((p) => q.workflowId.includes(`-${p}-`)) as string;
        return (await readMetadata(vault, 'secret', `${prefix}/${q.step}`)).created_time;
      }),
    );
    expect(releasedTimes).toEqual([...releasedTimes].sort());

    // One alert per event of the one seal episode.
    await waitFor(async () => alerts.length >= 2, 10_000);
    expect(alerts.map((a) => `${a.event}#${a.episode}`)).toEqual(['vault-sealed#1', 'vault-unsealed#1']);
    const detectedMs = Date.parse(alerts[0]?.at as string) - sealedAt;
    const sealCallMs = sealedAt - sealCalledAt;
    const releasedMs = Date.parse(alerts[1]?.at as string) - unsealedAt;
    process.stdout.write(
      `seal queue (${flavour}): ${writtenBeforeSeal} markers before the seal, ${queued.queue.length} steps queued; ` +
        `sys/seal took ${sealCallMs} ms, the seal was noticed ${detectedMs} ms after it returned; ` +
        `unseal noticed ${releasedMs} ms after sys/unseal, ` +
        `all ${prefixes.length * STEPS} markers done ${allDoneAt - unsealedAt} ms after the unseal\n`,
    );
    expect(detectedMs).toBeLessThan(1000);
  }, 120_000);

  it('puts neither the root token nor the unseal key into Temporal history', async () => {
    // Every run on the worker's task queue: the writers and the seal guard (marker values and
    // step names are no secrets; the tokens and key that sealed and unsealed the cluster are).
    const scan = await expectNoSecretsInHistory(env.client, { taskQueue: 'seal-queue' });
    expect(scan.runs).toBeGreaterThanOrEqual(4);
  });
});

async function markers(prefixes: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const prefix of prefixes) {
    const body = (await vault.list(`secret/metadata/${prefix}/`).catch(() => ({ data: { keys: [] } }))) as {
      data: { keys: string[] };
    };
    found.push(...body.data.keys.map((k) => `${prefix}/${k}`));
  }
  return found;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
