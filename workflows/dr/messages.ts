// The DR runbooks' messages, defined once for the failover, the failback and the CLI: `vaultops dr
// unseal-share` serves both workflows, so both answer the same query and take the same signal. A
// module of its own, so the CLI loads the definitions without the workflows' activity proxies.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DrFailoverState, UnsealProgressReport } from '../../common/dr/failover.js';

/** A key holder's share went in: the standby's unseal progress, as the CLI saw it. */
export const drUnsealProgressSignal = defineSignal<[UnsealProgressReport]>('drUnsealProgress');
/** Which standby the run restores, and whether its unseal waits for key holders. */
export const drFailoverStateQuery = defineQuery<DrFailoverState>('drFailoverState');
