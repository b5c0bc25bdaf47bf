// Alerts for operators: a log line always, and a JSON POST to a webhook when one is configured
// (VAULTOPS_ALERT_WEBHOOK). An alert carries facts (cluster, event, episode, time), never secrets.
import type { Logger } from 'pino';

export interface Alert {
  event: string;
  cluster: string;
  /** Counts the alert's episode (the nth seal of this cluster), so a receiver can deduplicate. */
  episode: number;
  at: string;
  detail?: Record<string, unknown>;
}

export interface Notifier {
  notify(alert: Alert): Promise<void>;
}

export function createNotifier(options: {
  logger: Pick<Logger, 'warn' | 'error'>;
  webhookUrl?: string | undefined;
  timeoutMs?: number;
}): Notifier {
  return {
    async notify(alert) {
      options.logger.warn({ alert }, `vaultops alert: ${alert.event} (${alert.cluster})`);
      if (!options.webhookUrl) return;
      const res = await fetch(options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      // A webhook that refuses is retried by the activity's retry policy, not ignored.
      if (!res.ok) throw new Error(`alert webhook answered HTTP ${res.status}`);
    },
  };
}
