// DR failover and failback of a 3-node raft primary, on the server under test (issue 10's
// integration test): the primary is `default` (vault_integration), the standby `dr-standby` is a
// 1-node raft cluster started UNINITIALISED (the failover initialises it with throwaway keys
// before the restore); the worker has the real activities and a directory snapshot store, on a
// Temporal dev server, with the seal guards the worker starts.
//
// Failover: a writer loop writes canary KV secrets to the primary, recording each acknowledged
// write and when; protection takes two snapshots during the loop; every primary node is SIGKILLed
// while the writer runs. `vaultops dr failover` (the CLI function, --auto-approve) detects the
// outage by probe quorum, records all three nodes unreachable, restores the NEWEST snapshot into the
// fresh standby (initialised first, through its leader), which seals itself; the test, as the key
// holder, sends the PRIMARY's share with `dr unseal-share`. Every write acknowledged before the
// newest snapshot's takenAt is readable on the standby, and `vaultops dr primary` (a CLI-level read
// of the configuration and the current-primary record) now names dr-standby and its address.
//
// Failback: clients write to the acting primary during the outage; the old primary's three nodes
// are restarted on their data (repaired; they come back sealed); `vaultops dr failback`
// (--auto-approve) snapshots and fences dr-standby, the key holder unseals the three nodes, the
// snapshot goes in through their leader. Nothing written during the outage is lost, and
// `vaultops dr primary` names default again.
//
// The histories hold no token, unseal key (the throwaway one included, when the test saw its
// file), or snapshot bytes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { directoryStore } from '../../../activities/dr/directory-store.js';
import { pendingInitFile } from '../../../activities/dr/fresh-standby.js';
import { drFailbackCommand } from '../../../client/commands/dr/failback.js';
import { drFailoverCommand, drUnsealShareCommand } from '../../../client/commands/dr/failover.js';
import { drPrimaryCommand } from '../../../client/commands/dr/primary.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { toolPath } from '../../../client/stack/tools.js';
import type { SnapshotEntry } from '../../../common/dr/snapshots.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { readHealth } from '../../../vault/sys.js';
import { ensureSealGuard } from '../../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import type { DrFailbackReport } from '../../../workflows/dr/failback.js';
import type { DrFailoverReport } from '../../../workflows/dr/failover.js';
import { drFailoverStateQuery } from '../../../workflows/dr/messages.js';
import { drProtectWorkflow } from '../../../workflows/dr/protect.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { server } from '../../harness/vault.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-dr-raft3-${flavour}-`));
const storeDir = join(dir, 'snapshots');
const configFile = join(dir, 'vaultops.yaml');
const taskQueue = `dr-raft3-${flavour}`;
const PRIMARY = 'default';
const STANDBY = 'dr-standby';
let primary: RaftCluster;
let standby: RaftCluster;
const vaults: Record<string, VaultClient> = {};
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const ran: string[] = [];
/** Every write the primary acknowledged before the outage, with when. */
const acknowledged: { key: string; at: number }[] = [];
let newest: SnapshotEntry;

const clientOf = (addresses: string[], token?: string) => {
  const client = new VaultClient({
    addresses,
    timeoutMs: 5000,
    retry: { maxRetries: 3, waitMinMs: 100, waitMaxMs: 500 },
  });
  if (token) client.tokens.set(token);
  return client;
};

beforeAll(async () => {
  [primary, standby, env] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'primary'), size: 3 }),
    startRaftCluster({ flavour, dir: join(dir, 'standby'), size: 1, initialise: false }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ]);
  rememberSecret(primary.rootToken, 'primary root token');
  rememberSecret(primary.unsealKey, 'primary unseal key');
  vaults[PRIMARY] = clientOf(
    primary.nodes.map((n) => n.address),
    primary.rootToken,
  );
  // Nobody has initialised the standby: its configured credentials do not exist yet.
  vaults[STANDBY] = clientOf(standby.nodes.map((n) => n.address));
  await (vaults[PRIMARY] as VaultClient).write('sys/mounts/secret', {
    type: 'kv',
    options: { version: '2' },
  });
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: {
      vault: vaults[PRIMARY] as VaultClient,
      clusters: clusterClients(vaults),
      snapshotStore: directoryStore(storeDir),
    },
  });
  running = worker.run();
  for (const cluster of Object.keys(vaults)) await ensureSealGuard(env.client, { cluster, taskQueue });
  process.env.TEMPORAL_ADDRESS = env.address;
  // The configuration a user's `vaultops` reads: the clusters by name, with their own addresses.
  delete process.env.VAULT_ADDR; // it would override vault_integration's address
  writeFileSync(
    configFile,
    `vault_integration:
  address: ${primary.nodes[0]?.address}
  ha_addresses: [${primary.nodes
    .slice(1)
    .map((n) => n.address)
    .join(', ')}]
vault_clusters:
  ${STANDBY}:
    address: ${standby.nodes[0]?.address}
temporal:
  address: ${env.address}
  task_queue: ${taskQueue}
`,
  );
}, 120_000);

/** Key holders still running when a test failed: stopped before Temporal goes. */
const holders = new Set<{ stop(): Promise<number> }>();

afterAll(async () => {
  await Promise.all([...holders].map((h) => h.stop()));
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await Promise.all(Object.values(vaults).map((v) => v.close()));
  await Promise.all([primary?.stop(), standby?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const cli = () => ({ address: env.address, taskQueue });

async function protect(): Promise<SnapshotEntry> {
  const workflowId = `dr-protect-${flavour}-raft3-${ran.length}`;
  ran.push(workflowId);
  const { entry } = await env.client.workflow.execute(drProtectWorkflow, {
    taskQueue,
    workflowId,
    args: [{ cluster: PRIMARY }],
  });
  rememberSnapshot(entry.file as string);
  return entry;
}

function rememberSnapshot(file: string) {
  const bytes = readFileSync(join(storeDir, file));
  const at = Math.floor(bytes.length / 6) * 3;
  rememberSecret(bytes.subarray(at, at + 48).toString('base64'), 'snapshot bytes (base64)');
  rememberSecret(bytes.subarray(at, at + 32).toString('hex'), 'snapshot bytes (hex)');
}

/** The key holder of the primary's keys: sends the share whenever the workflow waits for one. */
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
          () => undefined, // it may have stopped waiting meanwhile
        );
      await sleep(250);
    }
  })();
  const holder = {
    async stop() {
      stop = true;
      await done;
      holders.delete(holder);
      return sent;
    },
  };
  holders.add(holder);
  return holder;
}

/** The throwaway init's file exists for a second or so: if the test sees it, its key and token join the scan. */
function watchThrowaway() {
  const file = pendingInitFile(storeDir, STANDBY);
  let stop = false;
  let seen = false;
  const done = (async () => {
    while (!stop && !seen) {
      if (existsSync(file)) {
        try {
          const pending = JSON.parse(readFileSync(file, 'utf8')) as { unsealKey: string; rootToken: string };
          rememberSecret(pending.unsealKey, 'throwaway unseal key');
          rememberSecret(pending.rootToken, 'throwaway root token');
          seen = true;
        } catch {
          // Caught between its creation and its rename: look again.
        }
      }
      await sleep(10);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return seen;
    },
  };
}

async function primaryAsUserSeesIt() {
  const lines: string[] = [];
  const resolved = await drPrimaryCommand({ config: configFile, dir: storeDir }, (l) => lines.push(l));
  const exported: string[] = [];
  await drPrimaryCommand({ config: configFile, dir: storeDir, env: true }, (l) => exported.push(l));
  return { resolved, exported };
}

const phasesOf = (rto: { phases: Record<string, number | undefined>; totalMs: number }) =>
  `${rto.totalMs} ms (${Object.entries(rto.phases)
    .map(([p, ms]) => `${p} ${ms}`)
    .join(', ')})`;

describe(`DR failover of a 3-node raft primary on ${flavour}`, () => {
  it('every primary node SIGKILLed: detected, restored into the fresh standby, unsealed by the key holder; every write acknowledged before the newest snapshot is there', async () => {
    const started = Date.now();
    expect((await primaryAsUserSeesIt()).resolved.cluster).toBe(PRIMARY);
    const primaryVault = vaults[PRIMARY] as VaultClient;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        try {
          await writeSecret(primaryVault, 'secret', `canary/k${i}`, { i });
        } catch {
          return; // the primary is gone
        }
        acknowledged.push({ key: `canary/k${i}`, at: Date.now() });
      }
    })();
    await protect();
    newest = await protect();
    await sleep(300); // writes after the newest snapshot, which the failover may lose (the RPO)
    for (const node of primary.nodes) primary.kill(node);
    writing = false;
    await writer;
    const beforeNewest = acknowledged.filter((w) => w.at < Date.parse(newest.takenAt));
    expect(beforeNewest.length).toBeGreaterThan(0);
    expect(newest.raftIndex).not.toBeNull();

    const throwaway = watchThrowaway();
    const workflowId = await drFailoverCommand(
      { ...cli(), from: PRIMARY, to: STANDBY, autoApprove: true, as: 'alice', fenceWatch: '2s' },
      () => undefined,
    );
    ran.push(workflowId);
    const holder = keyHolder(workflowId, STANDBY);
    const report = (await env.client.workflow.getHandle(workflowId).result()) as DrFailoverReport;
    const shares = await holder.stop();
    const sawThrowaway = await throwaway.stop();

    expect(report).toMatchObject({
      outcome: 'failed-over',
      detection: { forced: false, decision: 'down' },
      approval: 'pre-approved by the automatic policy of alice',
      fencing: primary.nodes.map((n) => ({ address: n.address, outcome: 'unreachable' })),
      snapshot: { id: newest.id },
      standbyInitialised: true,
      sealedAfterRestore: true,
    });
    expect(shares).toBeGreaterThanOrEqual(1);
    expect(existsSync(pendingInitFile(storeDir, STANDBY))).toBe(false);

    // Every write acknowledged before the newest snapshot was taken, on the standby, with the primary's token.
    const asPrimary = (vaults[STANDBY] as VaultClient).withTokensOf(primaryVault);
    for (const w of beforeNewest)
      expect((await readSecret(asPrimary, 'secret', w.key)).data, w.key).toBeDefined();

    // The user's next command: the configuration and the record now lead to the standby.
    const seen = await primaryAsUserSeesIt();
    expect(seen.resolved).toMatchObject({
      cluster: STANDBY,
      addresses: [standby.nodes[0]?.address],
      decidedBy: 'record',
    });
    expect(seen.exported).toEqual([`export VAULT_ADDR=${standby.nodes[0]?.address}`]);
    process.stdout.write(
      `${flavour} raft3 failover: ${acknowledged.length} writes acknowledged, ${beforeNewest.length} before the newest snapshot (raft index ${newest.raftIndex}); RPO ${report.snapshot?.rpoMs} ms; RTO ${phasesOf(report.rto)}; throwaway file seen: ${sawThrowaway}; whole test ${Date.now() - started} ms\n`,
    );
  }, 150_000);

  it('failback to the repaired primary loses nothing written during the outage', async () => {
    const started = Date.now();
    // The acting primary serves the original primary's tokens: its configured credentials follow.
    const acting = vaults[STANDBY] as VaultClient;
    acting.tokens.set(primary.rootToken);
    const outage: string[] = [];
    for (let i = 0; i < 20; i++) {
      await writeSecret(acting, 'secret', `outage/k${i}`, { i });
      outage.push(`outage/k${i}`);
    }

    // The repair: the three nodes start again on their data; they come back sealed.
    for (const node of primary.nodes) await primary.restart(node);
    expect((await readHealth(vaults[PRIMARY] as VaultClient)).sealed).toBe(true);

    const workflowId = await drFailbackCommand(
      { ...cli(), from: STANDBY, to: PRIMARY, autoApprove: true, as: 'alice' },
      () => undefined,
    );
    ran.push(workflowId);
    const holder = keyHolder(workflowId, PRIMARY);
    const report = (await env.client.workflow.getHandle(workflowId).result()) as DrFailbackReport;
    const shares = await holder.stop();
    rememberSnapshot(`${report.snapshot.id}.snap`);

    expect(report).toMatchObject({
      outcome: 'failed-back',
      approval: 'pre-approved by the automatic policy of alice',
      fencing: [{ address: standby.nodes[0]?.address, outcome: 'sealed' }],
      sealedBeforeRestore: true,
    });
    expect(shares).toBeGreaterThanOrEqual(1);
    expect(Object.keys(report.rto.phases)).toEqual(
      expect.arrayContaining([
        'check',
        'approval',
        'protect',
        'fencing',
        'restore',
        'unseal',
        'verification',
        'switch',
      ]),
    );
    // Nothing written during the outage is lost, nor anything written before it that the failover kept.
    const repaired = vaults[PRIMARY] as VaultClient;
    for (const key of outage) expect((await readSecret(repaired, 'secret', key)).data, key).toBeDefined();
    for (const w of acknowledged.filter((a) => a.at < Date.parse(newest.takenAt)))
      expect((await readSecret(repaired, 'secret', w.key)).data, w.key).toBeDefined();
    expect((await readHealth(acting)).sealed).toBe(true);
    expect((await primaryAsUserSeesIt()).resolved).toMatchObject({
      cluster: PRIMARY,
      addresses: primary.nodes.map((n) => n.address),
    });
    process.stdout.write(
      `${flavour} raft3 failback: ${report.gap.line}; RTO ${phasesOf(report.rto)}; ${outage.length} outage writes kept; whole test ${Date.now() - started} ms\n`,
    );
  }, 150_000);

  it('leaves no token, unseal key or snapshot bytes in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});
