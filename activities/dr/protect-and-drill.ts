// DR protect and drill: canaries, raft snapshots streamed from a cluster's leader into a
// SnapshotStore, the manifest, retention, and restores into a standby with the comparison that
// proves them. Snapshot bytes move only here, between Vault and the store; what returns to the
// workflow is the manifest entry: ids, digests, sizes, counts. Tokens stay in the clients.
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { planRetention, type RetentionPolicy } from '../../common/dr/retention.js';
import {
  type DrBaseline,
  type DrFingerprint,
  type DrillRecord,
  fingerprintDifferences,
  type KeyringIdentity,
  type SnapshotEntry,
  type SnapshotStatus,
} from '../../common/dr/snapshots.js';
import { activityCancellation, keptAlive } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType, vaultFailure } from '../../vault/errors.js';
import { writeSecret } from '../../vault/kv.js';
import {
  listSecretsEngines,
  readHealth,
  readLeader,
  restoreRaftSnapshotStream,
  streamRaftSnapshot,
} from '../../vault/sys.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { activeNode } from './active-node.js';
import { CANARY, readFingerprint } from './fingerprint.js';
import { prepareFreshStandby } from './fresh-standby.js';
import { type KeyringVerdict, restoredKeyringVerdict } from './keyring.js';
import { raftSnapshotInspector } from './raft-meta.js';
import type { SnapshotStore } from './snapshot-store.js';
import { honoursToken } from './token-honoured.js';

/** An unrecorded snapshot file older than this was left by a crash, not by a run in progress. */
const ORPHAN_AGE_MS = 6 * 3600_000;
/** How long a restored cluster has to come back as an active node that honours the source's token. */
const RESTORED_READY_MS = 60_000;
/** The restore's upload goes to one node, unretried: long enough for a large snapshot. */
const RESTORE_UPLOAD_MS = 600_000;

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

/**
 * The client a drill reaches the target with. A standby that has been restored from the source
 * holds the source's data and tokens, its own gone; a fresh one still has its own. So: the target's
 * own credentials if it honours them, else the source's session sent to the target's nodes.
 */
export async function drillAccess(
  target: VaultClient,
  source: VaultClient,
): Promise<{ client: VaultClient; credentials: 'target' | 'source' }> {
  if (await honoursToken(target)) return { client: target, credentials: 'target' };
  const borrowed = target.withTokensOf(source);
  if (await honoursToken(borrowed)) return { client: borrowed, credentials: 'source' };
  throw refuse(
    'DrNoAccess',
    "the target cluster honours neither its own configured credentials nor the source's: configure the " +
      "target's authentication with a token or method that exists on it (after a restore, the source's)",
  );
}

export function createDrActivities(
  deps: ClusterDeps & {
    store: SnapshotStore;
    /** Where a fresh standby's throwaway init waits for its restore (default: the store's directory). */
    stateDir?: string;
  },
) {
  const clusters = resolveClusters(deps);
  const { store } = deps;
  const stateDir = deps.stateDir ?? store.location;

  const entryOf = async (id: string): Promise<SnapshotEntry> => {
    const entry = (await store.readManifest()).snapshots.find((e) => e.id === id);
    if (!entry)
      throw refuse('DrSnapshotMissing', `snapshot ${id} is not in the manifest at ${store.location}`);
    return entry;
  };

  const updateEntry = async (id: string, change: (e: SnapshotEntry) => SnapshotEntry) => {
    let updated: SnapshotEntry | undefined;
    await store.updateManifest((m) => ({
      ...m,
      snapshots: m.snapshots.map((e) => {
        if (e.id !== id) return e;
        updated = change(e);
        return updated;
      }),
    }));
    if (!updated)
      throw refuse('DrSnapshotMissing', `snapshot ${id} is not in the manifest at ${store.location}`);
    return updated;
  };

  return keptAlive({
    /**
     * Writes the canary secret (a fresh random id and the time; no secret value) that the next
     * snapshot carries: a drill finds this id on the restored cluster, or the restore is not it.
     */
    async drWriteCanary(input: { cluster?: string }): Promise<{ canaryId: string; writtenAt: string }> {
      const vault = clusters.get(input.cluster);
      const mount = (await listSecretsEngines(vault)).find((m) => m.path === `${CANARY.mount}/`);
      if (mount?.type !== 'kv' || mount.kvVersion !== '2')
        throw refuse(
          'DrNoCanaryMount',
          `the DR canary lives in ${CANARY.mount}/${CANARY.path}, but ${CANARY.mount}/ is ${mount ? `a ${mount.type} v${mount.kvVersion ?? '1'} mount` : 'not mounted'}; enable a KV v2 mount at ${CANARY.mount}/`,
        );
      const canaryId = randomUUID();
      const writtenAt = new Date().toISOString();
      // A retry writes another id; the id returned is the one last written.
      await writeSecret(vault, CANARY.mount, CANARY.path, { id: canaryId, written_at: writtenAt });
      return { canaryId, writtenAt };
    },

    /** The cluster's fingerprint: mounts, auth methods, policy digests, KV key counts, canary id. */
    async drFingerprint(input: { cluster?: string; kvKeyCap?: number }): Promise<DrFingerprint> {
      return readFingerprint(clusters.get(input.cluster), {
        ...(input.kvKeyCap ? { kvKeyCap: input.kvKeyCap } : {}),
      });
    },

    /**
     * A raft snapshot from the cluster's leader, streamed into the store as `id` (a retry replaces
     * it). Refused as incomplete when its gzip stream is cut short. Not yet in the manifest.
     */
    async drTakeSnapshot(input: {
      cluster: string;
      id: string;
    }): Promise<Omit<SnapshotEntry, 'status' | 'canaryIds'>> {
      const vault = clusters.get(input.cluster);
      const signal = activityCancellation();
      const leader = await readLeader(vault);
      const takenAt = new Date().toISOString();
      const inspector = raftSnapshotInspector();
      const stored = await store.put(input.id, async (sink) => {
        const forwarded = pipeline(inspector.stream, sink);
        try {
          await streamRaftSnapshot(vault, inspector.stream, signal ? { signal } : {});
          await forwarded;
        } catch (err) {
          inspector.stream.destroy();
          await forwarded.catch(() => undefined);
          throw err;
        }
        if (!inspector.complete())
          throw vaultFailure(
            VaultErrorType.Unavailable,
            'GET sys/storage/raft/snapshot: the snapshot ended before its gzip stream did (cut short)',
            { method: 'GET', path: 'sys/storage/raft/snapshot', status: null, namespace: null },
          );
      });
      const meta = inspector.meta();
      return {
        id: input.id,
        file: stored.file,
        sha256: stored.sha256,
        size: stored.size,
        raftIndex: meta?.index ?? leader.raftCommittedIndex,
        raftIndexSource: meta
          ? 'snapshot-meta'
          : leader.raftCommittedIndex !== null
            ? 'leader-committed-index'
            : null,
        takenAt,
        sourceCluster: input.cluster,
      };
    },

    /** Reads the stored file back: its SHA-256 and size must be what was streamed in. */
    async drVerifyStored(input: { file: string; sha256: string; size: number }): Promise<{ ok: true }> {
      const found = await store.digest(input.file);
      if (found.sha256 !== input.sha256 || found.size !== input.size)
        throw refuse(
          'DrSnapshotCorrupt',
          `${input.file} in ${store.location}: sha256 ${found.sha256} (${found.size} bytes), expected ${input.sha256} (${input.size} bytes)`,
        );
      return { ok: true };
    },

    /** Adds (or replaces, by id) the snapshot's manifest entry. */
    async drRecordSnapshot(entry: SnapshotEntry): Promise<SnapshotEntry> {
      await store.updateManifest((m) => ({
        ...m,
        snapshots: [...m.snapshots.filter((e) => e.id !== entry.id), entry],
      }));
      return entry;
    },

    /** Records a failed attempt (no file: it is never restored) and removes what it stored. */
    async drFailSnapshot(input: { entry: SnapshotEntry; file: string | null }): Promise<void> {
      // The attempt's file by name, or by its id when the step failed before it could say.
      for (const { file } of await store.list())
        if (file === input.file || file.startsWith(`${input.entry.id}.`)) await store.remove(file);
      const entry: SnapshotEntry = { ...input.entry, status: 'failed', file: null, sha256: null, size: null };
      await store.updateManifest((m) => ({
        ...m,
        snapshots: [...m.snapshots.filter((e) => e.id !== entry.id), entry],
      }));
    },

    /** Drops what the retention policy does not keep: files first, then their records. */
    async drApplyRetention(input: {
      policy: RetentionPolicy;
    }): Promise<{ kept: string[]; dropped: string[] }> {
      const manifest = await store.readManifest();
      const plan = planRetention(manifest.snapshots, input.policy, Date.now());
      const dropped = new Set(plan.drop);
      for (const e of manifest.snapshots) if (dropped.has(e.id) && e.file) await store.remove(e.file);
      await store.updateManifest((m) => ({ ...m, snapshots: m.snapshots.filter((e) => !dropped.has(e.id)) }));
      // Files the manifest does not name (a crash between rename and record) go too, once old
      // enough that no protection still running can be about to record them.
      const named = new Set((await store.readManifest()).snapshots.map((e) => e.file));
      for (const { file, modifiedMs } of await store.list())
        if (!named.has(file) && modifiedMs < Date.now() - ORPHAN_AGE_MS) await store.remove(file);
      return { kept: plan.keep, dropped: plan.drop };
    },

    /** The newest snapshot a drill may restore (usable or verified), or a named one. */
    async drChooseSnapshot(input: { sourceCluster?: string; id?: string }): Promise<SnapshotEntry | null> {
      if (input.id) return entryOf(input.id);
      const candidates = (await store.readManifest()).snapshots
        .filter((e) => e.status !== 'failed' && e.file !== null)
        .filter((e) => !input.sourceCluster || e.sourceCluster === input.sourceCluster)
        .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
      return candidates[0] ?? null;
    },

    /**
     * Restores a stored snapshot into the target through its leader (snapshot-force: it comes from
     * another cluster), after checking the file's SHA-256 against the manifest. Safe to repeat.
     * A target never initialised is initialised first (`initialised` says so; its keys are thrown
     * away by the restore and never leave the worker).
     * The target may seal itself a few seconds later (its keyring is now the source's):
     * drAwaitRestored waits for it.
     */
    async drRestoreSnapshot(input: {
      id: string;
      targetCluster: string;
      sourceCluster: string;
    }): Promise<{ uploadMs: number; credentials: 'target' | 'source'; initialised: boolean }> {
      const entry = await entryOf(input.id);
      if (entry.status === 'failed' || !entry.file || !entry.sha256)
        throw refuse('DrSnapshotUnusable', `snapshot ${input.id} is marked failed; it is never restored`);
      const found = await store.digest(entry.file);
      if (found.sha256 !== entry.sha256 || found.size !== entry.size)
        throw refuse(
          'DrSnapshotCorrupt',
          `snapshot ${input.id}: the stored file's sha256 is ${found.sha256} (${found.size} bytes), the manifest says ${entry.sha256} (${entry.size} bytes); not restored`,
        );
      const signal = activityCancellation();
      const file = entry.file;
      const target = clusters.get(input.targetCluster);
      // A never-initialised standby is initialised (throwaway keys) and unsealed first: see
      // dr/fresh-standby.ts for why, and for what a retry after a dead worker finds.
      const fresh = await prepareFreshStandby(target, input.targetCluster, stateDir, signal);
      if (fresh.kind === 'initialised') {
        try {
          const started = Date.now();
          await restoreRaftSnapshotStream(fresh.leader, () => store.open(file), {
            force: true,
            ...(signal ? { signal } : {}),
          });
          await fresh.finish();
          return { uploadMs: Date.now() - started, credentials: 'target', initialised: true };
        } finally {
          await fresh.close();
        }
      }
      const { client, credentials } = await drillAccess(target, clusters.get(input.sourceCluster));
      // Through the node that is active now, asked directly (dr/active-node.ts says why).
      const leader = client.forNode(
        await activeNode(target, input.targetCluster, { withinMs: 60_000, signal }),
        {
          timeoutMs: RESTORE_UPLOAD_MS,
        },
      );
      try {
        const started = Date.now();
        await restoreRaftSnapshotStream(leader, () => store.open(file), {
          force: true,
          ...(signal ? { signal } : {}),
        });
        return { uploadMs: Date.now() - started, credentials, initialised: false };
      } finally {
        await leader.close().catch(() => undefined);
      }
    },

    /**
     * Waits until the restored target serves the source's data: unsealed, active, honouring the
     * source's token. OpenBao seals itself a few seconds after a forced restore (the keyring it
     * holds in memory no longer opens the restored one): that is reported as VaultSealed, so the
     * seal-aware step queues until the target is unsealed with the SOURCE's unseal keys.
     */
    async drAwaitRestored(input: { targetCluster: string; sourceCluster: string }): Promise<{ ready: true }> {
      const borrowed = clusters.get(input.targetCluster).withTokensOf(clusters.get(input.sourceCluster));
      await untilServing(borrowed, activityCancellation());
      return { ready: true };
    },

    /**
     * Whether the restored target's in-memory keyring is already the snapshot's (sys/key-status,
     * read with the source's token once the target serves it, within `withinMs`). `matches` means
     * the restore cannot seal it for a keyring it cannot decrypt: no seal is to be waited for.
     */
    async drRestoredKeyring(input: {
      targetCluster: string;
      sourceCluster: string;
      snapshotKeyring: KeyringIdentity;
      withinMs: number;
    }): Promise<{ verdict: KeyringVerdict; detail: string }> {
      const borrowed = clusters.get(input.targetCluster).withTokensOf(clusters.get(input.sourceCluster));
      return restoredKeyringVerdict(borrowed, input.snapshotKeyring, {
        withinMs: input.withinMs,
        signal: activityCancellation(),
      });
    },

    /** The target's fingerprint (through drillAccess) against the baseline; differences, if any. */
    async drCompare(input: {
      targetCluster: string;
      sourceCluster: string;
      baseline: DrBaseline;
      kvKeyCap?: number;
    }): Promise<{ fingerprint: DrFingerprint; differences: string[] }> {
      const { client } = await drillAccess(
        clusters.get(input.targetCluster),
        clusters.get(input.sourceCluster),
      );
      const fingerprint = await readFingerprint(client, input.kvKeyCap ? { kvKeyCap: input.kvKeyCap } : {});
      return { fingerprint, differences: fingerprintDifferences(input.baseline, fingerprint) };
    },

    /** Records a drill on the snapshot's entry; `verified` when nothing differed. */
    async drRecordDrill(input: { id: string; drill: DrillRecord }): Promise<SnapshotEntry> {
      return updateEntry(input.id, (e) => ({
        ...e,
        status: (input.drill.differences.length === 0 ? 'verified' : e.status) as SnapshotStatus,
        lastDrill: input.drill,
      }));
    },
  });
}

/**
 * After a forced restore the node reloads its data (and keyring): wait until it answers as an
 * unsealed active node and honours the source's token. Sealed is reported as VaultSealed, so the
 * seal-aware step waits for an unseal, which takes the SOURCE cluster's unseal keys now.
 */
async function untilServing(client: VaultClient, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + RESTORED_READY_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw signal.reason;
    try {
      const health = await readHealth(client);
      if (health.sealed)
        throw vaultFailure(
          VaultErrorType.Sealed,
          'the restored cluster is sealed: unseal it with the SOURCE cluster’s unseal keys (its own are void after the restore)',
          { method: 'GET', path: 'sys/health', status: 503, namespace: null },
        );
      if (await honoursToken(client)) return;
      last = "the source's token is not honoured yet";
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.Sealed)) throw err;
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw vaultFailure(
    VaultErrorType.Unavailable,
    `the restored cluster did not come back within ${RESTORED_READY_MS / 1000} s (${last})`,
    { method: 'GET', path: 'sys/health', status: null, namespace: null },
  );
}

export type DrActivities = ReturnType<typeof createDrActivities>;
