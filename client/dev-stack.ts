// The embedded dev stack behind `vaultops dev`: Temporal dev server (UI + SQLite history),
// an OpenBao dev server, a SoftHSM2 token and the worker, started in that order, health-checked,
// and stopped in reverse order.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../common/config.js';
import { logger } from '../common/logger.js';
import { runWorker } from '../workers/run.js';
import {
  clearStackEnv,
  clearStackState,
  type StackEnv,
  writeStackEnv,
  writeStackState,
} from './dev-state.js';
import { devSoftHsmToken, type SoftHsmToken } from './stack/softhsm.js';
import { startTemporalDevServer, type TemporalDevServer } from './stack/temporal-dev.js';
import { startVaultDevServer, type VaultDevServer, type VaultFlavour } from './stack/vault-dev.js';

export interface DevStackOptions {
  stateDir: string;
  temporalPort?: number;
  uiPort?: number;
  vaultPort?: number;
  flavour?: VaultFlavour;
  taskQueue?: string;
  say?: (line: string) => void;
}

export interface DevStack {
  temporal: TemporalDevServer;
  vault: VaultDevServer;
  hsm: SoftHsmToken;
  taskQueue: string;
  /** What `env.sh` exports, and where it is. */
  env: StackEnv;
  envFile: string;
  /** Settles when the worker stops (after stop(), or on a worker failure). */
  worker: Promise<void>;
  stop(): Promise<void>;
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const say = options.say ?? (() => {});
  const logDir = join(options.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const taskQueue = options.taskQueue ?? 'vaultops';
  const flavour = options.flavour ?? 'openbao';
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => logger.warn({ err }, 'stop failed'));
    stops.length = 0;
  };

  try {
    say('starting Temporal dev server (history in temporal.sqlite)...');
    const temporal = await startTemporalDevServer({
      stateDir: options.stateDir,
      logDir,
      ...(options.temporalPort ? { port: options.temporalPort } : {}),
      ...(options.uiPort ? { uiPort: options.uiPort } : {}),
    });
    stops.push(() => temporal.stop());
    say(`Temporal ${temporal.address}, UI ${temporal.uiUrl}`);

    say(`starting ${flavour === 'openbao' ? 'OpenBao' : 'HashiCorp Vault'} dev server...`);
    const vault = await startVaultDevServer({
      flavour,
      logDir,
      ...(options.vaultPort ? { port: options.vaultPort } : {}),
    });
    stops.push(() => vault.stop());
    say(`Vault API ${vault.address} (dev mode: in-memory, reset on restart)`);

    const hsm = devSoftHsmToken(options.stateDir);
    say(`SoftHSM2 token "${hsm.label}" (${hsm.confPath})`);

    // The worker gets the dev root token in memory, through the same config path users take.
    const config = parseConfig(
      undefined,
      {
        VAULT_ADDR: vault.address,
        VAULT_TOKEN: vault.rootToken,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        VAULTOPS_TASK_QUEUE: taskQueue,
      },
      'dev stack',
    );
    const controller = new AbortController();
    let ready!: () => void;
    const workerReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const worker = runWorker(config, { signal: controller.signal, onReady: () => ready() });
    await Promise.race([workerReady, worker]);
    stops.push(async () => {
      controller.abort();
      await worker.catch(() => {});
    });
    say(`worker polling task queue "${taskQueue}"`);

    writeStackState(options.stateDir, {
      pid: process.pid,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      taskQueue,
      uiUrl: temporal.uiUrl,
      vaultAddress: vault.address,
      vaultFlavour: flavour,
    });
    stops.unshift(async () => clearStackState(options.stateDir));

    const env: StackEnv = {
      vaultAddress: vault.address,
      vaultToken: vault.rootToken,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      uiUrl: temporal.uiUrl,
    };
    const envFile = writeStackEnv(options.stateDir, env);
    stops.unshift(async () => clearStackEnv(options.stateDir));

    return { temporal, vault, hsm, taskQueue, env, envFile, worker, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
