// A real HA cluster for tests: N Vault or OpenBao servers with integrated (raft) storage, started
// from config files on loopback ports, initialised (one Shamir share), unsealed and joined.
// -dev servers have no raft and no standbys, so HA and DR behaviour can only be tested this way.
// The init answer (unseal key, root token) stays in memory: nothing writes it to a file, the
// directories are private (0700), and each server log masks the two values should one print them.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { toolPath } from './tools.js';
import type { VaultFlavour } from './vault-dev.js';

export interface RaftNode {
  id: string;
  address: string;
  process: ManagedProcess;
}

export interface RaftCluster {
  flavour: VaultFlavour;
  nodes: RaftNode[];
  /** Empty when started with `initialise: false`. */
  rootToken: string;
  /** The one Shamir key share; kept in memory for the test's unseal calls, never written. Empty when not initialised. */
  unsealKey: string;
  leader(): Promise<RaftNode>;
  kill(node: RaftNode): void;
  /** Starts a killed node again on its own data and configuration; it comes back sealed. */
  restart(node: RaftNode): Promise<RaftNode>;
  stop(): Promise<void>;
}

async function api(address: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers: {
      ...(token ? { 'X-Vault-Token': token } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  throw new Error(
    `raft cluster: timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  );
}

function nodeConfig(o: {
  dir: string;
  id: string;
  apiPort: number;
  clusterPort: number;
  joinTo: string[];
}): string {
  const joins = o.joinTo.map((a) => `  retry_join {\n    leader_api_addr = "${a}"\n  }\n`).join('');
  return `storage "raft" {
  path = "${join(o.dir, 'data')}"
  node_id = "${o.id}"
  # Fast elections on loopback (the production default multiplies timeouts by 5).
  performance_multiplier = 1
${joins}}

listener "tcp" {
  address = "127.0.0.1:${o.apiPort}"
  cluster_address = "127.0.0.1:${o.clusterPort}"
  tls_disable = true
}

api_addr = "http://127.0.0.1:${o.apiPort}"
cluster_addr = "https://127.0.0.1:${o.clusterPort}"
disable_mlock = true
ui = false
log_level = "info"
`;
}

export async function startRaftCluster(options: {
  flavour: VaultFlavour;
  dir: string;
  size?: number;
  /**
   * False: every node is started and left uninitialised (a fresh DR standby, which a failover
   * initialises itself); rootToken and unsealKey are then empty. Default true.
   */
  initialise?: boolean;
}): Promise<RaftCluster> {
  const binary = toolPath(options.flavour);
  const size = options.size ?? 3;
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const specs = Array.from({ length: size }, (_, i) => ({
    id: `node-${i + 1}`,
    apiPort: ports[i * 2] as number,
    clusterPort: ports[i * 2 + 1] as number,
  }));
  const addresses = specs.map((s) => `http://127.0.0.1:${s.apiPort}`);
  const nodes: RaftNode[] = [];
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  chmodSync(options.dir, 0o700);
  // Filled in after init; every node's log censor reads it at the time a line is written.
  const secrets: string[] = [];
  const censorLine = (line: string) => secrets.reduce((l, s) => l.replaceAll(s, '[redacted]'), line);
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.process.stop()));
  };

  /** Starts node i's server process on its own data and configuration (written again, the same). */
  const launch = async (i: number) => {
    const spec = specs[i] as (typeof specs)[number];
    const dir = join(options.dir, spec.id);
    mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 });
    const configFile = join(dir, 'config.hcl');
    writeFileSync(configFile, nodeConfig({ dir, ...spec, joinTo: addresses.filter((_, j) => j !== i) }));
    const address = addresses[i] as string;
    return startProcess({
      name: `${options.flavour} raft ${spec.id}`,
      command: binary,
      args: ['server', `-config=${configFile}`],
      env: { PATH: process.env.PATH, HOME: dir },
      logFile: join(dir, 'server.log'),
      censorLine,
      // Any answer from sys/health (501 uninitialised, 503 sealed) means the listener is up.
      ready: async () =>
        (await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(2000) })).status > 0,
    });
  };
  const startNode = async (i: number): Promise<RaftNode> => {
    const spec = specs[i] as (typeof specs)[number];
    const node = { id: spec.id, address: addresses[i] as string, process: await launch(i) };
    nodes.push(node);
    return node;
  };

  const killed = new Set<RaftNode>();
  const handle = (rootToken: string, unsealKey: string): RaftCluster => ({
    flavour: options.flavour,
    nodes,
    rootToken,
    unsealKey,
    async leader() {
      return until('a leader', async () => {
        // Ask the living nodes; a standby names a dead leader until its heartbeat times out.
        for (const node of nodes.filter((n) => !killed.has(n))) {
          const res = await api(node.address, 'GET', 'sys/leader').catch(() => undefined);
          const found = nodes.find((n) => n.address === res?.body.leader_address && !killed.has(n));
          if (found) return found;
        }
        return undefined;
      });
    },
    kill(node) {
      killed.add(node);
      node.process.child.kill('SIGKILL');
    },
    async restart(node) {
      const i = nodes.indexOf(node);
      if (i < 0 || !killed.has(node)) throw new Error(`raft cluster: ${node.id} was not killed`);
      // The restarted node keeps its place (and id, address): only its process is new.
      node.process = await launch(i);
      killed.delete(node);
      return node;
    },
    stop: stopAll,
  });

  if (options.initialise === false) {
    try {
      for (let i = 0; i < size; i++) await startNode(i);
      return handle('', '');
    } catch (err) {
      await stopAll();
      throw err;
    }
  }

  try {
    const first = await startNode(0);
    const init = await api(first.address, 'PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    if (init.status !== 200)
      throw new Error(`raft cluster: init failed: HTTP ${init.status} ${JSON.stringify(init.body.errors)}`);
    const unsealKey = (init.body.keys_base64 as string[])[0] as string;
    const rootToken = init.body.root_token as string;
    secrets.push(unsealKey, rootToken);
    await api(first.address, 'PUT', 'sys/unseal', { key: unsealKey });
    await until('node-1 to become active', async () =>
      (await api(first.address, 'GET', 'sys/health')).status === 200 ? true : undefined,
    );
    // Promote joining nodes to voters quickly instead of after the default 10 s.
    await api(
      first.address,
      'POST',
      'sys/storage/raft/autopilot/configuration',
      { server_stabilization_time: '1s' },
      rootToken,
    );

    for (let i = 1; i < size; i++) {
      const node = await startNode(i);
      // With Shamir seals a joining node unseals with the cluster's key once it has joined.
      await until(`${node.id} to join and unseal`, async () => {
        const res = await api(node.address, 'PUT', 'sys/unseal', { key: unsealKey });
        return res.status === 200 && res.body.sealed === false ? true : undefined;
      });
    }

    await until(`all ${size} nodes to be raft voters`, async () => {
      const res = await api(first.address, 'GET', 'sys/storage/raft/configuration', undefined, rootToken);
      const servers =
        (res.body.data as { config?: { servers?: { voter: boolean }[] } })?.config?.servers ?? [];
      return servers.length === size && servers.every((s) => s.voter) ? true : undefined;
    });

    return handle(rootToken, unsealKey);
  } catch (err) {
    await stopAll();
    throw err;
  }
}
