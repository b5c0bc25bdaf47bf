// Which Temporal the CLI talks to: --address, else TEMPORAL_ADDRESS (or the config file), else a
// dev stack running on this machine, else 127.0.0.1:7233.
import { Client, Connection } from '@temporalio/client';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfig, type TemporalConfig } from '../common/config.js';
import { readConfigFile } from '../common/config-file.js';
import { temporalTls } from '../common/temporal-tls.js';
import { readRunningStack } from './dev-state.js';

export interface GlobalOptions {
  config?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface TemporalTarget {
  temporal: TemporalConfig;
  uiUrl: string | undefined;
}

/** Stands in for the file's Vault section, which the CLI never reads. */
const UNUSED_VAULT_SECTION = { address: 'http://127.0.0.1:8200' };

/**
 * The `temporal:` part of the configuration, validated by the worker's own rules. The CLI never
 * talks to Vault, so neither the file's `vault_integration:` section nor the VAULT_* environment
 * is read: the worker's file works here even where ${VAULT_SECRET_ID} is not set.
 */
export function loadTemporalConfig(path: string | undefined, env: NodeJS.ProcessEnv): TemporalConfig {
  const withoutVault = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('VAULT_')));
  const file = path ?? env.VAULTOPS_CONFIG;
  if (!file) return parseConfig(undefined, withoutVault, 'environment (TEMPORAL_ADDRESS, ...)').temporal;
  return parseConfig(temporalSectionOnly(readConfigFile(file)), withoutVault, file).temporal;
}

/** The file cut down to its `temporal:` section; a file that is not a YAML mapping is left whole for parseConfig to explain. */
function temporalSectionOnly(text: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return text;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return text;
  const { temporal } = doc as { temporal?: unknown };
  return stringifyYaml({
    vault_integration: UNUSED_VAULT_SECTION,
    ...(temporal === undefined ? {} : { temporal }),
  });
}

export function resolveTemporal(opts: GlobalOptions): TemporalTarget {
  const configured = opts.config ?? process.env.VAULTOPS_CONFIG ?? process.env.TEMPORAL_ADDRESS;
  const stack = configured ? undefined : readRunningStack();
  const env = {
    ...process.env,
    ...(stack
      ? {
          TEMPORAL_ADDRESS: stack.temporalAddress,
          TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? stack.temporalNamespace,
          VAULTOPS_TASK_QUEUE: process.env.VAULTOPS_TASK_QUEUE ?? stack.taskQueue,
        }
      : {}),
  };
  const temporal = {
    ...loadTemporalConfig(opts.config, env),
    ...(opts.address ? { address: opts.address } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.taskQueue ? { task_queue: opts.taskQueue } : {}),
  };
  return { temporal, uiUrl: stack?.uiUrl ?? process.env.TEMPORAL_UI_URL };
}

export async function withClient<T>(target: TemporalTarget, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    const tls = temporalTls(target.temporal);
    connection = await Connection.connect({
      address: target.temporal.address,
      connectTimeout: '5s',
      ...(tls ? { tls } : {}),
    });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${target.temporal.address}: ${(err as Error).message}\n` +
        'Start the embedded stack with `npm run dev`, or set TEMPORAL_ADDRESS (or --address) to your Temporal frontend.',
    );
  }
  try {
    return await fn(new Client({ connection, namespace: target.temporal.namespace }));
  } finally {
    await connection.close();
  }
}
