// The DR pair of `vaultops dev --dr`: a primary and a standby, each a single-node raft cluster
// (dev servers keep data in memory and have no raft snapshots), started fresh each time, the
// primary with the KV v2 mount at secret/ that protection writes its canary to. The unseal key
// and root token of each stay in memory; the dev stack shows them only to its own user, as
// `vault server -dev` shows its root token.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type RaftCluster, startRaftCluster } from './raft-cluster.js';
import type { VaultFlavour } from './vault-dev.js';

export interface DrPair {
  primary: RaftCluster;
  standby: RaftCluster;
  stop(): Promise<void>;
}

export async function startDrPair(options: { flavour: VaultFlavour; dir: string }): Promise<DrPair> {
  const dirs = { primary: join(options.dir, 'primary'), standby: join(options.dir, 'standby') };
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  const started = await Promise.allSettled([
    startRaftCluster({ flavour: options.flavour, dir: dirs.primary, size: 1 }),
    startRaftCluster({ flavour: options.flavour, dir: dirs.standby, size: 1 }),
  ]);
  const [primary, standby] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  const stop = async () => {
    await Promise.all([primary?.stop(), standby?.stop()]);
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed || !primary || !standby) {
    await stop();
    throw failed?.reason ?? new Error('the DR pair did not start');
  }
  try {
    const leader = await primary.leader();
    const res = await fetch(`${leader.address}/v1/sys/mounts/secret`, {
      method: 'POST',
      headers: { 'X-Vault-Token': primary.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'kv', options: { version: '2' } }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`the DR primary refused the secret/ mount: HTTP ${res.status}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { primary, standby, stop };
}
