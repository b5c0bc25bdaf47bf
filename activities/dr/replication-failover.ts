// DR failover through Vault Enterprise DR replication: the standby's and old
// primary's DR status, the old primary's demotion and the watch over nodes that did not answer, the
// standby's promotion with the DR operation batch token, the wait until it serves as primary, and
// the old primary pointed at the new one. The DR operation token and the secondary activation token
// are read or made inside these activities and never returned: what goes back to the workflow is
// modes, node addresses, outcomes and where the token was read from.
import { ApplicationFailure } from '@temporalio/common';
import type { DemoteRecord, DrReplicationStatus } from '../../common/dr/replication.js';
import { activityCancellation, keptAlive } from '../../vault/activity-scope.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import {
  createDrSecondaryToken,
  promoteDrSecondary,
  readDrStatus,
  updateDrPrimary,
} from '../../vault/replication.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { drOperationTokenSource, readDrOperationToken } from './dr-operation-token.js';
import { probeCluster } from './probe.js';
import { drillAccess } from './protect-and-drill.js';
import { demoteCluster, watchAndDemote } from './replication-fence.js';

const TIMEOUTS = { probeTimeoutMs: 2500, demoteTimeoutMs: 15_000 };

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

const short = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 240);

/** Vault's refusals (4xx): the request arrived and was turned down; sending it again changes nothing. */
const isRefusal = (err: unknown) =>
  isVaultFailure(err, VaultErrorType.PermissionDenied) || isVaultFailure(err, VaultErrorType.InvalidRequest);

export interface PromotionResult {
  cluster: string;
  /** True when the cluster was primary already (a retried or repeated failover). */
  alreadyPrimary: boolean;
  clusterId: string | null;
  /** Where the DR operation token was read from (a file name or an env var name). */
  tokenSource: string;
}

export interface PrimaryServing {
  cluster: string;
  mode: DrReplicationStatus['mode'];
  state: string | null;
  clusterId: string | null;
  /** The node that answered sys/health as active. */
  activeNode: string;
  waitedMs: number;
}

export type RepointResult =
  | {
      outcome: 'repointed';
      oldPrimary: string;
      newPrimary: string;
      primaryApiAddr: string;
      secondaryId: string;
    }
  | { outcome: 'skipped' | 'failed'; oldPrimary: string; newPrimary: string; detail: string };

export function createDrReplicationActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);

  return keptAlive({
    /** The cluster's DR replication status (through any node; the endpoint needs no token). */
    async drReplicationStatus(input: { cluster: string }): Promise<DrReplicationStatus> {
      return readDrStatus(clusters.get(input.cluster));
    },

    /**
     * Before anything is fenced: the standby must be a DR secondary (or a primary already, on a
     * repeated run) and the DR operation token must be readable. Non-retryable refusals otherwise.
     */
    async drReplicationPreflight(input: {
      toCluster: string;
      drOperationTokenFile?: string;
    }): Promise<{ standby: DrReplicationStatus; tokenSource: string }> {
      await readDrOperationToken(input.drOperationTokenFile); // read and dropped: only that it is there
      const standby = await readDrStatus(clusters.get(input.toCluster)).catch((err: unknown) => {
        if (isRefusal(err))
          throw refuse(
            'DrNotReplicating',
            `${input.toCluster} answers no DR replication status (${short(err)}): not a Vault Enterprise DR secondary; fail over from a snapshot instead (--no-replication)`,
          );
        throw err;
      });
      if (standby.mode !== 'secondary' && standby.mode !== 'primary')
        throw refuse(
          'DrNotReplicating',
          `${input.toCluster} is not a DR secondary (DR mode ${standby.rawMode}): nothing to promote; fail over from a snapshot instead (--no-replication)`,
        );
      return { standby, tokenSource: drOperationTokenSource(input.drOperationTokenFile) };
    },

    /** Demotes the old primary through an answering node, recorded per node. */
    async drReplicationDemote(input: { cluster: string }): Promise<DemoteRecord[]> {
      return demoteCluster(clusters.get(input.cluster), TIMEOUTS);
    },

    /** Demotes each of `addresses` as soon as it answers unsealed, until `until` (ISO 8601). */
    async drReplicationWatch(input: {
      cluster: string;
      addresses: string[];
      until: string;
      pollMs?: number;
    }): Promise<DemoteRecord[]> {
      const signal = activityCancellation();
      return watchAndDemote(clusters.get(input.cluster), input.addresses, {
        ...TIMEOUTS,
        untilMs: Date.parse(input.until),
        pollMs: input.pollMs ?? 500,
        ...(signal ? { signal } : {}),
      });
    },

    /**
     * Promotes the DR secondary with the DR operation token. A cluster that is primary already is
     * left alone (so a retry after a lost reply does not promote twice); a refusal is final.
     */
    async drReplicationPromote(input: {
      cluster: string;
      drOperationTokenFile?: string;
      primaryClusterAddr?: string;
      force?: boolean;
    }): Promise<PromotionResult> {
      const vault = clusters.get(input.cluster);
      const tokenSource = drOperationTokenSource(input.drOperationTokenFile);
      const before = await readDrStatus(vault);
      if (before.mode === 'primary')
        return { cluster: input.cluster, alreadyPrimary: true, clusterId: before.clusterId, tokenSource };
      if (before.mode !== 'secondary')
        throw refuse(
          'DrNotSecondary',
          `${input.cluster} is not a DR secondary (DR mode ${before.rawMode}): nothing to promote`,
        );
      const drOperationToken = await readDrOperationToken(input.drOperationTokenFile);
      try {
        await promoteDrSecondary(vault, {
          drOperationToken,
          primaryClusterAddr: input.primaryClusterAddr,
          force: input.force,
        });
      } catch (err) {
        if (isRefusal(err))
          throw refuse(
            'DrPromoteRefused',
            `${input.cluster} refused the promotion (${short(err)}): check the DR operation token from ${tokenSource} (a batch token expires with its TTL; make a new one on a primary, or generate one on the secondary from the key shares)`,
          );
        // A lost reply: the cluster's own status says whether it took.
        const after = await readDrStatus(vault).catch(() => undefined);
        if (after?.mode !== 'primary') throw err;
      }
      return { cluster: input.cluster, alreadyPrimary: false, clusterId: before.clusterId, tokenSource };
    },

    /**
     * Waits (polling every 500 ms, up to `maxWaitMs`) until the cluster's DR status says primary
     * and one of its nodes answers sys/health as active: promoted, and serving.
     */
    async drReplicationAwaitPrimary(input: { cluster: string; maxWaitMs: number }): Promise<PrimaryServing> {
      const vault = clusters.get(input.cluster);
      const signal = activityCancellation();
      const started = Date.now();
      let last = 'no answer yet';
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        const status = await readDrStatus(vault).catch((err: unknown) => {
          last = `DR status: ${short(err)}`;
          return undefined;
        });
        if (status) {
          const round = await probeCluster(vault, TIMEOUTS.probeTimeoutMs);
          const active = round.nodes.find((n) => n.health === 'active');
          if (status.mode === 'primary' && active)
            return {
              cluster: input.cluster,
              mode: status.mode,
              state: status.state,
              clusterId: status.clusterId,
              activeNode: active.address,
              waitedMs: Date.now() - started,
            };
          last = `DR mode ${status.rawMode}; nodes ${round.nodes.map((n) => `${n.address} ${n.health}`).join(', ')}`;
        }
        if (Date.now() - started >= input.maxWaitMs)
          throw refuse(
            'DrPromoteUnverified',
            `${input.cluster} did not report DR mode primary with an active node within ${input.maxWaitMs} ms (last: ${last})`,
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    },

    /**
     * Points the demoted old primary at the new primary: a secondary activation token is made on
     * the new primary (with the old primary's credentials, which a promoted DR secondary honours)
     * and handed straight to the old primary's update-primary with the DR operation token. Neither
     * token leaves this activity. Never throws for Vault's answers: the outcome says what happened.
     */
    async drReplicationRepoint(input: {
      oldPrimary: string;
      newPrimary: string;
      secondaryId: string;
      drOperationTokenFile?: string;
      primaryApiAddr?: string;
      caFile?: string;
    }): Promise<RepointResult> {
      const names = { oldPrimary: input.oldPrimary, newPrimary: input.newPrimary };
      const oldVault = clusters.get(input.oldPrimary);
      const newVault = clusters.get(input.newPrimary);
      const old = await readDrStatus(oldVault).catch((err: unknown) => short(err));
      if (typeof old === 'string')
        return { outcome: 'skipped', ...names, detail: `${input.oldPrimary} does not answer (${old})` };
      if (old.mode !== 'secondary')
        return {
          outcome: 'skipped',
          ...names,
          detail: `${input.oldPrimary} is DR ${old.rawMode}, not a demoted secondary`,
        };
      const primaryApiAddr = input.primaryApiAddr ?? newVault.address;
      // A retry after a lost reply or a dead worker: the old primary follows the new one already,
      // and a second secondary-token for the same id would be refused.
      if (old.primaries.some((p) => p.apiAddress === primaryApiAddr))
        return { outcome: 'repointed', ...names, primaryApiAddr, secondaryId: input.secondaryId };
      try {
        const drOperationToken = await readDrOperationToken(input.drOperationTokenFile);
        const { client } = await drillAccess(newVault, oldVault);
        const activationToken = await createDrSecondaryToken(client, { id: input.secondaryId, ttl: '30m' });
        await updateDrPrimary(oldVault, {
          drOperationToken,
          activationToken,
          primaryApiAddr,
          caFile: input.caFile,
        });
      } catch (err) {
        return { outcome: 'failed', ...names, detail: short(err) };
      }
      return { outcome: 'repointed', ...names, primaryApiAddr, secondaryId: input.secondaryId };
    },
  });
}

export type DrReplicationActivities = ReturnType<typeof createDrReplicationActivities>;
