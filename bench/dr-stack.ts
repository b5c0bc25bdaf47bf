// The stack the DR benchmark runs on: the DR pair of `vaultops dev --dr` (a primary with its
// secret/ mount and a standby, each a single-node raft cluster), a second, never-restored standby
// for the failover (so that it takes the path of a cold standby: it seals itself after the restore
// and waits for the key holders), a Temporal dev server, the workflow bundle and an in-process
// worker holding one client per cluster and a directory snapshot store, payloads encrypted as
// `vaultops dev` does. bench/workflow-stack.ts serves one dev server to one client, which has no
// raft and no clusters by name; this file is its DR sibling. Whatever did start is stopped if one
// part fails, and by close().
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { stringify as stringifyYaml } from 'yaml';
import { clusterClients } from '../activities/clusters.js';
import { directoryStore } from '../activities/dr/directory-store.js';
import type { Alert } from '../activities/notifier.js';
import { startDrPair } from '../client/stack/dr-pair.js';
import { type RaftCluster, startRaftCluster } from '../client/stack/raft-cluster.js';
import { startTemporalDevServer, type TemporalDevServer } from '../client/stack/temporal-dev.js';
import type { VaultFlavour } from '../client/stack/vault-dev.js';
import { devKeyFile } from '../codec/key-file.js';
import { VaultClient } from '../vault/client.js';
import { ensureSealGuard } from '../workers/seal-guard.js';
import { createVaultopsWorker } from '../workers/worker.js';

/** The clusters' names in the worker's configuration. */
export const CLUSTERS = {
  primary: 'dr-primary',
  standby: 'dr-standby',
  /** Never restored into before the failover: a cold standby. */
  fresh: 'dr-standby-fresh',
} as const;

export interface DrBenchStack {
  flavour: VaultFlavour;
  dir: string;
  storeDir: string;
  primary: RaftCluster;
  standby: RaftCluster;
  fresh: RaftCluster;
  temporal: TemporalDevServer;
  client: Client;
  worker: Worker;
  taskQueue: string;
  /** A CLI configuration file (Temporal and the payload key) for `vaultops dr unseal-share`. */
  cliConfig: string;
  /** The worker's alerts (seal events), in order. */
  alerts: Alert[];
  /** The bench's own client to the primary (the worker has its own). */
  primaryVault: VaultClient;
  readyLine: string;
  close(): Promise<void>;
}

const nodeAddress = (cluster: RaftCluster) => cluster.nodes[0]?.address as string;

/** A client as the worker's configuration would make it: one node, its root token. */
export function rootClient(cluster: RaftCluster, connections = 10): VaultClient {
  const client = new VaultClient({ address: nodeAddress(cluster), maxConnectionsPerNode: connections });
  client.tokens.set(cluster.rootToken);
  return client;
}

export async function startDrBenchStack(options: {
  flavour: VaultFlavour;
  taskQueue: string;
  bundle: WorkflowBundle;
  dataConverter: DataConverter;
  /** The directory whose dev key file encrypts payloads (the bundle's data converter's). */
  keyDir: string;
  /** The bench's client to the primary: connections per node (the fill's concurrency). */
  fillConnections: number;
}): Promise<DrBenchStack> {
  const { flavour, taskQueue } = options;
  const dir = mkdtempSync(join(tmpdir(), `vaultops-bench-dr-${flavour}-`));
  const t0 = performance.now();
  mkdirSync(join(dir, 'temporal'));
  const [pair, fresh, temporal] = await Promise.allSettled([
    startDrPair({ flavour, dir: join(dir, 'dr') }),
    startRaftCluster({ flavour, dir: join(dir, 'dr', 'fresh'), size: 1 }),
    startTemporalDevServer({ stateDir: join(dir, 'temporal'), logDir: join(dir, 'temporal') }),
  ]);
  const stopServers = async () => {
    await Promise.all([
      pair.status === 'fulfilled' ? pair.value.stop() : undefined,
      fresh.status === 'fulfilled' ? fresh.value.stop() : undefined,
      temporal.status === 'fulfilled' ? temporal.value.stop() : undefined,
    ]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (pair.status !== 'fulfilled' || fresh.status !== 'fulfilled' || temporal.status !== 'fulfilled') {
    await stopServers();
    throw ([pair, fresh, temporal].find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const { primary, standby } = pair.value;
  const readyLine = `${flavour}: DR pair and fresh standby (single-node raft each), Temporal dev server ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const workerVaults = {
    [CLUSTERS.primary]: rootClient(primary),
    [CLUSTERS.standby]: rootClient(standby),
    [CLUSTERS.fresh]: rootClient(fresh.value),
  };
  const primaryVault = rootClient(primary, options.fillConnections);
  const alerts: Alert[] = [];
  let workerConnection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  const close = async () => {
    await workerConnection?.close();
    await clientConnection?.close();
    for (const client of [...Object.values(workerVaults), primaryVault]) await client.close();
    await stopServers();
  };
  try {
    const storeDir = join(dir, 'snapshots');
    workerConnection = await NativeConnection.connect({ address: temporal.value.address });
    clientConnection = await Connection.connect({ address: temporal.value.address });
    const client = new Client({
      connection: clientConnection,
      namespace: temporal.value.namespace,
      dataConverter: options.dataConverter,
    });
    const worker = await createVaultopsWorker({
      connection: workerConnection,
      namespace: temporal.value.namespace,
      taskQueue,
      deps: {
        vault: workerVaults[CLUSTERS.primary],
        clusters: clusterClients(workerVaults),
        snapshotStore: directoryStore(storeDir),
        // Seal alerts are expected here (a cold standby seals itself after a restore): kept, not
        // logged, so that they do not interleave the figures.
        notifier: { notify: async (alert) => void alerts.push(alert) },
      },
      workflowBundle: options.bundle,
      dataConverter: options.dataConverter,
    });
    // As the worker entrypoint does: every cluster's seal is noticed from the start.
    for (const cluster of Object.values(CLUSTERS)) await ensureSealGuard(client, { cluster, taskQueue });
    const cliConfig = join(dir, 'cli.yaml');
    writeFileSync(
      cliConfig,
      stringifyYaml({
        temporal: {
          address: temporal.value.address,
          namespace: temporal.value.namespace,
          task_queue: taskQueue,
        },
        codec: { key_file: devKeyFile(options.keyDir) },
      }),
    );
    return {
      flavour,
      dir,
      storeDir,
      primary,
      standby,
      fresh: fresh.value,
      temporal: temporal.value,
      client,
      worker,
      taskQueue,
      cliConfig,
      alerts,
      primaryVault,
      readyLine,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
