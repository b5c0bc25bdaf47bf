// Runs a vaultops worker until SIGINT/SIGTERM (or an abort signal), then shuts down in order:
// stop polling, let running activities finish, close Temporal and Vault connections.
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import type { VaultopsConfig } from '../common/config.js';
import { logger } from '../common/logger.js';
import { connectTemporalWorker, connectVault } from './connections.js';
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
  options: { signal?: AbortSignal; onReady?: () => void } = {},
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
  const connection = await connectTemporalWorker(config.temporal);
  try {
    const worker = await createVaultopsWorker({
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
    options.onReady?.();
    await running;
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await closeVault();
  }
}
