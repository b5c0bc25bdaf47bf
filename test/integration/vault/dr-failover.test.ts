// DR failover for real, on the server under test: single-node raft clusters (a primary, a standby,
// and a second primary for the partition), the worker with the real activities and a directory
// snapshot store, on a Temporal dev server, with the seal guards the worker starts.
//
// Killed: clients write while the primary is protected; its node is SIGKILLed; `vaultops dr
// failover` (the CLI function) detects it by probe quorum, waits for the approver, records the
// node unreachable (it cannot be fenced), restores the snapshot into the standby, which seals
// itself; the test, as the key holder, sends the PRIMARY's share with the `dr unseal-share` CLI
// function (straight to the standby); the canary is verified, the current-primary record is
// written (file and KV) and the hook runs. Every write acknowledged before the snapshot was taken
// is readable on the standby.
//
// Partitioned: the second primary's node is SIGSTOPped (alive, unreachable): the probes time out,
// the fencing records it unreachable and the fence watch keeps probing. The failover completes;
// then the node is SIGCONTed and, believing itself still active, is sealed by the watch within a
// second or so: a write to it is refused (sealed). The window between the resume and the seal is
// the watch's poll (500 ms) plus one probe; docs/dr.md states it.
//
// The histories hold no token, unseal key or snapshot bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { directoryStore } from '../../../activities/dr/directory-store.js';
import { drFailoverCommand, drUnsealShareCommand } from '../../../client/commands/dr/failover.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { toolPath } from '../../../client/stack/tools.js';
import { CURRENT_PRIMARY_KV } from '../../../common/dr/failover.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { readHealth } from '../../../vault/sys.js';
import { ensureSealGuard } from '../../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import type { DrFailoverReport } from '../../../workflows/dr/failover.js';
import { drFailoverStateQuery } from '../../../workflows/dr/messages.js';
import { drProtectWorkflow } from '../../../workflows/dr/protect.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { server } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-dr-failover-${flavour}-`));
const storeDir = join(dir, 'snapshots');
const store = directoryStore(storeDir);
const taskQueue = `dr-failover-${flavour}`;
let primary: RaftCluster;
let standby: RaftCluster;
let partitioned: RaftCluster;
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
  [primary, standby, partitioned, env] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'primary'), size: 1 }),
    startRaftCluster({ flavour, dir: join(dir, 'standby'), size: 1 }),
    startRaftCluster({ flavour, dir: join(dir, 'partitioned'), size: 1 }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ]);
  for (const [c, name] of [
    [primary, 'primary'],
    [standby, 'standby'],
    [partitioned, 'partitioned'],
  ] as const) {
    rememberSecret(c.rootToken, `${name} root token`);
    rememberSecret(c.unsealKey, `${name} unseal key`);
    vaults[name] = rootAt(c.nodes[0]?.address as string, c.rootToken);
  }
  for (const name of ['primary', 'partitioned']) {
    const v = vaults[name] as VaultClient;
    await v.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    for (let i = 0; i < 10; i++) await writeSecret(v, 'secret', `app/key-${i}`, { n: i });
  }
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: {
      vault: vaults.primary as VaultClient,
      clusters: clusterClients(vaults),
      snapshotStore: store,
    },
  });
  running = worker.run();
  for (const cluster of Object.keys(vaults)) await ensureSealGuard(env.client, { cluster, taskQueue });
  process.env.TEMPORAL_ADDRESS = env.address; // this server, not a dev stack another test may run
}, 120_000);

afterAll(async () => {
  partitioned?.nodes[0]?.process.child.kill('SIGCONT');
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await Promise.all(Object.values(vaults).map((v) => v.close()));
  await Promise.all([primary?.stop(), standby?.stop(), partitioned?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function protect(cluster: string) {
  const workflowId = `dr-protect-${flavour}-${cluster}-${ran.length}`;
  ran.push(workflowId);
  const { entry } = await env.client.workflow.execute(drProtectWorkflow, {
    taskQueue,
    workflowId,
    args: [{ cluster }],
  });
  const bytes = readFileSync(join(storeDir, entry.file as string));
  const at = Math.floor(bytes.length / 6) * 3;
  rememberSecret(bytes.subarray(at, at + 48).toString('base64'), 'snapshot bytes (base64)');
  rememberSecret(bytes.subarray(at, at + 32).toString('hex'), 'snapshot bytes (hex)');
  return entry;
}

const cli = { address: '', taskQueue };

/**
 * The key holder: once the failover waits for shares, sends `unsealKey` with the unseal-share
 * CLI function (straight to the standby), as often as the standby seals itself again.
 */
function keyHolder(workflowId: string, unsealKey: string) {
  let stop = false;
  let sent = 0;
  const done = (async () => {
    const handle = env.client.workflow.getHandle(workflowId);
    while (!stop) {
      const state = await handle.query(drFailoverStateQuery).catch(() => undefined);
      if (state?.unseal?.waiting) {
        const lines: string[] = [];
        await drUnsealShareCommand(
          workflowId,
          { ...cli, address: env.address, cluster: 'standby' },
          (l) => lines.push(l),
          async () => unsealKey,
        ).then(
          () => sent++,
          () => undefined, // it may have stopped waiting meanwhile
        );
      }
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

async function approveWhenAsked(workflowId: string) {
  const handle = env.client.workflow.getHandle(workflowId);
  await waitFor(
    async () =>
      (await handle.query(workflowStatusQuery)).steps.some(
        (s) => s.name === 'approve' && s.state === 'waiting-approval',
      ),
    60_000,
    'the approval gate',
  );
  await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'primary node is gone' }] });
}

function print(what: string, report: DrFailoverReport, started: number) {
  const phases = Object.entries(report.rto.phases)
    .map(([p, ms]) => `${p} ${ms} ms`)
    .join(', ');
  process.stdout.write(
    `${flavour} ${what}: RPO ${report.snapshot?.rpoMs} ms; RTO ${report.rto.totalMs} ms (${phases}); whole test ${Date.now() - started} ms\n`,
  );
}

describe(`DR failover on ${flavour}`, () => {
  it('a SIGKILLed primary: detected, approved, recorded unreachable, restored, unsealed by the key holder, verified, switched, hook run', async () => {
    const started = Date.now();
    const primaryVault = vaults.primary as VaultClient;
    // Clients write while the snapshot is taken; each acknowledged write is logged with its time.
    const acknowledged: { key: string; at: number }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await writeSecret(primaryVault, 'secret', `load/k${i}`, { i });
        acknowledged.push({ key: `load/k${i}`, at: Date.now() });
      }
    })();
    const entry = await protect('primary');
    writing = false;
    await writer;
    const beforeSnapshot = acknowledged.filter((w) => w.at < Date.parse(entry.takenAt));
    expect(beforeSnapshot.length).toBeGreaterThan(0);

    primary.kill(primary.nodes[0] as RaftCluster['nodes'][number]);
    const hookOut = join(dir, 'hook.out');
    const workflowId = await drFailoverCommand(
      {
        ...cli,
        address: env.address,
        from: 'primary',
        to: 'standby',
        approver: ['bob'],
        as: 'alice',
        hook: `echo "$VAULTOPS_DR_NEW_PRIMARY" > '${hookOut}'`,
        fenceWatch: '3s',
      },
      () => undefined,
    );
    ran.push(workflowId);
    const holder = keyHolder(workflowId, primary.unsealKey);
    await approveWhenAsked(workflowId);
    const report = (await env.client.workflow.getHandle(workflowId).result()) as DrFailoverReport;
    const shares = await holder.stop();

    expect(report).toMatchObject({
      outcome: 'failed-over',
      detection: { forced: false, decision: 'down' },
      approval: 'approved by bob',
      fencing: [{ address: primary.nodes[0]?.address, outcome: 'unreachable' }],
      fenceWatch: [{ outcome: 'unreachable' }],
      snapshot: { id: entry.id, choice: 'usable-unverified' },
      switch: { hook: { exitCode: 0 } },
    });
    expect(report.detection.reason).toMatch(/^down: 3 of 3 rounds failed/);
    // OpenBao and Vault both seal a standby a few seconds after a forced restore.
    expect(report.sealedAfterRestore).toBe(true);
    expect(shares).toBeGreaterThanOrEqual(1);
    expect(readFileSync(hookOut, 'utf8').trim()).toBe('standby');
    const record = JSON.parse(readFileSync(join(storeDir, 'current-primary.json'), 'utf8'));
    expect(record).toMatchObject({
      cluster: 'standby',
      previous: 'primary',
      snapshotId: entry.id,
      workflowId,
    });

    // The standby serves the primary's data to the primary's token: every write acknowledged
    // before the snapshot, the canary and the current-primary record.
    const asPrimary = (vaults.standby as VaultClient).withTokensOf(primaryVault);
    for (const w of beforeSnapshot) expect((await readSecret(asPrimary, 'secret', w.key)).data).toBeDefined();
    const kv = await readSecret(asPrimary, CURRENT_PRIMARY_KV.mount, CURRENT_PRIMARY_KV.path);
    expect(kv.data).toMatchObject({ cluster: 'standby', previous: 'primary' });
    print(`killed primary (${beforeSnapshot.length} writes before the snapshot)`, report, started);
  }, 150_000);

  it('a SIGSTOPped primary (alive, unreachable): fenced by the watch as soon as it resumes; it takes no write', async () => {
    const started = Date.now();
    const entry = await protect('partitioned');
    // The standby now honours the first primary's tokens: its configured credentials follow.
    (vaults.standby as VaultClient).tokens.set(primary.rootToken);
    const node = partitioned.nodes[0] as RaftCluster['nodes'][number];
    node.process.child.kill('SIGSTOP');
    let resumed = false;
    try {
      const workflowId = await drFailoverCommand(
        {
          ...cli,
          address: env.address,
          from: 'partitioned',
          to: 'standby',
          autoApprove: true,
          fenceWatch: '2m',
        },
        () => undefined,
      );
      ran.push(workflowId);
      const handle = env.client.workflow.getHandle(workflowId);
      const holder = keyHolder(workflowId, partitioned.unsealKey);
      await waitFor(
        async () =>
          (await handle.query(workflowStatusQuery)).steps.some(
            (s) => s.name === 'switch' && s.state === 'done',
          ),
        90_000,
        'the switch',
      );
      await holder.stop();
      const steps = (await handle.query(workflowStatusQuery)).steps;
      expect(steps.find((s) => s.name === 'fence')?.detail).toMatch(/unreachable/);
      expect(steps.find((s) => s.name === 'fence-watch')?.state).toBe('running');

      // The partition heals: the old primary resumes, believing itself active.
      node.process.child.kill('SIGCONT');
      resumed = true;
      const resumedAt = Date.now();
      const report = (await handle.result()) as DrFailoverReport;
      expect(report).toMatchObject({
        outcome: 'failed-over',
        approval: expect.stringMatching(/^pre-approved/),
        fencing: [{ outcome: 'unreachable' }],
        fenceWatch: [{ address: node.address, outcome: 'sealed' }],
        snapshot: { id: entry.id },
      });
      const old = vaults.partitioned as VaultClient;
      expect((await readHealth(old)).sealed).toBe(true);
      await expect(writeSecret(old, 'secret', 'app/after-failover', { n: 1 })).rejects.toThrow(/sealed/i);
      const asOld = (vaults.standby as VaultClient).withTokensOf(old);
      expect((await readSecret(asOld, 'secret', 'app/key-9')).data).toMatchObject({ n: 9 });
      // How long the resumed node ran unsealed before the watch sealed it.
      const window = Date.parse(report.fenceWatch[0]?.at ?? '') - resumedAt;
      expect(window).toBeLessThan(10_000);
      print(`partitioned primary (sealed ${window} ms after it resumed)`, report, started);
    } finally {
      if (!resumed) node.process.child.kill('SIGCONT');
    }
  }, 150_000);

  it('leaves no token, unseal key or snapshot bytes in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});
