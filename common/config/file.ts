// Reads the configuration: --config, else $VAULTOPS_CONFIG, else the environment alone.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';
import type { VaultopsConfig } from './schema.js';

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

/**
 * The clusters' addresses alone, as the configuration (and VAULT_ADDR for the default cluster)
 * give them: the rest of each cluster (its credentials, which may need variables this shell has
 * not set) is left out, so a command that only needs to know where the clusters are works anyway.
 */
export function loadClusterAddresses(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Pick<VaultopsConfig, 'vault_integration' | 'vault_clusters'> {
  const file = path ?? env.VAULTOPS_CONFIG;
  if (!file) return parseConfig(undefined, env, 'environment (VAULT_ADDR)');
  const text = readConfigFile(file);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return parseConfig(text, env, file); // parseConfig explains the YAML error
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return parseConfig(text, env, file);
  const addressesOf = (cluster: unknown) => {
    if (cluster === null || typeof cluster !== 'object') return cluster;
    const { address, ha_addresses } = cluster as Record<string, unknown>;
    return { address, ...(ha_addresses === undefined ? {} : { ha_addresses }) };
  };
  const { vault_integration, vault_clusters } = doc as Record<string, unknown>;
  const cut: Record<string, unknown> = { vault_integration: addressesOf(vault_integration) };
  if (vault_clusters !== null && typeof vault_clusters === 'object' && !Array.isArray(vault_clusters))
    cut.vault_clusters = Object.fromEntries(
      Object.entries(vault_clusters).map(([name, c]) => [name, addressesOf(c)]),
    );
  else if (vault_clusters !== undefined) cut.vault_clusters = vault_clusters;
  const config = parseConfig(stringifyYaml(cut), env, file);
  return { vault_integration: config.vault_integration, vault_clusters: config.vault_clusters };
}
