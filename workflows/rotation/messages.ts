// The secret rotation workflow's messages, defined once for the workflow and the CLI. A module of
// its own, so the CLI loads the definitions without the workflow's activity proxies.
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface RollbackRequest {
  as: string;
  reason?: string;
}

/** During the grace period: the previous credential back on the target and as the latest version. */
export const rollbackUpdate = defineUpdate<{ current: number; previous: number }, [RollbackRequest]>(
  'rollback',
);
/** Where the rotation is: notice, lock, create-pending, set, test, promote, grace, retire, done... */
export const rotationPhaseQuery = defineQuery<string>('rotationPhase');
