// Worker entrypoint: configuration (file or VAULT_*/TEMPORAL_* environment) → connections →
// worker, with graceful shutdown on SIGINT and SIGTERM. `vaultops worker` runs the same function.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../common/config/file.js';
import { logger } from '../common/logger.js';
import { runWorker } from './run.js';
import type { WorkerFixtures } from './worker.js';

export async function runWorkerProcess(
  configPath: string | undefined,
  options: { fixtures?: WorkerFixtures } = {},
): Promise<void> {
  // Validate before connecting anything: a bad file exits here with the field to fix.
  const config = loadConfig(configPath);
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      controller.abort();
    });
  }
  await runWorker(config, { signal: controller.signal, ...options });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runWorkerProcess(process.argv[2]).catch((err: unknown) => {
    console.error(`vaultops worker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit((err as { name?: string }).name === 'ConfigError' ? 2 : 1);
  });
}
