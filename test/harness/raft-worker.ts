// A Vault that can be sealed under a running workflow: a 1-node raft cluster (a -dev server cannot
// be sealed and unsealed again), a Temporal dev server (a real one: the seal guard's watch runs in
// wall-clock time) and a vaultops worker with the real activities, the cluster known to it by name
// as vault_clusters would make it, and its seal guard watching from the start, as `vaultops worker`
// does. Shared by the suites that seal Vault in the middle of something.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { clusterClients } from '../../activities/clusters.js';
import type { HsmConfig } from '../../activities/hsm/pkcs11.js';
import type { Notifier } from '../../activities/notifier.js';
import { type RaftCluster, startRaftCluster } from '../../client/stack/raft-cluster.js';
import { toolPath } from '../../client/stack/tools.js';
import type { VaultFlavour } from '../../client/stack/vault-dev.js';
import { VaultClient } from '../../vault/client.js';
import { ensureSealGuard } from '../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../workers/worker.js';
import { sealGuardId } from '../../workflows/lib/seal-signals.js';
import { TEST_FIXTURES } from '../fixtures/workflows/index.js';
import { rememberSecret } from './history-scan.js';

export interface RaftWorkerOptions {
  flavour: VaultFlavour;
  /** The cluster's name in the worker (workflows pass it as `cluster`). */
  cluster: string;
  taskQueue: string;
  notifier?: Notifier;
  /** The PKCS#11 token the worker's CA activities sign with (the SoftHSM2 test token). */
  hsm?: HsmConfig;
  /**
   * The address the worker reaches the node at, given the node's (e.g. a proxy in front of it);
   * the node's own by default. The test's client always goes straight to the node.
   */
  workerAddress?: (nodeAddress: string) => Promise<string>;
  /** More clusters the worker knows by name (a migration's other side, say). */
  otherClusters?: Record<string, VaultClient>;
}

export interface RaftWorker {
  raft: RaftCluster;
  /** Root client straight to the node: the test's reads, seals and unseals. */
  vault: VaultClient;
  env: TestWorkflowEnvironment;
  worker: Worker;
  /** Stops everything started here (the guard, the worker, Temporal, the cluster) and removes its files. */
  stop(): Promise<void>;
}

/** A client that gives up on a sealed node quickly, so a seal reaches the workflow at once. */
function rootClientAt(address: string, rootToken: string): VaultClient {
  const client = new VaultClient({ address, retry: { maxRetries: 3, waitMinMs: 50, waitMaxMs: 200 } });
  client.tokens.set(rootToken);
  return client;
}

export async function startRaftWorker(options: RaftWorkerOptions): Promise<RaftWorker> {
  const { flavour, cluster, taskQueue } = options;
  const dir = mkdtempSync(join(tmpdir(), `vaultops-raft-worker-${flavour}-`));
  const started = await Promise.allSettled([
    startRaftCluster({ flavour, dir: join(dir, 'raft'), size: 1 }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ] as const);
  const [raftStarted, envStarted] = started;
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  if (raftStarted.status === 'fulfilled') cleanups.unshift(() => raftStarted.value.stop());
  if (envStarted.status === 'fulfilled') cleanups.unshift(() => envStarted.value.teardown());
  const cleanUp = async () => {
    for (const step of cleanups.splice(0)) await step().catch(() => undefined);
  };
  if (raftStarted.status === 'rejected' || envStarted.status === 'rejected') {
    await cleanUp();
    throw raftStarted.status === 'rejected'
      ? raftStarted.reason
      : (envStarted as PromiseRejectedResult).reason;
  }
  const raft = raftStarted.value;
  const env = envStarted.value;
  rememberSecret(raft.rootToken, `${flavour} raft root token`);
  rememberSecret(raft.unsealKey, `${flavour} raft unseal key`);
  const nodeAddress = raft.nodes[0]?.address as string;
  const vault = rootClientAt(nodeAddress, raft.rootToken);
  cleanups.unshift(() => vault.close());
  let worker: Worker;
  try {
    const workerVault = options.workerAddress
      ? rootClientAt(await options.workerAddress(nodeAddress), raft.rootToken)
      : vault;
    if (workerVault !== vault) cleanups.unshift(() => workerVault.close());
    await vault.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    worker = await createVaultopsWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      fixtures: TEST_FIXTURES,
      deps: {
        vault: workerVault,
        clusters: clusterClients({ ...options.otherClusters, [cluster]: workerVault }),
        ...(options.notifier ? { notifier: options.notifier } : {}),
        ...(options.hsm ? { hsm: options.hsm } : {}),
      },
    });
    const run = worker.run();
    cleanups.unshift(async () => {
      worker.shutdown();
      await run.catch(() => undefined);
    });
    // As `vaultops worker` does at start: the guard watches before anything meets a seal.
    await ensureSealGuard(env.client, { cluster, taskQueue });
    cleanups.unshift(() => env.client.workflow.getHandle(sealGuardId(cluster)).terminate('test done'));
  } catch (err) {
    await cleanUp();
    throw err;
  }

  return {
    raft,
    vault,
    env,
    worker,
    stop: cleanUp,
  };
}
