// Which payload encryption a worker uses: the config's `codec:` section; else, when it serves the
// Temporal of a `vaultops dev` stack running here, that stack's key file (everything on the dev
// stack's Temporal is encrypted with it); else none, said once in the log.
import type { DataConverter } from '@temporalio/common';
import type { VaultopsConfig } from '../common/config/schema.js';
import { DEFAULT_STATE_DIR, readRunningStack } from '../common/dev-state.js';
import { logger } from '../common/logger.js';
import type { VaultClient } from '../vault/client.js';
import { encryptingDataConverter } from './data-converter.js';
import { devKeyFile, loadKeyFile } from './key-file.js';
import { loadTransitKeys } from './transit-keys.js';

export async function workerDataConverter(
  config: VaultopsConfig,
  vault: VaultClient,
): Promise<DataConverter | undefined> {
  const codec = config.codec;
  if (codec?.kind === 'key_file') {
    return encryptingDataConverter(loadKeyFile(codec.key_file, { create: true }));
  }
  if (codec?.kind === 'transit') {
    const keyring = await loadTransitKeys(
      vault,
      { mount: codec.transit_mount, key: codec.transit_key, wrappedKeysFile: codec.wrapped_keys_file },
      { create: true },
    );
    logger.info(
      { keys: keyring.keys.size, current: keyring.current },
      'codec: data keys unwrapped by Vault transit',
    );
    return encryptingDataConverter(keyring);
  }
  const stack = readRunningStack();
  if (stack?.temporalAddress === config.temporal.address) {
    logger.info({ keyFile: devKeyFile(DEFAULT_STATE_DIR) }, "codec: the dev stack's key file");
    return encryptingDataConverter(loadKeyFile(devKeyFile(DEFAULT_STATE_DIR), { create: false }));
  }
  logger.warn('codec: payloads are not encrypted; add a codec: section to the configuration');
  return undefined;
}
