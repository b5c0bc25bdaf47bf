// A never-initialised standby, restored into (activities/dr/fresh-standby.ts), on the server under
// test: a 1-node raft primary and a 1-node raft standby started uninitialised; the DR activities
// called directly (no workflow: what is tested is what a retry after a dead worker finds).
//
// The worker dies between init and restore: the first attempt initialises the standby (one share)
// and leaves the throwaway key and token in a 0600 file next to the snapshot store; the standby is
// then restarted, so it comes back SEALED with that throwaway keyring. The retry (drRestoreSnapshot)
// unseals it with the file's key, restores through it, and removes the file. The standby seals
// itself after the forced restore; the PRIMARY's share opens it, and it serves the primary's data to
// the primary's token. A stale file left after the restore (the worker died before removing it) is
// recognised: the throwaway key no longer opens the standby, so the file goes and nothing else
// happens. The activity's results name no key or token.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { directoryStore } from '../../../activities/dr/directory-store.js';
import { pendingInitFile, prepareFreshStandby } from '../../../activities/dr/fresh-standby.js';
import { createDrActivities } from '../../../activities/dr/protect-and-drill.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { readHealth, unseal } from '../../../vault/sys.js';
import { server } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-dr-fresh-${flavour}-`));
const storeDir = join(dir, 'snapshots');
const store = directoryStore(storeDir);
let primary: RaftCluster;
let standby: RaftCluster;
const vaults: Record<string, VaultClient> = {};

const clientAt = (address: string, token?: string) => {
  const client = new VaultClient({
    address,
    timeoutMs: 10_000,
    retry: { maxRetries: 3, waitMinMs: 100, waitMaxMs: 500 },
  });
  if (token) client.tokens.set(token);
  return client;
};

beforeAll(async () => {
  [primary, standby] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'primary'), size: 1 }),
    startRaftCluster({ flavour, dir: join(dir, 'standby'), size: 1, initialise: false }),
  ]);
  vaults.primary = clientAt(primary.nodes[0]?.address as string, primary.rootToken);
  // The standby's configured credentials: none exist on a cluster nobody has initialised.
  vaults.standby = clientAt(standby.nodes[0]?.address as string);
  await vaults.primary.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  for (let i = 0; i < 5; i++) await writeSecret(vaults.primary, 'secret', `app/key-${i}`, { n: i });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(vaults).map((v) => v.close()));
  await Promise.all([primary?.stop(), standby?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe(`restore into a fresh standby on ${flavour}`, () => {
  it('a retry after the worker died between init and restore unseals with the kept key, restores, and forgets it', async () => {
    const acts = createDrActivities({
      vault: vaults.primary as VaultClient,
      clusters: clusterClients(vaults),
      store,
    });
    const taken = await acts.drTakeSnapshot({ cluster: 'primary', id: 'fresh-1' });
    await acts.drRecordSnapshot({ ...taken, status: 'usable', canaryIds: [] });
    const node = standby.nodes[0] as RaftCluster['nodes'][number];
    expect((await readHealth(vaults.standby as VaultClient)).initialized).toBe(false);

    // Attempt 1: initialised, then the worker "dies" before the restore.
    const first = await prepareFreshStandby(vaults.standby as VaultClient, 'standby', storeDir);
    expect(first.kind).toBe('initialised');
    if (first.kind === 'initialised') await first.close();
    const file = pendingInitFile(storeDir, 'standby');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kept = readFileSync(file, 'utf8');
    const throwaway = JSON.parse(kept) as { unsealKey: string; rootToken: string };

    // The standby restarts meanwhile: sealed, with the throwaway keyring.
    standby.kill(node);
    await standby.restart(node);
    expect((await readHealth(vaults.standby as VaultClient)).sealed).toBe(true);

    // The retry: unsealed with the kept key, restored through it, the file removed.
    const restored = await acts.drRestoreSnapshot({
      id: 'fresh-1',
      targetCluster: 'standby',
      sourceCluster: 'primary',
    });
    expect(restored).toMatchObject({ credentials: 'target', initialised: true });
    expect(JSON.stringify(restored)).not.toContain(throwaway.unsealKey);
    expect(JSON.stringify(restored)).not.toContain(throwaway.rootToken);
    expect(() => statSync(file)).toThrow(/ENOENT/);

    // The restore brings the primary's keyring: the standby seals itself, and the PRIMARY's share opens it.
    await waitFor(
      // OpenBao answers sys/health with a 500 for a moment while it reloads the restored data.
      async () => (await readHealth(vaults.standby as VaultClient).catch(() => undefined))?.sealed === true,
      60_000,
      'the seal after the restore',
    );
    await unseal(vaults.standby as VaultClient, primary.unsealKey);
    const asPrimary = (vaults.standby as VaultClient).withTokensOf(vaults.primary as VaultClient);
    await acts.drAwaitRestored({ targetCluster: 'standby', sourceCluster: 'primary' });
    expect((await readSecret(asPrimary, 'secret', 'app/key-4')).data).toMatchObject({ n: 4 });
    // The throwaway root token is void: the token store is the primary's now.
    await expect(clientAt(node.address, throwaway.rootToken).read('auth/token/lookup-self')).rejects.toThrow(
      /permission denied/i,
    );

    // A stale file (the worker died after the restore, before removing it), with the standby sealed:
    // the throwaway key no longer opens it, so the restore went in; the file goes, nothing else.
    (vaults.standby as VaultClient).tokens.set(primary.rootToken);
    await (vaults.standby as VaultClient).write('sys/seal', {});
    writeFileSync(file, kept, { mode: 0o600 });
    const stale = await prepareFreshStandby(vaults.standby as VaultClient, 'standby', storeDir);
    expect(stale.kind).toBe('restored-already');
    expect(() => statSync(file)).toThrow(/ENOENT/);
    expect((await readHealth(vaults.standby as VaultClient)).sealed).toBe(true);
    // An initialised standby without a file is not fresh: the usual path.
    await unseal(vaults.standby as VaultClient, primary.unsealKey);
    expect((await prepareFreshStandby(vaults.standby as VaultClient, 'standby', storeDir)).kind).toBe(
      'not-fresh',
    );
  }, 120_000);
});
