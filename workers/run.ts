// Runs a vaultops worker until SIGINT/SIGTERM (or an abort signal), then shuts down in order:
// stop polling, let running activities finish, close Temporal and Vault connections.
import { Client, type Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import type { VaultopsConfig } from '../common/config.js';
import { logger } from '../common/logger.js';
import { workerDataConverter } from './codec.js';
import { connectTemporalClient, connectTemporalWorker, connectVault } from './connections.js';
import { ensureSealGuard } from './seal-guard.js';
import { createVaultopsWorker } from './worker.js';

let runtimeInstalled = false;

/** We own signal handling (the dev stack must stop the worker before the servers). */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  const level = ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const)[
    logger.level as 'info'
  ] as LogLevel | undefined;
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger(level ?? 'ERROR') });
  runtimeInstalled = true;
}

export async function runWorker(
  config: VaultopsConfig,
  /** dataConverter: given by the dev stack; otherwise built from config (workers/codec.ts). */
  options: { signal?: AbortSignal; onReady?: () => void; dataConverter?: DataConverter } = {},
): Promise<void> {
  installRuntime();
  const { vault, login, close: closeVault } = await connectVault(config.vault_integration);
  logger.info(
    {
      vault: vault.address,
      namespace: vault.namespace ?? null,
      auth: login?.method ?? 'none',
      policies: login?.policies,
    },
    'connected to Vault',
  );
  let dataConverter: DataConverter | undefined;
  try {
    dataConverter = options.dataConverter ?? (await workerDataConverter(config, vault));
  } catch (err) {
    await closeVault();
    throw err;
  }
  const connection = await connectTemporalWorker(config.temporal);
  try {
    const worker = await createVaultopsWorker({
      ...(dataConverter ? { dataConverter } : {}),
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.task_queue,
      deps: { vault },
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
    await startSealGuard(config, dataConverter);
    options.onReady?.();
    await running;
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await closeVault();
  }
}

/** The default cluster's seal guard; a failure to start it is logged, not fatal to the worker. */
async function startSealGuard(
  config: VaultopsConfig,
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
    await ensureSealGuard(client, { cluster: 'default', taskQueue: config.temporal.task_queue });
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not start the seal guard');
  } finally {
    await connection?.close();
  }
}
