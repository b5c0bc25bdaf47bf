// `vaultops codec-server`: the Temporal UI's codec endpoint for a real deployment. It decodes with
// the same keys as the worker (the configuration's `codec:` section; it never creates a key) and
// answers only requests whose Vault token carries the codec policy, from the UI origins named.
import type { PayloadCodec } from '@temporalio/common';
import { EncryptionCodec } from '../../codec/codec.js';
import { loadKeyFile } from '../../codec/key-file.js';
import { loadTransitKeys } from '../../codec/transit-keys.js';
import { ConfigError } from '../../common/config/errors.js';
import { loadConfig } from '../../common/config/file.js';
import { VaultClient } from '../../vault/client.js';
import { startCodecServer, vaultTokenAuthorizer } from '../codec-server.js';

export interface CodecServerCommandOptions {
  config?: string;
  uiOrigin: string[];
  policy: string;
  port?: number;
}

export async function codecServerCommand(
  opts: CodecServerCommandOptions,
  out: (line: string) => void,
): Promise<void> {
  const config = loadConfig(opts.config);
  if (!config.codec) {
    throw new ConfigError(opts.config ?? 'configuration', [
      'codec: is required for the codec server; give the same key_file or transit keys as the worker',
    ]);
  }
  // Token lookups run as each request's own token: this client holds none of its own.
  const lookups = VaultClient.fromConfig(config.vault_integration);
  const codec = await codecFromConfig(config.codec, config.vault_integration);
  const server = await startCodecServer({
    codec,
    allowedOrigins: opts.uiOrigin,
    authorize: vaultTokenAuthorizer({ vault: lookups, policy: opts.policy }),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  });
  out(`codec server ${server.url} for ${opts.uiOrigin.join(', ')} (tokens need the "${opts.policy}" policy)`);
  out(
    `start the Temporal UI with --codec-endpoint ${server.url} (or its codec settings), then Ctrl-C to stop`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await lookups.close();
}

type CodecConfig = NonNullable<ReturnType<typeof loadConfig>['codec']>;

async function codecFromConfig(
  codec: CodecConfig,
  vaultConfig: ReturnType<typeof loadConfig>['vault_integration'],
): Promise<PayloadCodec> {
  if (codec.kind === 'key_file') return new EncryptionCodec(loadKeyFile(codec.key_file, { create: false }));
  // Unwrapping the data keys needs a token allowed transit/decrypt: the configured one.
  const { connectVault } = await import('../../workers/connections.js');
  const { vault, close } = await connectVault(vaultConfig);
  try {
    return new EncryptionCodec(
      await loadTransitKeys(
        vault,
        { mount: codec.transit_mount, key: codec.transit_key, wrappedKeysFile: codec.wrapped_keys_file },
        { create: false },
      ),
    );
  } finally {
    await close();
  }
}
