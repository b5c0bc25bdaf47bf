// Configuration → live connections: a logged-in Vault client and a Temporal connection.
import { Connection } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { LoginResult } from '../activities/vault/auth/login.js';
import { AuthSession } from '../activities/vault/auth/session.js';
import { VaultClient } from '../activities/vault/client.js';
import type { TemporalConfig, VaultIntegrationConfig } from '../common/config.js';
import { logger } from '../common/logger.js';
import { temporalTls } from '../common/temporal-tls.js';

export interface VaultConnection {
  vault: VaultClient;
  login: LoginResult | null;
  /** Stops token renewal and closes the connections. */
  close(): Promise<void>;
}

/** A client logged in through the configured chain of auth methods, and kept logged in. */
export async function connectVault(config: VaultIntegrationConfig): Promise<VaultConnection> {
  const vault = VaultClient.fromConfig(config);
  if (!config.authentication) return { vault, login: null, close: () => vault.close() };
  const session = new AuthSession(vault, config.authentication, { logger });
  try {
    const login = await session.start();
    return {
      vault,
      login,
      close: async () => {
        session.stop();
        await vault.close();
      },
    };
  } catch (err) {
    await vault.close();
    throw err;
  }
}

export async function connectTemporalWorker(config: TemporalConfig): Promise<NativeConnection> {
  const options: NativeConnectionOptions = { address: config.address };
  const tls = temporalTls(config);
  if (tls) options.tls = tls;
  return NativeConnection.connect(options);
}

export async function connectTemporalClient(config: TemporalConfig): Promise<Connection> {
  const tls = temporalTls(config);
  return Connection.connect({ address: config.address, connectTimeout: '5s', ...(tls ? { tls } : {}) });
}
