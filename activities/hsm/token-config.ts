// From the `hsm:` configuration to what openHsm needs: the PIN is read from its environment
// variable or file when the worker starts, and kept in memory only.
import { readFileSync } from 'node:fs';
import type { HsmTokenConfig } from '../../common/config/schema.js';
import type { HsmConfig } from './pkcs11.js';

export class HsmPinError extends Error {
  override name = 'HsmPinError';
}

export function hsmConfigFrom(
  config: HsmTokenConfig,
  env: Record<string, string | undefined> = process.env,
): HsmConfig {
  // The configuration gives exactly one of the two (pin_env defaults to VAULTOPS_HSM_PIN).
  const source = config.pin as { file?: string; env?: string };
  let pin: string | undefined;
  if (source.file !== undefined) {
    pin = readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
    if (!pin)
      throw new HsmPinError(`hsm.pin_file: "${source.file}" is empty; put the token's user PIN in it`);
  } else {
    const name = source.env ?? 'VAULTOPS_HSM_PIN';
    pin = env[name];
    if (!pin) throw new HsmPinError(`hsm: the token's user PIN is read from $${name}, which is not set`);
  }
  return {
    modulePath: config.module,
    ...('label' in config.token ? { tokenLabel: config.token.label } : { slot: config.token.slot }),
    pin,
  };
}
