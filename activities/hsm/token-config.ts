// From the `hsm:` configuration to what openHsm needs: the PIN is read from its environment
// variable or file when the worker starts, and kept in memory only.
import { readFileSync } from 'node:fs';
import type { HsmTokenConfig } from '../../common/config.js';
import type { HsmConfig } from './pkcs11.js';

export class HsmPinError extends Error {
  override name = 'HsmPinError';
}

export function hsmConfigFrom(
  config: HsmTokenConfig,
  env: Record<string, string | undefined> = process.env,
): HsmConfig {
  let pin: string | undefined;
  if ('env' in config.pin && config.pin.env !== undefined) {
    const name = config.pin.env;
    pin = env[name];
    if (!pin) throw new HsmPinError(`hsm: the token's user PIN is read from $${name}, which is not set`);
  } else if ('file' in config.pin && config.pin.file !== undefined) {
    pin = readFileSync(config.pin.file, 'utf8').replace(/\r?\n$/, '');
    if (!pin)
      throw new HsmPinError(`hsm.pin_file: "${config.pin.file}" is empty; put the token's user PIN in it`);
  } else {
    throw new HsmPinError('hsm: give pin_env or pin_file');
  }
  return {
    modulePath: config.module,
    ...('label' in config.token ? { tokenLabel: config.token.label } : { slot: config.token.slot }),
    pin,
  };
}
