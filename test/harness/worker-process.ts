// `vaultops worker` as its own process, for the tests that kill it: an OpenBao dev server, a
// Temporal dev server, and encrypted payloads (a key file the workers and the test share). The
// test's client decodes through the same key; each worker gets the Vault token in its environment
// only, as an operator would run it. Shared by the worker-kill suites.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { startTemporalDevServer, type TemporalDevServer } from '../../client/stack/temporal-dev.js';
import { REPO_DIR } from '../../client/stack/tools.js';
import { startVaultDevServer, type VaultDevServer } from '../../client/stack/vault-dev.js';
import { EncryptionCodec } from '../../codec/codec.js';
import { encryptingDataConverter } from '../../codec/data-converter.js';
import { loadKeyFile } from '../../codec/key-file.js';
import { VaultClient } from '../../vault/client.js';
import { sealGuardId } from '../../workflows/lib/seal-signals.js';
import { rememberSecret } from './history-scan.js';
import { type Spawned, spawnCollecting } from './spawned.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const EXAMPLE_WORKER = join(REPO_DIR, 'test/fixtures/workflows/worker.ts');

export interface WorkerStackOptions {
  taskQueue: string;
  /** Names the temporary directory. */
  name: string;
  /**
   * The address the workers reach Vault at, given the server's (e.g. a proxy in front of it);
   * the server's own by default. The test's client always goes straight to the server.
   */
  workerVaultAddress?: (serverAddress: string) => Promise<string>;
  /** More of the workers' configuration file (YAML lines), e.g. an `hsm:` section. */
  workerConfig?: string[];
  /** More of the workers' environment, e.g. SOFTHSM2_CONF and the HSM PIN. */
  workerEnv?: Record<string, string>;
  /**
   * Run the tests' worker entry (test/fixtures/workflows/worker.ts: the same process entry with the
   * example workflows in its bundle) instead of `vaultops worker`.
   */
  withExamples?: boolean;
}

export interface WorkerStack {
  vaultServer: VaultDevServer;
  temporal: TemporalDevServer;
  /** Root client straight to the server. */
  vault: VaultClient;
  /** Decodes payloads through the workers' key. */
  client: Client;
  /** Every worker started so far. */
  workers: Spawned[];
  /** Starts `vaultops worker` and waits until it polls. */
  startWorker(): Promise<Spawned>;
  /** The codec that opens the history's payloads (for the history scan). */
  codecs(): PayloadCodec[];
  stop(): Promise<void>;
}

export async function startWorkerStack(options: WorkerStackOptions): Promise<WorkerStack> {
  const dir = mkdtempSync(join(tmpdir(), `vaultops-${options.name}-`));
  const keyFile = join(dir, 'codec-keys.json');
  const configFile = join(dir, 'worker.yaml');
  const [vaultServer, temporal] = await Promise.all([
    startVaultDevServer({ flavour: 'openbao', logDir: dir }),
    startTemporalDevServer({ stateDir: dir, logDir: dir }),
  ]);
  rememberSecret(vaultServer.rootToken, 'OpenBao root token');
  const vault = new VaultClient({ address: vaultServer.address, timeoutMs: 10_000 });
  vault.tokens.set(vaultServer.rootToken);
  const workerVaultAddress = options.workerVaultAddress
    ? await options.workerVaultAddress(vaultServer.address)
    : vaultServer.address;
  // The worker's file: where Temporal is and the codec key; Vault comes from VAULT_ADDR/VAULT_TOKEN.
  const keyring = loadKeyFile(keyFile, { create: true });
  writeFileSync(
    configFile,
    [
      'vault_integration:',
      `  address: "${workerVaultAddress}"`,
      'temporal:',
      `  address: "${temporal.address}"`,
      `  task_queue: "${options.taskQueue}"`,
      'codec:',
      `  key_file: "${keyFile}"`,
      ...(options.workerConfig ?? []),
    ].join('\n'),
  );
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({
    connection,
    namespace: temporal.namespace,
    dataConverter: encryptingDataConverter(keyring),
  });
  const workers: Spawned[] = [];

  return {
    vaultServer,
    temporal,
    vault,
    client,
    workers,
    async startWorker() {
      const argv = options.withExamples
        ? ['--import', 'tsx', EXAMPLE_WORKER, configFile]
        : [CLI, '--config', configFile, 'worker'];
      const worker = spawnCollecting(process.execPath, argv, {
        cwd: REPO_DIR,
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(k)),
          ),
          VAULT_ADDR: workerVaultAddress,
          VAULT_TOKEN: vaultServer.rootToken,
          VAULTOPS_STATE_DIR: join(dir, 'no-dev-stack'),
          ...options.workerEnv,
        },
      });
      workers.push(worker);
      await worker.waitFor('"msg":"worker polling"', 120_000);
      return worker;
    },
    codecs: () => [new EncryptionCodec(loadKeyFile(keyFile, { create: false }))],
    async stop() {
      await client.workflow
        .getHandle(sealGuardId('default'))
        .terminate('test done')
        .catch(() => undefined);
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await connection.close();
      await vault.close();
      await vaultServer.stop();
      await temporal.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
