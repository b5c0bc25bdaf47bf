// Secret rotation activities, the protocol on KV v2: lock, create the pending credential, set it
// on the target, test it, promote it, wait out live sessions, retire, roll back, unlock. Each one
// reads before it writes, so running it again after a crash or a lost reply does it once. They
// return references (paths, versions, role names), never credentials: the credential is
// generated, read and used inside the activity.
import type { Logger } from 'pino';
import { logger } from '../../common/logger.js';
import { keptAlive } from '../../vault/activity-scope.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { lockActivities } from './lock.js';
import { notifyActivities } from './notify.js';
import { pendingActivities } from './pending.js';
import { promoteActivities } from './promote.js';
import { retireActivities } from './retire.js';
import { rollbackActivities } from './rollback.js';

export function createRotationActivities(
  deps: ClusterDeps & {
    /** Where rotation events are logged (the webhook is per rotation). */
    logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  },
) {
  const clusters = resolveClusters(deps);
  return keptAlive({
    ...notifyActivities(deps.logger ?? logger),
    ...lockActivities(clusters),
    ...pendingActivities(clusters),
    ...promoteActivities(clusters),
    ...retireActivities(clusters),
    ...rollbackActivities(clusters),
  });
}

export type RotationActivities = ReturnType<typeof createRotationActivities>;
