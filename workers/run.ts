// Runs a vaultops worker until SIGINT/SIGTERM (or an abort signal), then shuts down in order:
// stop polling, let running activities finish, close Temporal and Vault connections.
import { Client, type Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import { clusterClients } from '../activities/clusters.js';
import type { HsmConfig } from '../activities/hsm/pkcs11.js';
import { HsmPinError, hsmConfigFrom } from '../activities/hsm/token-config.js';
import { workerDataConverter } from '../codec/select.js';
import { ConfigError } from '../common/config/errors.js';
import { DEFAULT_CLUSTER, type VaultopsConfig } from '../common/config/schema.js';
import { logger, sdkLogFunction } from '../common/logger.js';
import type { VaultClient } from '../vault/client.js';
import {
  closeVaultClusters,
  connectTemporalClient,
  connectTemporalWorker,
  connectVaultClusters,
} from './connections.js';
import { ensureSealGuard } from './seal-guard.js';
import { createVaultopsWorker, type WorkerFixtures } from './worker.js';

let runtimeInstalled = false;

/** We own signal handling (the dev stack must stop the worker before the servers). */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  const level = ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const)[
    logger.level as 'info'
  ] as LogLevel | undefined;
  // Core's own (native) lines are forwarded too, so every line goes through our logger.
  const logging = { forward: {} };
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger(level ?? 'ERROR', sdkLogFunction),
    telemetryOptions: { logging },
  });
  runtimeInstalled = true;
}

export async function runWorker(
  config: VaultopsConfig,
  /** dataConverter: given by the dev stack; otherwise built from config (codec/select.ts). */
  /** hsm: given by the dev stack (its SoftHSM2 token and PIN); otherwise from config.hsm. */
  options: {
    signal?: AbortSignal;
    onReady?: () => void;
    dataConverter?: DataConverter;
    hsm?: HsmConfig;
    /** Tests only: the example workflows and their activities (never from configuration). */
    fixtures?: WorkerFixtures;
  } = {},
): Promise<void> {
  installRuntime();
  let hsm: HsmConfig | undefined;
  try {
    // The PIN is read first, once, and kept in memory: a missing one stops the worker before it
    // logs in anywhere or creates a key file.
    hsm = options.hsm ?? (config.hsm ? hsmConfigFrom(config.hsm) : undefined);
  } catch (err) {
    throw err instanceof HsmPinError ? new ConfigError('hsm configuration', [err.message]) : err;
  }
  const connections = await connectVaultClusters(config);
  let connection: Awaited<ReturnType<typeof connectTemporalWorker>> | undefined;
  // Whatever fails from here on, the Vault logins end (their tokens revoked) and Temporal closes.
  try {
    for (const [cluster, { vault, login }] of connections) {
      logger.info(
        {
          cluster,
          vault: vault.address,
          namespace: vault.namespace ?? null,
          auth: login?.method ?? 'none',
          policies: login?.policies,
        },
        'connected to Vault',
      );
    }
    const clients = new Map<string, VaultClient>([...connections].map(([name, c]) => [name, c.vault]));
    const vault = clients.get(DEFAULT_CLUSTER) as VaultClient;
    const dataConverter = options.dataConverter ?? (await workerDataConverter(config, vault));
    connection = await connectTemporalWorker(config.temporal);
    const worker = await createVaultopsWorker({
      ...(dataConverter ? { dataConverter } : {}),
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.task_queue,
      ...(options.fixtures ? { fixtures: options.fixtures } : {}),
      deps: { vault, clusters: clusterClients(clients), ...(hsm ? { hsm } : {}) },
    });
    const stop = () => {
      if (worker.getState() === 'RUNNING') {
        logger.info('shutting down worker: finishing running activities');
        worker.shutdown();
      }
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    logger.info(
      {
        temporal: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.task_queue,
      },
      'worker polling',
    );
    const running = worker.run();
    await startSealGuards(config, [...clients.keys()], dataConverter);
    options.onReady?.();
    await running;
    logger.info('worker stopped');
  } finally {
    await connection?.close();
    await closeVaultClusters(connections);
  }
}

/** A seal guard per configured cluster; a failure to start one is logged, not fatal to the worker. */
async function startSealGuards(
  config: VaultopsConfig,
  clusters: string[],
  dataConverter: DataConverter | undefined,
): Promise<void> {
  let connection: Connection | undefined;
  try {
    connection = await connectTemporalClient(config.temporal);
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      ...(dataConverter ? { dataConverter } : {}),
    });
    for (const cluster of clusters) {
      try {
        await ensureSealGuard(client, { cluster, taskQueue: config.temporal.task_queue });
      } catch (err) {
        logger.warn(
          { cluster, err: err instanceof Error ? err.message : String(err) },
          'could not start the seal guard',
        );
      }
    }
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not start the seal guards');
  } finally {
    await connection?.close();
  }
}
