// Configuration → live connections: a logged-in Vault client per cluster and a Temporal connection.
import { Connection } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import {
  DEFAULT_CLUSTER,
  type TemporalConfig,
  type VaultIntegrationConfig,
  type VaultopsConfig,
  vaultClusterConfigs,
} from '../common/config/schema.js';
import { temporalTls } from '../common/config/temporal-tls.js';
import { logger } from '../common/logger.js';
import type { LoginResult } from '../vault/auth/login.js';
import { AuthSession } from '../vault/auth/session.js';
import { VaultClient } from '../vault/client.js';

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

/**
 * A logged-in client for every configured cluster ("default" first), logged in one after the
 * other. A cluster that fails to log in fails the whole start, with its name in the message, and
 * the clusters already connected are closed again.
 */
export async function connectVaultClusters(config: VaultopsConfig): Promise<Map<string, VaultConnection>> {
  const connected = new Map<string, VaultConnection>();
  for (const [name, cluster] of vaultClusterConfigs(config)) {
    try {
      connected.set(name, await connectVault(cluster));
    } catch (err) {
      await closeVaultClusters(connected);
      const where = name === DEFAULT_CLUSTER ? 'vault_integration' : `vault_clusters.${name}`;
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Vault cluster "${name}" (${where}, ${cluster.address}): could not log in: ${reason}`, {
        cause: err,
      });
    }
  }
  return connected;
}

/** Closes every cluster's connection (token renewal stops); one failing does not stop the others. */
export async function closeVaultClusters(connections: ReadonlyMap<string, VaultConnection>): Promise<void> {
  await Promise.allSettled([...connections.values()].map((c) => c.close()));
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
