// The benchmark as key holder of the primary's unseal key, reacting as fast as a program can (a
// person takes minutes): its figures are lower bounds of the unseal phase.
//   nodeKeyHolder      for a drill, as `bao operator unseal` would: whenever the standby node is
//                      sealed (it seals itself after a forced restore), the share goes to it.
//   failoverKeyHolder  for a failover, as `vaultops dr unseal-share` does (the CLI's own function,
//                      through a CLI configuration file): once the workflow says it waits for
//                      shares, the share goes straight to the standby and the workflow is told the
//                      progress. Never through Temporal.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { drUnsealShareCommand } from '../client/commands/dr/failover.js';
import { VaultClient } from '../vault/client.js';
import { readSealStatus, unseal } from '../vault/sys.js';
import { drFailoverStateQuery } from '../workflows/dr/messages.js';

const POLL_MS = 100;

export interface KeyHolder {
  /** What it did so far. */
  log(): KeyHolderLog;
  /** Stops watching; resolves with what it did. */
  stop(): Promise<KeyHolderLog>;
}

export interface KeyHolderLog {
  shares: number;
  /** When the key holder first saw the wait for shares, and when its first share was taken (epoch ms). */
  firstSeenWaitingAt?: number;
  firstShareAt?: number;
}

function watching(step: (log: KeyHolderLog) => Promise<void>): KeyHolder {
  let stopped = false;
  const log: KeyHolderLog = { shares: 0 };
  const done = (async () => {
    while (!stopped) {
      await step(log).catch(() => undefined); // a node restarting, a workflow moving on: ask again
      await sleep(POLL_MS);
    }
  })();
  return {
    log: () => ({ ...log }),
    async stop() {
      stopped = true;
      await done;
      return log;
    },
  };
}

export function nodeKeyHolder(address: string, unsealKey: string): KeyHolder {
  // No retries and no circuit breaker: the holder asks again itself, every POLL_MS, as a node
  // that is reloading its data after a restore may not answer for a moment.
  const vault = new VaultClient({
    address,
    timeoutMs: 2000,
    retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
    breaker: { failureThreshold: Number.MAX_SAFE_INTEGER, openMs: 0 },
  });
  const holder = watching(async (log) => {
    if (!(await readSealStatus(vault)).sealed) return;
    log.firstSeenWaitingAt ??= Date.now();
    if (!(await unseal(vault, unsealKey)).sealed) {
      log.shares += 1;
      log.firstShareAt ??= Date.now();
    }
  });
  return {
    log: holder.log,
    async stop() {
      const log = await holder.stop();
      await vault.close();
      return log;
    },
  };
}

export function failoverKeyHolder(
  client: Client,
  workflowId: string,
  options: { cliConfig: string; cluster: string; unsealKey: string },
): KeyHolder {
  const handle = client.workflow.getHandle(workflowId);
  return watching(async (log) => {
    const state = await handle.query(drFailoverStateQuery);
    if (!state.unseal?.waiting) return;
    log.firstSeenWaitingAt ??= Date.now();
    // A node that refuses the share is in result.errors: the benchmark asks again.
    const result = await drUnsealShareCommand(
      workflowId,
      { config: options.cliConfig, cluster: options.cluster },
      () => undefined,
      async () => options.unsealKey,
    );
    if (result.errors.length === 0) {
      log.shares += 1;
      log.firstShareAt ??= Date.now();
    }
  });
}
