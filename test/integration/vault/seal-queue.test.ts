// Seal-event queuing for real: a 1-node raft cluster, a Temporal dev server and a worker with the
// real activities. Three multi-step workflows write markers; the cluster is sealed (sys/seal) in
// the middle and unsealed with its key share. Every marker is written exactly once (version 1,
// no other), each workflow's markers in step order, the queued steps in queue order; one alert
// per seal event reaches a webhook, and the detection and release times are printed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier } from '../../../activities/notifier.js';
import type { RaftCluster } from '../../../client/stack/raft-cluster.js';
import { logger } from '../../../common/logger.js';
import type { VaultClient } from '../../../vault/client.js';
import { readMetadata } from '../../../vault/kv.js';
import { readSealStatus, seal, unseal } from '../../../vault/sys.js';
import { sealGuardId, sealGuardStateQuery } from '../../../workflows/lib/seal-signals.js';
import { orderedWritesWorkflow } from '../../fixtures/workflows/ordered-writes.js';
import { expectNoSecretsInHistory } from '../../harness/history-scan.js';
import { type RaftWorker, startRaftWorker } from '../../harness/raft-worker.js';
import { server } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const cluster = `raft-${flavour}`;
const STEPS = 5;
let stack: RaftWorker | undefined;
let raft: RaftCluster;
let vault: VaultClient;
let env: TestWorkflowEnvironment;
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
  stack = await startRaftWorker({
    flavour,
    cluster,
    taskQueue: 'seal-queue',
    notifier: createNotifier({ logger, webhookUrl: hook }),
  });
  ({ raft, vault, env } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => webhook?.close(() => resolve()));
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
