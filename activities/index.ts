// Every activity the worker registers, built from injected clients.
import { logger } from '../common/logger.js';
import { createMarkerActivities } from './markers.js';
import { createNotifier, type Notifier } from './notifier.js';
import { createPreflightActivities, type PreflightDeps } from './preflight.js';
import { createSealActivities } from './seal.js';

export interface ActivityDeps extends PreflightDeps {
  /** Where alerts go; by default a log line, plus a POST to $VAULTOPS_ALERT_WEBHOOK if set. */
  notifier?: Notifier;
}

export function createActivities(deps: ActivityDeps) {
  const notifier =
    deps.notifier ?? createNotifier({ logger, webhookUrl: process.env.VAULTOPS_ALERT_WEBHOOK || undefined });
  return {
    ...createPreflightActivities(deps),
    ...createSealActivities({ vault: deps.vault, notifier }),
    ...createMarkerActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
