// DR failback: what the failback needs beyond the failover's and the protect step's
// activities: the current-primary record as the last failover wrote it, and the acting primary's
// raft committed index read just before it is fenced (the gap against the final snapshot's index
// says whether anything was written after that snapshot). Numbers and cluster names only.
import type { CurrentPrimaryRecord } from '../../common/dr/failover.js';
import { keptAlive } from '../../vault/activity-scope.js';
import { readLeader } from '../../vault/sys.js';
import { resolveClusters } from '../clusters.js';
import { drillAccess } from './protect-and-drill.js';
import { currentPrimaryFileOf, type DrSwitchDeps, readCurrentPrimaryFile } from './switch.js';

export function createDrFailbackActivities(deps: DrSwitchDeps) {
  const clusters = resolveClusters(deps);
  const recordFile = currentPrimaryFileOf(deps);

  return keptAlive({
    /** The current-primary record (file next to the snapshot store); null when no failover wrote one. */
    async drReadCurrentPrimary(): Promise<CurrentPrimaryRecord | null> {
      return readCurrentPrimaryFile(recordFile);
    },

    /**
     * The cluster's raft committed index from sys/leader. An acting primary restored from another
     * cluster honours that cluster's credentials (`restoredFrom`), not its own: drillAccess picks.
     */
    async drRaftCommittedIndex(input: {
      cluster: string;
      restoredFrom?: string;
    }): Promise<{ index: number | null }> {
      const vault = input.restoredFrom
        ? (await drillAccess(clusters.get(input.cluster), clusters.get(input.restoredFrom))).client
        : clusters.get(input.cluster);
      return { index: (await readLeader(vault)).raftCommittedIndex };
    },
  });
}

export type DrFailbackActivities = ReturnType<typeof createDrFailbackActivities>;
