// Data keys wrapped by Vault transit, for real deployments: the file holds only ciphertext
// (`transit/datakey/wrapped/<key>`), and the keys exist in clear only in the memory of a process
// whose Vault token may use `transit/decrypt/<key>`. Losing the file or the transit key loses
// the history's payloads, as losing any encryption key does.

import type { VaultClient } from '../vault/client.js';
import { dataKey, decrypt } from '../vault/transit.js';
import { CodecError, checkKeyring, type Keyring } from './codec.js';
import { newKeyId, readJsonFile, type WrappedKeyFile, wrappedFileSchema, writeJsonFile } from './key-file.js';

export interface TransitKeysConfig {
  mount: string;
  key: string;
  wrappedKeysFile: string;
}

async function newWrappedKey(vault: VaultClient, config: TransitKeysConfig) {
  try {
    const { ciphertext } = await dataKey(vault, config.mount, config.key, 'wrapped', 256);
    return { id: newKeyId(), wrapped: ciphertext, created: new Date().toISOString() };
  } catch (err) {
    throw new CodecError(
      `cannot create a data key with ${config.mount}/datakey/wrapped/${config.key}: ${(err as Error).message}; ` +
        `create the transit key (vault write -f ${config.mount}/keys/${config.key}) and allow this token "update" on that path`,
    );
  }
}

/**
 * Unwraps every key in the file. `create` (the worker) makes the file with one new data key when
 * it is absent; readers (the CLI, the codec server) need the file the worker wrote.
 */
export async function loadTransitKeys(
  vault: VaultClient,
  config: TransitKeysConfig,
  options: { create: boolean },
): Promise<Keyring> {
  const source = `wrapped keys file ${config.wrappedKeysFile}`;
  let file: WrappedKeyFile | undefined = readJsonFile(
    wrappedFileSchema,
    config.wrappedKeysFile,
    'wrapped keys file',
  );
  if (!file) {
    if (!options.create) {
      throw new CodecError(
        `${source} does not exist: the worker creates it on first start; give this process the same file`,
      );
    }
    file = { keys: [await newWrappedKey(vault, config)] };
    writeJsonFile(config.wrappedKeysFile, file);
  }
  const keys = new Map<string, Buffer>();
  for (const k of file.keys) {
    try {
      keys.set(k.id, await decrypt(vault, config.mount, config.key, k.wrapped));
    } catch (err) {
      throw new CodecError(
        `cannot unwrap data key "${k.id}" with ${config.mount}/decrypt/${config.key}: ${(err as Error).message}`,
      );
    }
  }
  return checkKeyring({ current: (file.keys.at(-1) as { id: string }).id, keys, source });
}

/** Adds a new wrapped data key that seals from now on (restart the worker to use it). Returns its id. */
export async function rotateTransitKeys(vault: VaultClient, config: TransitKeysConfig): Promise<string> {
  const file = readJsonFile(wrappedFileSchema, config.wrappedKeysFile, 'wrapped keys file');
  if (!file) throw new CodecError(`wrapped keys file ${config.wrappedKeysFile} does not exist`);
  const added = await newWrappedKey(vault, config);
  file.keys.push(added);
  writeJsonFile(config.wrappedKeysFile, file);
  return added.id;
}
