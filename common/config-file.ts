// Reads the configuration: --config, else $VAULTOPS_CONFIG, else the environment alone.
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig, type VaultopsConfig } from './config.js';

export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): VaultopsConfig {
  const file = path ?? env.VAULTOPS_CONFIG;
  if (!file) return parseConfig(undefined, env, 'environment (VAULT_ADDR, VAULT_TOKEN, ...)');
  return parseConfig(readConfigFile(file), env, file);
}

/** The configuration file's text; a file that cannot be read is a ConfigError naming it. */
export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      code === 'ENOENT'
        ? 'file not found: check the --config path or $VAULTOPS_CONFIG'
        : `cannot read: ${code}`,
    ]);
  }
}
