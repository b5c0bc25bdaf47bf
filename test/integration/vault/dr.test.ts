// DR protect and drill for real: two single-node raft clusters of the server under test (the
// primary and the standby), the worker with the real activities and a directory snapshot store,
// on a Temporal dev server, with the seal guards the worker starts. Protect streams a snapshot from the primary's leader into the
// store (hash, size, raft index from the snapshot's meta.json, baseline); the drill restores it
// into the standby with snapshot-force, reaches the standby first with its own root token and,
// after the restore, with the primary's. OpenBao seals the standby seconds after the forced restore:
// the drill's unseal step queues until the test, as the key holder, unseals it with the PRIMARY's
// key. The standby is found alike (verified). A file whose bytes no
// longer match the manifest is refused. The history holds no token, unseal key or snapshot bytes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../../activities/clusters.js';
import { directoryStore } from '../../../activities/dr/directory-store.js';
import { CANARY } from '../../../activities/dr/fingerprint.js';
import { drProtectCommand } from '../../../client/commands/dr/dr.js';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { toolPath } from '../../../client/stack/tools.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { readSealStatus, unseal, writePolicy } from '../../../vault/sys.js';
import { ensureSealGuard } from '../../../workers/seal-guard.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import { type DrDrillReport, drDrillWorkflow } from '../../../workflows/dr/drill.js';
import { drProtectWorkflow } from '../../../workflows/dr/protect.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { server } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const dir = mkdtempSync(join(tmpdir(), `vaultops-dr-${flavour}-`));
const storeDir = join(dir, 'snapshots');
const store = directoryStore(storeDir);
const taskQueue = `dr-${flavour}`;
let primary: RaftCluster;
let standby: RaftCluster;
let primaryVault: VaultClient;
let standbyVault: VaultClient;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const ran: string[] = [];

const rootAt = (address: string, token: string) => {
  const client = new VaultClient({ address, retry: { maxRetries: 3, waitMinMs: 100, waitMaxMs: 500 } });
  client.tokens.set(token);
  return client;
};

beforeAll(async () => {
  [primary, standby, env] = await Promise.all([
    startRaftCluster({ flavour, dir: join(dir, 'primary'), size: 1 }),
    startRaftCluster({ flavour, dir: join(dir, 'standby'), size: 1 }),
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1' },
    }),
  ]);
  for (const [c, name] of [
    [primary, 'primary'],
    [standby, 'standby'],
  ] as const) {
    rememberSecret(c.rootToken, `${name} root token`);
    rememberSecret(c.unsealKey, `${name} unseal key`);
  }
  primaryVault = rootAt(primary.nodes[0]?.address as string, primary.rootToken);
  standbyVault = rootAt(standby.nodes[0]?.address as string, standby.rootToken);
  // Something to protect: KV v2 and v1 mounts with keys, a policy, an auth method.
  await primaryVault.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await primaryVault.write('sys/mounts/legacy', { type: 'kv', options: { version: '1' } });
  await primaryVault.write('sys/auth/userpass', { type: 'userpass' });
  await writePolicy(primaryVault, 'app-read', 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n');
  for (let i = 0; i < 25; i++) await writeSecret(primaryVault, 'secret', `app/key-${i}`, { n: i });
  for (let i = 0; i < 5; i++) await primaryVault.write(`legacy/team/k${i}`, { n: i });

  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: {
      vault: primaryVault,
      clusters: clusterClients({ primary: primaryVault, standby: standbyVault }),
      snapshotStore: store,
    },
  });
  running = worker.run();
  // As `vaultops worker` does: a seal guard per cluster, so a sealed standby queues the drill.
  for (const cluster of ['primary', 'standby']) await ensureSealGuard(env.client, { cluster, taskQueue });
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await Promise.all([primaryVault?.close(), standbyVault?.close()]);
  await Promise.all([primary?.stop(), standby?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function protect() {
  const workflowId = `dr-protect-${flavour}-${ran.length}`;
  ran.push(workflowId);
  return env.client.workflow.execute(drProtectWorkflow, {
    taskQueue,
    workflowId,
    args: [{ cluster: 'primary', retention: { keepLast: 2, daily: 0, weekly: 0 } }],
  });
}

/**
 * A drill, with the test as the primary's key holder: should the standby seal itself after the
 * restore, it is unsealed with the PRIMARY's key (its own is void now), as an operator would.
 */
async function drill(): Promise<{ report: DrDrillReport; unsealedByHolder: boolean }> {
  const workflowId = `dr-drill-${flavour}-${ran.length}`;
  ran.push(workflowId);
  const handle = await env.client.workflow.start(drDrillWorkflow, {
    taskQueue,
    workflowId,
    args: [{ sourceCluster: 'primary', targetCluster: 'standby' }],
  });
  let done = false;
  let unsealedByHolder = false;
  const keyHolder = (async () => {
    while (!done) {
      const sealed = await readSealStatus(standbyVault).then(
        (s) => s.sealed,
        () => false,
      );
      if (sealed) {
        await unseal(standbyVault, primary.unsealKey);
        unsealedByHolder = true;
      }
      await sleep(200);
    }
  })();
  try {
    return { report: await handle.result(), unsealedByHolder };
  } finally {
    done = true;
    await keyHolder;
  }
}

/** Bytes of a stored snapshot in the forms a history could carry them: base64, hex, a JSON array. */
function rememberSnapshotBytes(file: string): void {
  const bytes = readFileSync(join(storeDir, file));
  const at = Math.floor(bytes.length / 6) * 3; // base64-aligned
  rememberSecret(bytes.subarray(at, at + 48).toString('base64'), 'snapshot bytes (base64)');
  rememberSecret(bytes.subarray(at, at + 32).toString('hex'), 'snapshot bytes (hex)');
  rememberSecret(`[${[...bytes.subarray(0, 16)].join(',')}`, 'snapshot bytes (JSON array)');
}

describe(`DR protect and drill on ${flavour}`, () => {
  it('protects: a usable snapshot with hash, size, raft index and baseline; the drill verifies it', async () => {
    const started = Date.now();
    const { entry } = await protect();
    expect(entry.status).toBe('usable');
    expect(entry.raftIndexSource).toBe('snapshot-meta');
    expect(entry.raftIndex).toBeGreaterThan(0);
    expect(entry.size).toBeGreaterThan(1000);
    const digest = await store.digest(entry.file as string);
    expect(digest).toEqual({ sha256: entry.sha256, size: entry.size });
    expect(entry.baseline?.before.kvKeyCounts).toMatchObject({
      secret: { count: 26, capped: false }, // 25 keys and the canary
      legacy: { count: 5, capped: false },
    });
    expect(entry.baseline?.before.authMethods).toContain('userpass/ userpass');
    expect(Object.keys(entry.baseline?.before.policies ?? {})).toContain('app-read');
    expect(entry.baseline?.before.canaryId).toBe(entry.canaryIds[0]);
    const manifest = await store.readManifest();
    expect(manifest.snapshots.map((s) => [s.id, s.status])).toEqual([[entry.id, 'usable']]);
    rememberSnapshotBytes(entry.file as string);

    // Written after the snapshot: not in it, and not expected by the drill.
    await writeSecret(primaryVault, 'secret', 'app/after-snapshot', { n: 1 });

    const { report, unsealedByHolder } = await drill();
    expect(report).toMatchObject({
      snapshotId: entry.id,
      outcome: 'verified',
      differences: [],
      credentials: 'target', // a fresh standby still honours its own root token
    });
    expect(report.rpoMs).toBeGreaterThanOrEqual(0);
    expect(report.restoreMs).toBeGreaterThan(0);
    // The standby now holds the primary's data: its own root token is void, the primary's works.
    const asPrimary = standbyVault.withTokensOf(primaryVault);
    expect((await readSecret(asPrimary, CANARY.mount, CANARY.path)).data.id).toBe(entry.canaryIds[0]);
    await expect(readSecret(asPrimary, 'secret', 'app/after-snapshot')).rejects.toThrow(/404|not found/i);
    await expect(standbyVault.read('auth/token/lookup-self')).rejects.toThrow(/permission denied/i);
    expect((await store.readManifest()).snapshots[0]).toMatchObject({ status: 'verified' });
    process.stdout.write(
      `${flavour}: snapshot ${entry.size} bytes; drill RPO ${report.rpoMs} ms, upload ${report.restoreMs} ms, ` +
        `serving after ${report.readyMs} ms (standby sealed itself after the forced restore: ${unsealedByHolder}); ` +
        `whole test ${Date.now() - started} ms\n`,
    );
  });

  it('drills again into the restored standby with the primary credentials; retention keeps the last 2 and the verified one', async () => {
    const verified = (await store.readManifest()).snapshots.find((s) => s.status === 'verified');
    expect(verified).toBeDefined();
    const oldest = await protect();
    const middle = await protect();
    const newest = await protect();
    expect(newest.retention.dropped).toEqual([oldest.entry.id]);
    expect(newest.retention.kept.sort()).toEqual([verified?.id, middle.entry.id, newest.entry.id].sort());
    expect((await store.list()).map((f) => f.file).sort()).toEqual(
      [verified?.file, middle.entry.file, newest.entry.file].sort(),
    );
    const { report } = await drill();
    expect(report).toMatchObject({ snapshotId: newest.entry.id, outcome: 'verified', credentials: 'source' });
  });

  it('refuses a snapshot whose stored bytes no longer match the manifest, and marks it failed', async () => {
    const { entry } = await protect();
    const path = join(storeDir, entry.file as string);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
    writeFileSync(path, bytes);
    const failed = await drill().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const cause = (failed as WorkflowFailedError).cause as Error & { cause?: Error };
    expect(cause.cause?.message).toMatch(/sha256/);
    const recorded = (await store.readManifest()).snapshots.find((s) => s.id === entry.id);
    expect(recorded).toMatchObject({ status: 'failed', file: null });
  });

  it('`dr protect --every` creates a schedule whose runs protect; `--now` runs one and prints its entry', async () => {
    process.env.TEMPORAL_ADDRESS = env.address; // this server, not a dev stack another test may run
    const lines: string[] = [];
    const cli = { cluster: 'primary', address: env.address, taskQueue, keep: '10' };
    await drProtectCommand({ ...cli, every: '1h' }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^Scheduled protection of primary: schedule dr-protect-primary, every 1h/);
    const schedule = env.client.schedule.getHandle('dr-protect-primary');
    try {
      const before = (await store.readManifest()).snapshots.length;
      await schedule.trigger();
      await waitFor(async () => (await store.readManifest()).snapshots.length > before, 30_000);
      const newest = (await store.readManifest()).snapshots.at(-1);
      expect(newest).toMatchObject({ status: 'usable', sourceCluster: 'primary' });
    } finally {
      await schedule.delete();
    }
    lines.length = 0;
    await drProtectCommand({ ...cli, now: true }, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(
      /Snapshot {4}primary-\S+ \(usable\)\nFile .* bytes, sha256 [0-9a-f]{64}\nRaft index {2}\d+ \(snapshot-meta\)/,
    );
  });

  it('leaves no token, unseal key or snapshot bytes in the histories', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});
