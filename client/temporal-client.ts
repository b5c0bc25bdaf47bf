// Which Temporal the CLI talks to: --address, else TEMPORAL_ADDRESS (or the config file), else a
// dev stack running on this machine, else 127.0.0.1:7233. And how payloads are encrypted there:
// the file's `codec:` section, else the dev stack's key file when that is the Temporal we talk to.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { devKeyFile } from '../codec/key-file.js';
import { readConfigFile } from '../common/config/file.js';
import { parseConfig } from '../common/config/parse.js';
import type { CodecConfig, TemporalConfig } from '../common/config/schema.js';
import { temporalTls } from '../common/config/temporal-tls.js';
import { DEFAULT_STATE_DIR, readRunningStack, type StackState } from '../common/dev-state.js';

export interface GlobalOptions {
  config?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface TemporalTarget {
  temporal: TemporalConfig;
  uiUrl: string | undefined;
  /** How payloads are encrypted; undefined: plain. */
  codec?: CodecConfig | undefined;
}

/** Stands in for the file's Vault section, which the CLI never reads. */
const UNUSED_VAULT_SECTION = { address: 'http://127.0.0.1:8200' };

/**
 * The `temporal:` part of the configuration, validated by the worker's own rules. The CLI never
 * talks to Vault, so neither the file's `vault_integration:` section nor the VAULT_* environment
 * is read: the worker's file works here even where ${VAULT_SECRET_ID} is not set.
 */
export function loadTemporalConfig(path: string | undefined, env: NodeJS.ProcessEnv): TemporalConfig {
  return loadClientConfig(path, env).temporal;
}

/** The `temporal:` and `codec:` sections, read as loadTemporalConfig reads the first. */
export function loadClientConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
): { temporal: TemporalConfig; codec: CodecConfig | undefined } {
  const withoutVault = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('VAULT_')));
  const file = path ?? env.VAULTOPS_CONFIG;
  const config = file
    ? parseConfig(temporalSectionOnly(readConfigFile(file)), withoutVault, file)
    : parseConfig(undefined, withoutVault, 'environment (TEMPORAL_ADDRESS, ...)');
  return { temporal: config.temporal, codec: config.codec };
}

/** The file cut down to its `temporal:` and `codec:` sections; a file that is not a YAML mapping is left whole for parseConfig to explain. */
function temporalSectionOnly(text: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return text;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return text;
  const { temporal, codec } = doc as { temporal?: unknown; codec?: unknown };
  return stringifyYaml({
    vault_integration: UNUSED_VAULT_SECTION,
    ...(temporal === undefined ? {} : { temporal }),
    ...(codec === undefined ? {} : { codec }),
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
  const loaded = loadClientConfig(opts.config, env);
  const temporal = {
    ...loaded.temporal,
    ...(opts.address ? { address: opts.address } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.taskQueue ? { task_queue: opts.taskQueue } : {}),
  };
  return {
    temporal,
    uiUrl: stack?.uiUrl ?? process.env.TEMPORAL_UI_URL,
    codec: loaded.codec ?? devStackCodec(temporal.address, configured ? undefined : { stack }),
  };
}

/**
 * The dev stack's key file when the Temporal we talk to is the dev stack's (found even with
 * --address or TEMPORAL_ADDRESS, as a worker pointed at it finds it). Its state file is not
 * read when configured, so a broken one does not break a configured CLI: then we skip it.
 */
function devStackCodec(
  address: string,
  looked: { stack: StackState | undefined } | undefined,
): CodecConfig | undefined {
  // `looked`: the state file was read already (found or not); read it only if it was not.
  let stack = looked?.stack;
  if (!looked) {
    try {
      stack = readRunningStack();
    } catch {
      return undefined;
    }
  }
  return stack?.temporalAddress === address
    ? { kind: 'key_file', key_file: devKeyFile(DEFAULT_STATE_DIR) }
    : undefined;
}

/**
 * The CLI's data converter. Keys wrapped by Vault transit are unwrapped with the user's own
 * VAULT_ADDR and VAULT_TOKEN (a token allowed transit/decrypt on the codec key): the CLI holds no
 * worker credentials. Loaded on demand, so commands without a codec load none of it.
 */
async function clientDataConverter(target: TemporalTarget): Promise<DataConverter | undefined> {
  if (!target.codec) return undefined;
  const { encryptingDataConverter } = await import('../codec/data-converter.js');
  if (target.codec.kind === 'key_file') {
    const { loadKeyFile } = await import('../codec/key-file.js');
    return encryptingDataConverter(loadKeyFile(target.codec.key_file, { create: false }));
  }
  const codec = target.codec;
  const [{ loadTransitKeys }, { withUserVault }] = await Promise.all([
    import('../codec/transit-keys.js'),
    import('./user-vault.js'),
  ]);
  const keyring = await withUserVault(
    () =>
      new Error(
        `payloads are encrypted with data keys wrapped by Vault transit (${codec.transit_mount}/keys/${codec.transit_key}); ` +
          'export VAULT_ADDR and VAULT_TOKEN (a token allowed transit/decrypt on that key) to read them',
      ),
    (vault) =>
      loadTransitKeys(
        vault,
        { mount: codec.transit_mount, key: codec.transit_key, wrappedKeysFile: codec.wrapped_keys_file },
        { create: false },
      ),
  );
  return encryptingDataConverter(keyring);
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
    const dataConverter = await clientDataConverter(target);
    return await fn(
      new Client({
        connection,
        namespace: target.temporal.namespace,
        ...(dataConverter ? { dataConverter } : {}),
      }),
    );
  } finally {
    await connection.close();
  }
}
