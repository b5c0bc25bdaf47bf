// A Vault-API dev server (OpenBao's `bao server -dev` or HashiCorp Vault's `vault server -dev`)
// on a free loopback port, with a random root token that is never written to disk or logged.
// The server prints its root token and unseal key in its start banner; those lines are masked
// before they reach the log, and the log directory is private to us anyway.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from './ports.js';
import { httpReady, type ManagedProcess, startProcess } from './process.js';
import { toolPath } from './tools.js';

export type VaultFlavour = 'openbao' | 'vault';

export interface VaultDevServer {
  flavour: VaultFlavour;
  address: string;
  rootToken: string;
  /** With `tls: true`: the CA that signed the server's generated certificate. */
  caCertPath?: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startVaultDevServer(options: {
  flavour: VaultFlavour;
  logDir: string;
  port?: number;
  /** A TLS listener with a generated CA (-dev-tls), e.g. for TLS certificate auth. */
  tls?: boolean;
}): Promise<VaultDevServer> {
  const binary = toolPath(options.flavour);
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  chmodSync(options.logDir, 0o700); // it may have existed with the umask's mode
  const port = options.port ?? (await freePort());
  const address = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const tlsDir = join(options.logDir, `${options.flavour}-${port}-tls`);
  const caCertPath = join(tlsDir, 'vault-ca.pem');
  // Holds the server's generated TLS private key.
  if (options.tls) mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const rootToken = `dev-${randomBytes(16).toString('hex')}`;
  const proc = await startProcess({
    name: options.flavour === 'openbao' ? 'OpenBao dev server' : 'HashiCorp Vault dev server',
    command: binary,
    args: [
      'server',
      '-dev',
      `-dev-listen-address=127.0.0.1:${port}`,
      '-dev-no-store-token',
      ...(options.tls ? ['-dev-tls', `-dev-tls-cert-dir=${tlsDir}`] : []),
    ],
    // The root token goes through the environment so it never appears in `ps` or the log.
    env: {
      PATH: process.env.PATH,
      HOME: options.logDir,
      VAULT_DEV_ROOT_TOKEN_ID: rootToken,
      BAO_DEV_ROOT_TOKEN_ID: rootToken,
    },
    logFile: join(options.logDir, `${options.flavour}-dev-${port}.log`),
    censorLine: censorDevBanner(rootToken),
    ready: options.tls ? tlsReady(port, caCertPath) : httpReady(`${address}/v1/sys/health`),
    timeoutMs: 60_000,
  });
  return {
    flavour: options.flavour,
    address,
    rootToken,
    ...(options.tls ? { caCertPath } : {}),
    process: proc,
    stop: () => proc.stop(),
  };
}

/** Masks the banner's "Unseal Key: ..." and "Root Token: ..." lines, and the root token anywhere. */
export function censorDevBanner(rootToken: string): (line: string) => string {
  return (line) =>
    line
      .replace(/^(\s*(?:Unseal Key|Unseal Keys|Root Token|Recovery Key)[^:]*:\s*).*$/i, '$1[redacted]')
      .replaceAll(rootToken, '[redacted]');
}

/** Ready once the generated CA exists and a TLS handshake against it succeeds. */
function tlsReady(port: number, caCertPath: string): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      if (!existsSync(caCertPath)) {
        resolve(false);
        return;
      }
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(caCertPath) }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
}
