// DR failover: probes of the old primary's nodes, its fencing and the watch over nodes
// that did not answer, the snapshot to fail over to, the standby's unseal progress, and the switch
// (current-primary record, KV copy, hook). The restore, the wait for the restored standby and the
// comparison are the drill's (activities/dr/protect-and-drill.ts). What returns to the workflow is node addresses,
// outcomes, counts and the manifest entry; no token, share or snapshot byte.
import type { ProbeRound } from '../../common/dr/detect.js';
import {
  CURRENT_PRIMARY_KV,
  type CurrentPrimaryRecord,
  type FenceRecord,
  type SealProgress,
} from '../../common/dr/failover.js';
import type { SnapshotEntry } from '../../common/dr/snapshots.js';
import { activityCancellation, keptAlive } from '../../vault/activity-scope.js';
import { writeSecret } from '../../vault/kv.js';
import { resolveClusters } from '../clusters.js';
import { fenceCluster, watchAndFence } from './fence.js';
import { probeCluster } from './probe.js';
import { drillAccess } from './protect-and-drill.js';
import {
  currentPrimaryFileOf,
  type DrSwitchDeps,
  type HookResult,
  runHook,
  writeCurrentPrimaryFile,
} from './switch.js';
import { awaitSealChange, readSealProgress } from './unseal-state.js';

const FENCE_TIMEOUTS = { probeTimeoutMs: 2500, sealTimeoutMs: 15_000 };

export type FailoverSnapshotChoice = 'named' | 'verified' | 'usable-unverified';

export function createDrFailoverActivities(deps: DrSwitchDeps) {
  const clusters = resolveClusters(deps);
  const recordFile = currentPrimaryFileOf(deps);

  /** The target as the source's restore left it: its own credentials if honoured, else the source's. */
  const restoredAccess = async (target: string, source: string) =>
    (await drillAccess(clusters.get(target), clusters.get(source))).client;

  return keptAlive({
    /** sys/health of every node of the cluster, each within `timeoutMs`; never fails for a node. */
    async drProbeCluster(input: { cluster: string; timeoutMs: number }): Promise<ProbeRound> {
      return probeCluster(clusters.get(input.cluster), input.timeoutMs);
    },

    /**
     * Seals every answering node of the cluster, recorded per node. `restoredFrom` reaches a restored
     * standby with the cluster whose snapshot it now holds (after a failed verification).
     */
    async drFenceCluster(input: { cluster: string; restoredFrom?: string }): Promise<FenceRecord[]> {
      const vault = input.restoredFrom
        ? await restoredAccess(input.cluster, input.restoredFrom).catch(() => clusters.get(input.cluster))
        : clusters.get(input.cluster);
      return fenceCluster(vault, FENCE_TIMEOUTS, activityCancellation());
    },

    /** Seals each of `addresses` as soon as it answers again, until `until` (ISO 8601). */
    async drFenceWatch(input: {
      cluster: string;
      addresses: string[];
      until: string;
      pollMs?: number;
    }): Promise<FenceRecord[]> {
      const signal = activityCancellation();
      return watchAndFence(clusters.get(input.cluster), input.addresses, {
        ...FENCE_TIMEOUTS,
        untilMs: Date.parse(input.until),
        pollMs: input.pollMs ?? 500,
        ...(signal ? { signal } : {}),
      });
    },

    /**
     * The snapshot to fail over to: a named one, else the source's newest that is not failed, and
     * the choice says whether a drill verified it. The newest, not the newest verified: an older
     * verified snapshot would silently drop every write since (the restore is verified against
     * the snapshot's own fingerprint right after, and `--snapshot` picks another). Null: none.
     */
    async drChooseFailoverSnapshot(input: {
      sourceCluster: string;
      id?: string;
    }): Promise<{ entry: SnapshotEntry; choice: FailoverSnapshotChoice } | null> {
      const all = (await deps.store.readManifest()).snapshots;
      if (input.id) {
        const named = all.find((e) => e.id === input.id);
        return named ? { entry: named, choice: 'named' } : null;
      }
      const newest = all
        .filter((e) => e.sourceCluster === input.sourceCluster && e.status !== 'failed' && e.file !== null)
        .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt));
      const chosen = newest[0];
      if (!chosen) return null;
      return { entry: chosen, choice: chosen.status === 'verified' ? 'verified' : 'usable-unverified' };
    },

    /** Every node's seal status: sealed, shares given of those needed, seal type. */
    async drSealProgress(input: { cluster: string }): Promise<SealProgress> {
      return readSealProgress(input.cluster, clusters.get(input.cluster));
    },

    /** Waits (polling every 500 ms) until the seal progress differs from `knownKey`, or `maxWaitMs`. */
    async drAwaitSealChange(input: {
      cluster: string;
      knownKey: string;
      maxWaitMs: number;
    }): Promise<SealProgress> {
      const signal = activityCancellation();
      return awaitSealChange(input.cluster, clusters.get(input.cluster), {
        knownKey: input.knownKey,
        maxWaitMs: input.maxWaitMs,
        pollMs: 500,
        ...(signal ? { signal } : {}),
      });
    },

    /**
     * The switch: the current-primary record, written atomically next to the snapshot store, and
     * its copy in KV on the new primary (reached as drillAccess reaches a restored standby).
     */
    async drSwitchPrimary(input: {
      newPrimary: string;
      oldPrimary: string;
      snapshotId: string;
      workflowId: string;
      since: string;
    }): Promise<{ recordFile: string; kv: string; kvVersion: number }> {
      const record: CurrentPrimaryRecord = {
        cluster: input.newPrimary,
        previous: input.oldPrimary,
        since: input.since,
        snapshotId: input.snapshotId,
        workflowId: input.workflowId,
        addresses: [...clusters.get(input.newPrimary).nodes.addresses],
      };
      const client = await restoredAccess(input.newPrimary, input.oldPrimary);
      const written = await writeSecret(client, CURRENT_PRIMARY_KV.mount, CURRENT_PRIMARY_KV.path, {
        ...record,
        addresses: record.addresses.join(','),
      });
      await writeCurrentPrimaryFile(recordFile, record);
      return {
        recordFile,
        kv: `${CURRENT_PRIMARY_KV.mount}/${CURRENT_PRIMARY_KV.path}`,
        kvVersion: written.version,
      };
    },

    /** The operator's hook for DNS or a load balancer; its exit status only. Never retried. */
    async drRunHook(input: {
      command: string;
      newPrimary: string;
      oldPrimary: string;
      timeoutMs: number;
    }): Promise<HookResult> {
      const signal = activityCancellation();
      return runHook(
        input.command,
        { VAULTOPS_DR_NEW_PRIMARY: input.newPrimary, VAULTOPS_DR_OLD_PRIMARY: input.oldPrimary },
        { timeoutMs: input.timeoutMs, ...(signal ? { signal } : {}) },
      );
    },
  });
}

export type DrFailoverActivities = ReturnType<typeof createDrFailoverActivities>;
