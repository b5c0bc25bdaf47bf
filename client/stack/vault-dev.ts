// A Vault-API dev server (OpenBao's `bao server -dev` or HashiCorp Vault's `vault server -dev`)
// on a free loopback port, with a random root token that is never written to disk or logged.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { httpReady, type ManagedProcess, startProcess } from './process.js';
import { toolPath } from './tools.js';

export type VaultFlavour = 'openbao' | 'vault';

export interface VaultDevServer {
  flavour: VaultFlavour;
  address: string;
  rootToken: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startVaultDevServer(options: {
  flavour: VaultFlavour;
  logDir: string;
  port?: number;
}): Promise<VaultDevServer> {
  const binary = toolPath(options.flavour);
  const port = options.port ?? (await freePort());
  const address = `http://127.0.0.1:${port}`;
  const rootToken = `dev-${randomBytes(16).toString('hex')}`;
  const proc = await startProcess({
    name: options.flavour === 'openbao' ? 'OpenBao dev server' : 'HashiCorp Vault dev server',
    command: binary,
    args: ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token'],
    // The root token goes through the environment so it never appears in `ps` or the log.
    env: {
      PATH: process.env.PATH,
      HOME: options.logDir,
      VAULT_DEV_ROOT_TOKEN_ID: rootToken,
      BAO_DEV_ROOT_TOKEN_ID: rootToken,
    },
    logFile: join(options.logDir, `${options.flavour}-dev.log`),
    ready: httpReady(`${address}/v1/sys/health`),
    timeoutMs: 60_000,
  });
  return { flavour: options.flavour, address, rootToken, process: proc, stop: () => proc.stop() };
}
