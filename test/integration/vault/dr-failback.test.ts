// DR failback for real, on the server under test: two single-node raft clusters, the worker with
// the real activities and a directory snapshot store, on a Temporal dev server.
//
// dr-primary is protected, its node SIGKILLed, and it is failed over to dr-standby (--force).
// During the "outage" clients write to the acting primary, dr-standby. The repair: the killed node
// is restarted on its own data (raft-cluster restart) and comes back sealed. Then `vaultops dr failback` (the CLI function):
// the record names dr-standby; the approver approves; dr-standby is snapshotted one last time and
// sealed, the gap measured; the key holder (the test) unseals dr-primary with the ORIGINAL
// primary's share before the restore and again when it seals itself after it; the canary is
// verified and the record switched back. Every write made during the outage is readable on
// dr-primary; dr-standby ends sealed. The histories hold no token, unseal key or snapshot bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { directoryStore } from '../../../activities/dr/directory-store.js';
import { drFailbackCommand } from '../../../client/commands/dr/failback.js';
import { drFailoverCommand, drUnsealShareCommand } from '../../../client/commands/dr/failover.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { toolPath } from '../../../client/stack/tools.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { readHealth } from '../../../vault/sys.js';
import { ensureSealGuard } from '../../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import type { DrFailbackReport } from '../../../workflows/dr/failback.js';
import type { DrFailoverReport } from '../../../workflows/dr/failover.js';
import { drFailoverStateQuery } from '../../../workflows/dr/messages.js';
import { drProtectWorkflow } from '../../../workflows/dr/protect.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { server } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-dr-failback-${flavour}-`));
const storeDir = join(dir, 'snapshots');
const taskQueue = `dr-failback-${flavour}`;
let primary: RaftCluster;
let standby: RaftCluster;
const vaults: Record<string, VaultClient> = {};
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const ran: string[] = [];

const rootAt = (address: string, token: string) => {
  const client = new VaultClient({
    address,
    timeoutMs: 5000,
    retry: { maxRetries: 3, waitMinMs: 100, waitMaxMs: 500 },
  });
  client.tokens.set(token);
  return client;
};

beforeAll(async () => {
  [primary, standby, env] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'primary'), size: 1 }),
    startRaftCluster({ flavour, dir: join(dir, 'standby'), size: 1 }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ]);
  for (const [c, name] of [
    [primary, 'dr-primary'],
    [standby, 'dr-standby'],
  ] as const) {
    rememberSecret(c.rootToken, `${name} root token`);
    rememberSecret(c.unsealKey, `${name} unseal key`);
    vaults[name] = rootAt(c.nodes[0]?.address as string, c.rootToken);
  }
  const p = vaults['dr-primary'] as VaultClient;
  await p.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  for (let i = 0; i < 10; i++) await writeSecret(p, 'secret', `app/key-${i}`, { n: i });
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: { vault: p, clusters: clusterClients(vaults), snapshotStore: directoryStore(storeDir) },
  });
  running = worker.run();
  for (const cluster of Object.keys(vaults)) await ensureSealGuard(env.client, { cluster, taskQueue });
  process.env.TEMPORAL_ADDRESS = env.address;
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await Promise.all(Object.values(vaults).map((v) => v.close()));
  await Promise.all([primary?.stop(), standby?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const cli = () => ({ address: env.address, taskQueue });

/** The key holder of the ORIGINAL primary's keys: sends the share whenever the workflow waits for one. */
function keyHolder(workflowId: string, cluster: string) {
  let stop = false;
  let sent = 0;
  const done = (async () => {
    const handle = env.client.workflow.getHandle(workflowId);
    while (!stop) {
      const state = await handle.query(drFailoverStateQuery).catch(() => undefined);
      if (state?.unseal?.waiting)
        await drUnsealShareCommand(
          workflowId,
          { ...cli(), cluster },
          () => undefined,
          async () => primary.unsealKey,
        ).then(
          () => sent++,
          () => undefined,
        );
      await sleep(250);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return sent;
    },
  };
}

function rememberSnapshot(file: string) {
  const bytes = readFileSync(join(storeDir, file));
  const at = Math.floor(bytes.length / 6) * 3;
  rememberSecret(bytes.subarray(at, at + 48).toString('base64'), 'snapshot bytes (base64)');
  rememberSecret(bytes.subarray(at, at + 32).toString('hex'), 'snapshot bytes (hex)');
}

describe(`DR failback on ${flavour}`, () => {
  it('fails back from the acting primary: every write made during the outage is on the repaired primary; the acting one ends sealed', async () => {
    const started = Date.now();
    // Protect; dr-primary's node is SIGKILLed; fail over (forced: the node is recorded unreachable).
    const protectId = `dr-protect-${flavour}-failback`;
    ran.push(protectId);
    const { entry } = await env.client.workflow.execute(drProtectWorkflow, {
      taskQueue,
      workflowId: protectId,
      args: [{ cluster: 'dr-primary' }],
    });
    rememberSnapshot(entry.file as string);
    const primaryNode = primary.nodes[0] as RaftCluster['nodes'][number];
    primary.kill(primaryNode);
    const failoverId = await drFailoverCommand(
      { ...cli(), from: 'dr-primary', to: 'dr-standby', force: true, autoApprove: true, fenceWatch: '1s' },
      () => undefined,
    );
    ran.push(failoverId);
    const overHolder = keyHolder(failoverId, 'dr-standby');
    const over = (await env.client.workflow.getHandle(failoverId).result()) as DrFailoverReport;
    await overHolder.stop();
    expect(over).toMatchObject({ outcome: 'failed-over', fencing: [{ outcome: 'unreachable' }] });

    // The outage: the acting primary serves the original primary's tokens, and takes writes.
    (vaults['dr-standby'] as VaultClient).tokens.set(primary.rootToken);
    const acting = vaults['dr-standby'] as VaultClient;
    const outage: string[] = [];
    for (let i = 0; i < 20; i++) {
      await writeSecret(acting, 'secret', `outage/k${i}`, { i });
      outage.push(`outage/k${i}`);
    }

    // The repair: the killed node is started again on its data; it comes back sealed.
    await primary.restart(primaryNode);
    expect((await readHealth(vaults['dr-primary'] as VaultClient)).sealed).toBe(true);

    // The failback.
    const workflowId = await drFailbackCommand(
      { ...cli(), from: 'dr-standby', to: 'dr-primary', approver: ['bob'], as: 'alice' },
      () => undefined,
    );
    ran.push(workflowId);
    const handle = env.client.workflow.getHandle(workflowId);
    const holder = keyHolder(workflowId, 'dr-primary');
    await waitFor(
      async () =>
        (await handle.query(workflowStatusQuery)).steps.some(
          (s) => s.name === 'approve' && s.state === 'waiting-approval',
        ),
      60_000,
      'the approval gate',
    );
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'dr-primary repaired' }] });
    const report = (await handle.result()) as DrFailbackReport;
    const shares = await holder.stop();
    const stored = JSON.parse(readFileSync(join(storeDir, 'current-primary.json'), 'utf8'));
    rememberSnapshot(`${report.snapshot.id}.snap`);

    expect(report).toMatchObject({
      outcome: 'failed-back',
      approval: 'approved by bob',
      fencing: [{ address: standby.nodes[0]?.address, outcome: 'sealed' }],
      sealedBeforeRestore: true,
      sealedAfterRestore: false,
    });
    // The repaired cluster's keyring is the snapshot's (both the original primary's): the unseal
    // step after the restore says so, and watches for a seal through the reload window only.
    const afterRestore = (await handle.query(workflowStatusQuery)).steps.find(
      (s) => s.name === 'unseal-after-restore',
    );
    expect(afterRestore?.detail).toMatch(
      /^unsealed; its keyring is the snapshot's \(term \d+, installed .*\), and no seal came in the 8 s after the restore$/,
    );
    expect(report.gap.entries).not.toBeNull();
    expect(shares).toBeGreaterThanOrEqual(1);
    expect(stored).toMatchObject({ cluster: 'dr-primary', previous: 'dr-standby', workflowId });
    // Every write made during the outage, on the repaired primary, with its own token.
    const repaired = vaults['dr-primary'] as VaultClient;
    for (const key of outage) expect((await readSecret(repaired, 'secret', key)).data).toBeDefined();
    expect((await readSecret(repaired, 'secret', 'app/key-9')).data).toMatchObject({ n: 9 });
    // The acting primary takes no write any more.
    expect((await readHealth(acting)).sealed).toBe(true);
    await expect(writeSecret(acting, 'secret', 'outage/after', { n: 1 })).rejects.toThrow(/sealed/i);
    const asked = await activityMs(handle, 'drRestoredKeyring');
    const served = await activityMs(handle, 'drAwaitRestored');
    process.stdout.write(
      `${flavour} failback: ${report.gap.line}; sealed after restore: ${report.sealedAfterRestore}; keyring asked in ${asked} ms, then serving in ${served} ms; RTO ${report.rto.totalMs} ms (${Object.entries(
        report.rto.phases,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}); ${outage.length} outage writes kept; whole test ${Date.now() - started} ms\n`,
    );
  }, 180_000);

  it('leaves no token, unseal key or snapshot bytes in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});

/** From an activity's scheduling to its completion in the history (the first of its type): a figure. */
async function activityMs(handle: WorkflowHandle, type: string): Promise<number | null> {
  const at = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);
  const done = events.find(
    (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
  );
  return scheduled && done ? Math.round(at(done.eventTime) - at(scheduled.eventTime)) : null;
}
