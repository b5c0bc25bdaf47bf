// Worker entrypoint: configuration (file or VAULT_*/TEMPORAL_* environment) → connections →
// worker, with graceful shutdown on SIGINT and SIGTERM.

import { ConfigError } from '../common/config.js';
import { loadConfig } from '../common/config-file.js';
import { logger } from '../common/logger.js';
import { runWorker } from './run.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'signal received');
    controller.abort();
  });
}

try {
  const config = loadConfig(process.argv[2]);
  await runWorker(config, { signal: controller.signal });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  logger.error({ err }, 'worker failed');
  process.exit(1);
}
