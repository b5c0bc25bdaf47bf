// Every activity the worker registers, built from injected clients.
import { logger } from '../common/logger.js';
import { createBreakGlassActivities } from './break-glass/emergency-token.js';
import { createCaBootstrapActivities } from './ca/bootstrap.js';
import { createCaRootActivities } from './ca/root.js';
import { createCaRotationActivities } from './ca/rotation.js';
import { createCertInventoryActivities } from './cert/inventory.js';
import { createCertificateActivities } from './cert/lifecycle.js';
import { resolveClusters } from './clusters.js';
import { defaultSnapshotDir, directoryStore } from './dr/directory-store.js';
import { createDrFailbackActivities } from './dr/failback.js';
import { createDrFailoverActivities } from './dr/failover.js';
import { createDrActivities } from './dr/protect-and-drill.js';
import { createDrReplicationActivities } from './dr/replication-failover.js';
import type { SnapshotStore } from './dr/snapshot-store.js';
import type { HsmConfig } from './hsm/pkcs11.js';
import { createLeaseActivities } from './lease/keeper.js';
import { createMigrateInventoryActivities } from './migrate/inventory.js';
import { createKvCopyActivities } from './migrate/kv-copy.js';
import { createMigrateRunActivities } from './migrate/run.js';
import { createNotifier, type Notifier } from './notifier.js';
import { createPreflightActivities, type PreflightDeps } from './preflight/observations.js';
import { createRotationActivities } from './rotation/protocol.js';
import { createSealActivities } from './seal/watch.js';

/**
 * `vault` is the default cluster's client; `clusters` every configured cluster's by name (default:
 * just `vault` as "default"). Vault-touching activities take the cluster's name in their input.
 */
export interface ActivityDeps extends PreflightDeps {
  /** Where alerts go; by default a log line, plus a POST to $VAULTOPS_ALERT_WEBHOOK if set. */
  notifier?: Notifier;
  /** The PKCS#11 token that holds CA root keys (`hsm:` in the configuration), if any. */
  hsm?: HsmConfig | undefined;
  /** Where DR snapshots and their manifest go (default: a directory, activities/dr/directory-store.ts). */
  snapshotStore?: SnapshotStore;
}

export function createActivities(deps: ActivityDeps) {
  const notifier =
    deps.notifier ?? createNotifier({ logger, webhookUrl: process.env.VAULTOPS_ALERT_WEBHOOK || undefined });
  const clusters = resolveClusters(deps);
  // One store for protection, drills and failover: its lock keeps their manifest writes apart.
  const snapshotStore = deps.snapshotStore ?? directoryStore(defaultSnapshotDir());
  return {
    ...createPreflightActivities({ vault: deps.vault, clusters }),
    ...createSealActivities({ vault: deps.vault, clusters, notifier }),
    ...createBreakGlassActivities({ vault: deps.vault, clusters }),
    ...createRotationActivities({ vault: deps.vault, clusters }),
    ...createCaRootActivities({ vault: deps.vault, clusters, hsm: deps.hsm }),
    ...createCaBootstrapActivities({ vault: deps.vault, clusters, hsm: deps.hsm }),
    ...createCaRotationActivities({ vault: deps.vault, clusters }),
    ...createLeaseActivities({ vault: deps.vault, clusters, notifier }),
    ...createCertInventoryActivities({ vault: deps.vault, clusters }),
    ...createCertificateActivities({ vault: deps.vault, clusters }),
    ...createMigrateInventoryActivities({ vault: deps.vault, clusters }),
    ...createKvCopyActivities({ vault: deps.vault, clusters }),
    ...createMigrateRunActivities({ vault: deps.vault, clusters }),
    ...createDrActivities({ vault: deps.vault, clusters, store: snapshotStore }),
    ...createDrFailoverActivities({ vault: deps.vault, clusters, store: snapshotStore }),
    ...createDrFailbackActivities({ vault: deps.vault, clusters, store: snapshotStore }),
    ...createDrReplicationActivities({ vault: deps.vault, clusters }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
