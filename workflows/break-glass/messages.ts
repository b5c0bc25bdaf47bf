// The break-glass workflow's messages, defined once for the workflow and the CLI. A module of its
// own, so the CLI loads the definitions without the workflow's activity proxies.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  BreakGlassAudit,
  BreakGlassDeliveryView,
  CollectedReport,
  RevokeRequest,
} from '../../common/break-glass/break-glass.js';

/** Revokes the emergency token now; answers the audit trail once it is revoked. */
export const revokeBreakGlassUpdate = defineUpdate<BreakGlassAudit, [RevokeRequest]>('revokeBreakGlass');
/** `break-glass collect` tells the workflow it has unwrapped the token (for the audit trail). */
export const breakGlassCollectedSignal = defineSignal<[CollectedReport]>('breakGlassCollected');
/** Who asked, why, who approved, the accessor, and when the token was created, expires, was revoked. */
export const breakGlassAuditQuery = defineQuery<BreakGlassAudit>('breakGlassAudit');
/** The wrapping token sealed to the requester's key, while it waits to be collected. */
export const breakGlassDeliveryQuery = defineQuery<BreakGlassDeliveryView>('breakGlassDelivery');
