// The embedded dev stack behind `vaultops dev`: Temporal dev server (UI + SQLite history),
// an OpenBao dev server, with --dr a DR pair (two raft clusters), a SoftHSM2 token and the
// worker, started in that order, health-checked, and stopped in reverse order. Every payload is encrypted with the key file in the state dir, and
// the UI decodes through a codec server that starts first (the UI is told its URL at start).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { encryptingDataConverter } from '../codec/data-converter.js';
import { devKeyFile, loadKeyFile } from '../codec/key-file.js';
import { parseConfig } from '../common/config/parse.js';
import {
  clearStackEnv,
  clearStackState,
  type StackEnv,
  writeStackEnv,
  writeStackState,
} from '../common/dev-state.js';
import { logger } from '../common/logger.js';
import { VaultClient } from '../vault/client.js';
import { runWorker } from '../workers/run.js';
import { type Authorizer, type CodecServer, startCodecServer, vaultTokenAuthorizer } from './codec-server.js';
import { type DrPair, startDrPair } from './stack/dr-pair.js';
import { freePort } from './stack/ports.js';
import { devSoftHsmToken, type SoftHsmToken } from './stack/softhsm.js';
import { startTemporalDevServer, type TemporalDevServer } from './stack/temporal-dev.js';
import { startVaultDevServer, type VaultDevServer, type VaultFlavour } from './stack/vault-dev.js';

/** The policy a Vault token needs to use the codec server. */
export const CODEC_POLICY = 'vaultops-codec';

export interface DevStackOptions {
  stateDir: string;
  temporalPort?: number;
  uiPort?: number;
  vaultPort?: number;
  flavour?: VaultFlavour;
  taskQueue?: string;
  /** Also a DR pair (two single-node raft clusters), configured as dr-primary and dr-standby. */
  dr?: boolean;
  say?: (line: string) => void;
}

export interface DevStack {
  temporal: TemporalDevServer;
  vault: VaultDevServer;
  hsm: SoftHsmToken;
  drPair: DrPair | undefined;
  codecServer: CodecServer;
  /** The key file that encrypts every payload of this stack (kept across restarts, like history). */
  codecKeyFile: string;
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
    const codecKeyFile = devKeyFile(options.stateDir);
    const dataConverter = encryptingDataConverter(loadKeyFile(codecKeyFile, { create: true }));
    const codec = dataConverter.payloadCodecs?.[0] as NonNullable<typeof dataConverter.payloadCodecs>[number];
    const uiPort = options.uiPort ?? (await freePort());
    const uiOrigins = [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
    // Requests are refused until OpenBao is up and the authorizer is set below.
    let authorize: Authorizer = async () => ({ ok: false, status: 503, error: 'the dev stack is starting' });
    const codecServer = await startCodecServer({
      codec,
      allowedOrigins: uiOrigins,
      authorize: (req) => authorize(req),
    });
    stops.push(() => codecServer.close());
    say(`codec server ${codecServer.url} (payloads encrypted with ${codecKeyFile})`);

    say('starting Temporal dev server (history in temporal.sqlite)...');
    const temporal = await startTemporalDevServer({
      stateDir: options.stateDir,
      logDir,
      uiPort,
      codecEndpoint: codecServer.url,
      ...(options.temporalPort ? { port: options.temporalPort } : {}),
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

    // The codec server asks Vault about each request's token. The dev UI has no login and so no
    // token to pass: its requests (by Origin) use a token made here with only the codec policy.
    const codecVault = new VaultClient({ address: vault.address, timeoutMs: 10_000 });
    stops.push(() => codecVault.close());
    const uiToken = await devCodecToken(codecVault, vault.rootToken);
    authorize = vaultTokenAuthorizer({
      vault: codecVault,
      policy: CODEC_POLICY,
      devFallback: { origins: uiOrigins, token: uiToken },
    });

    let drPair: DrPair | undefined;
    let clustersYaml: string | undefined;
    const snapshotDir = join(options.stateDir, 'snapshots');
    if (options.dr) {
      say('starting a DR pair: two single-node raft clusters, dr-primary and dr-standby...');
      drPair = await startDrPair({ flavour, dir: join(options.stateDir, 'dr') });
      // The pair is new each start: snapshots of the last one hold its keyring, which no key
      // holder has any more, so a drill or failover must never pick them.
      rmSync(snapshotDir, { recursive: true, force: true });
      stops.push((drPair as DrPair).stop);
      const [primaryNode, standbyNode] = [drPair.primary.nodes[0], drPair.standby.nodes[0]];
      say(`DR primary ${primaryNode?.address}, standby ${standbyNode?.address} (raft; fresh each start)`);
      // The worker's configuration, in memory: each cluster with its own root token.
      clustersYaml = stringifyYaml({
        vault_clusters: {
          'dr-primary': {
            address: primaryNode?.address,
            authentication: { method: 'token', token: drPair.primary.rootToken },
          },
          'dr-standby': {
            address: standbyNode?.address,
            authentication: { method: 'token', token: drPair.standby.rootToken },
          },
        },
      });
      // Where the worker's protection keeps snapshots, and `dr snapshots` reads them.
      process.env.VAULTOPS_SNAPSHOT_DIR = snapshotDir;
    }

    const hsm = devSoftHsmToken(options.stateDir);
    say(`SoftHSM2 token "${hsm.label}" (${hsm.confPath})`);

    // The worker gets the dev root token in memory, through the same config path users take.
    const config = parseConfig(
      clustersYaml,
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
    // The worker's activities open the dev token (`vaultops ca init-root`); SoftHSM finds it by SOFTHSM2_CONF.
    process.env.SOFTHSM2_CONF = hsm.confPath;
    const worker = runWorker(config, {
      signal: controller.signal,
      onReady: () => ready(),
      dataConverter,
      hsm: { modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: hsm.userPin },
    });
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
      // The DR pair's addresses by cluster name: `dr failover` probes the standby at its own.
      ...(drPair
        ? {
            clusters: {
              'dr-primary': drPair.primary.nodes[0]?.address ?? '',
              'dr-standby': drPair.standby.nodes[0]?.address ?? '',
            },
          }
        : {}),
    });
    stops.unshift(async () => clearStackState(options.stateDir));

    const env: StackEnv = {
      vaultAddress: vault.address,
      vaultToken: vault.rootToken,
      temporalAddress: temporal.address,
      temporalNamespace: temporal.namespace,
      uiUrl: temporal.uiUrl,
      ...(drPair
        ? {
            dr: {
              primaryAddress: drPair.primary.nodes[0]?.address ?? '',
              primaryToken: drPair.primary.rootToken,
              primaryUnsealKey: drPair.primary.unsealKey,
              standbyAddress: drPair.standby.nodes[0]?.address ?? '',
              snapshotDir,
            },
          }
        : {}),
    };
    const envFile = writeStackEnv(options.stateDir, env);
    stops.unshift(async () => clearStackEnv(options.stateDir));

    return {
      temporal,
      vault,
      hsm,
      drPair,
      codecServer,
      codecKeyFile,
      taskQueue,
      env,
      envFile,
      worker,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The codec policy (a marker: the codec server checks for it) and a token that has only it. */
async function devCodecToken(vault: VaultClient, rootToken: string): Promise<string> {
  await vault.put(
    `sys/policies/acl/${CODEC_POLICY}`,
    { policy: 'path "auth/token/lookup-self" { capabilities = ["read"] }' },
    { token: rootToken },
  );
  const body = (await vault.write(
    'auth/token/create',
    { policies: [CODEC_POLICY], no_default_policy: true, period: '24h', display_name: 'temporal-ui-codec' },
    { token: rootToken },
  )) as { auth: { client_token: string } };
  return body.auth.client_token;
}
