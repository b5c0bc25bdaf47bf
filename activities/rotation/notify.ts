// A rotation's events: logged, and POSTed to the rotation's webhook when it has one.
import type { Logger } from 'pino';
import type { RotationRef } from './inputs.js';

/** What a rotation tells its webhook: references and outcomes, never a credential. */
export interface RotationEvent {
  event: 'notice' | 'rotated' | 'rolled-back' | 'failed' | 'cancelled';
  detail?: Record<string, string | number | null>;
}

export function notifyActivities(eventLogger: Pick<Logger, 'info' | 'warn' | 'error'>) {
  return {
    /** Logs a rotation event and POSTs it to the rotation's webhook, if it has one. */
    async rotationNotify(input: RotationRef & RotationEvent & { webhookUrl?: string | undefined }) {
      const event = {
        event: `rotation.${input.event}`,
        cluster: input.cluster ?? 'default',
        mount: input.mount,
        path: input.path,
        rotation: input.rotationId,
        target: input.target.kind,
        strategy: input.strategy,
        at: new Date().toISOString(),
        detail: input.detail ?? {},
      };
      eventLogger.info({ event }, `vaultops rotation ${input.event}: ${input.mount}/${input.path}`);
      if (!input.webhookUrl) return;
      const res = await fetch(input.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(10_000),
      });
      // Refused: the activity's retry policy tries again; the workflow gives up after a few.
      if (!res.ok) throw new Error(`rotation webhook answered HTTP ${res.status}`);
    },
  };
}
