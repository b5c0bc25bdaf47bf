// The stack a workflow benchmark runs on, as `vaultops dev` runs: an OpenBao dev server, a Temporal
// dev server, optionally PostgreSQL, the workflow bundle, an in-process worker and a client, all
// with payloads encrypted by a dev key. Three Vault clients: one to set up and check (uncounted),
// one for the direct path and one for the worker (each counts its calls). Started in parallel;
// whatever did start is stopped if one part fails, and by close().
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { type PostgresServer, startPostgres } from '../client/stack/postgres.js';
import { startTemporalDevServer, type TemporalDevServer } from '../client/stack/temporal-dev.js';
import { startVaultDevServer, type VaultDevServer } from '../client/stack/vault-dev.js';
import { encryptingDataConverter } from '../codec/data-converter.js';
import { devKeyFile, loadKeyFile } from '../codec/key-file.js';
import { VaultClient } from '../vault/client.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../workers/worker.js';
import { CountingVaultClient } from './lib.js';

export interface WorkflowBenchStack {
  dir: string;
  vault: VaultDevServer;
  temporal: TemporalDevServer;
  postgres: PostgresServer | undefined;
  /** The servers' processes, for their CPU time. */
  serverPids: number[];
  setupVault: VaultClient;
  directVault: CountingVaultClient;
  workerVault: CountingVaultClient;
  client: Client;
  worker: Worker;
  /** How long the servers and the bundle took to be ready, and what they are. */
  readyLine: string;
  close(): Promise<void>;
}

/** performance.max_idle_connections' default, which `vaultops dev` runs with; every path gets it. */
export const DEV_VAULT_CONNECTIONS = 10;

export async function startWorkflowBenchStack(options: {
  /** Names the temporary directory. */
  name: string;
  taskQueue: string;
  /** Each counting client's connections per node. */
  vaultConnections: number;
  postgres?: boolean;
}): Promise<WorkflowBenchStack> {
  const dir = mkdtempSync(join(tmpdir(), `vaultops-bench-${options.name}-`));
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  const t0 = performance.now();
  const dataConverter = encryptingDataConverter(loadKeyFile(devKeyFile(dir), { create: true }));
  mkdirSync(join(dir, 'temporal'));
  const [vault, temporal, postgres, bundle] = await Promise.allSettled([
    startVaultDevServer({ flavour: 'openbao', logDir: join(dir, 'vault') }),
    startTemporalDevServer({ stateDir: join(dir, 'temporal'), logDir: join(dir, 'temporal') }),
    options.postgres ? startPostgres(join(dir, 'pg')) : Promise.resolve(undefined),
    bundleVaultopsWorkflows({ dataConverter }),
  ]);
  const stopServers = async () => {
    for (const started of [vault, temporal]) if (started.status === 'fulfilled') await started.value.stop();
    if (postgres.status === 'fulfilled') await postgres.value?.process.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  if (
    vault.status !== 'fulfilled' ||
    temporal.status !== 'fulfilled' ||
    postgres.status !== 'fulfilled' ||
    bundle.status !== 'fulfilled'
  ) {
    await stopServers();
    const failed = [vault, temporal, postgres, bundle].find((r) => r.status === 'rejected');
    throw (failed as PromiseRejectedResult).reason;
  }
  const readyLine = `OpenBao dev server, Temporal dev server${postgres.value ? ', PostgreSQL' : ''} and workflow bundle (encrypted payloads) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const address = vault.value.address;
  const rootToken = vault.value.rootToken;
  const setupVault = new VaultClient({ address });
  setupVault.tokens.set(rootToken);
  const counted = () => {
    const client = new CountingVaultClient({ address, maxConnectionsPerNode: options.vaultConnections });
    client.tokens.set(rootToken);
    return client;
  };
  const directVault = counted();
  const workerVault = counted();
  let workerConnection: NativeConnection | undefined;
  let clientConnection: Connection | undefined;
  const close = async () => {
    await workerConnection?.close();
    await clientConnection?.close();
    for (const client of [setupVault, directVault, workerVault]) await client.close();
    await stopServers();
  };
  try {
    workerConnection = await NativeConnection.connect({ address: temporal.value.address });
    clientConnection = await Connection.connect({ address: temporal.value.address });
    const client = new Client({
      connection: clientConnection,
      namespace: temporal.value.namespace,
      dataConverter,
    });
    const worker = await createVaultopsWorker({
      connection: workerConnection,
      namespace: temporal.value.namespace,
      taskQueue: options.taskQueue,
      deps: { vault: workerVault },
      workflowBundle: bundle.value,
      dataConverter,
    });
    return {
      dir,
      vault: vault.value,
      temporal: temporal.value,
      postgres: postgres.value,
      serverPids: [temporal.value.process.pid, vault.value.process.pid, postgres.value?.process.pid].filter(
        (pid): pid is number => pid !== undefined,
      ),
      setupVault,
      directVault,
      workerVault,
      client,
      worker,
      readyLine,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
