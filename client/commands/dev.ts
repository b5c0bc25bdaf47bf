import { relative } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import {
  DEFAULT_STATE_DIR,
  resetDevHistory,
  stackExports,
  workflowHistoryUrl,
} from '../../common/dev-state.js';
import { logForHumans, logger } from '../../common/logger.js';
import type { preflightWorkflow } from '../../workflows/preflight/preflight.js';
import { describeLeftovers, leftoverWorkflows } from '../dev-leftovers.js';
import { startDevStack } from '../dev-stack.js';
import { formatPreflight } from '../format.js';
import type { VaultFlavour } from '../stack/vault-dev.js';
import { withClient } from '../temporal-client.js';
import { VAULTOPS } from './invocation.js';

export interface DevOptions {
  /** Default: DEFAULT_STATE_DIR. */
  stateDir?: string;
  temporalPort?: number;
  uiPort?: number;
  vaultPort?: number;
  server: VaultFlavour;
  preflight: boolean;
  /** Also a DR pair: two single-node raft clusters, configured as dr-primary and dr-standby. */
  dr?: boolean;
  /** Forget the workflow history and DR snapshots of earlier runs first. */
  reset?: boolean;
}

/** The path as the user would type it from here. */
function shortPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere && !fromHere.startsWith('..') ? fromHere : path;
}

/** Brings the stack up, runs a first preflight to show it works, then waits for Ctrl-C. */
export async function devCommand(opts: DevOptions, out: (s: string) => void): Promise<void> {
  // The stack narrates itself through `out`; logs show only problems unless asked for more.
  if (!process.env.VAULTOPS_LOG_LEVEL) logger.level = 'warn';
  // The worker shares this terminal: its lines are for the person watching, not a collector.
  logForHumans();
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    // A closed terminal: the servers, in their own process group, hear nothing of it.
    process.once('SIGHUP', () => resolve('SIGHUP'));
  });
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  if (opts.reset) {
    const removed = resetDevHistory(stateDir);
    out(`[dev] reset: ${removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing from earlier runs'}`);
  }
  const startedAt = new Date();
  const stack = await startDevStack({
    stateDir,
    flavour: opts.server,
    ...(opts.dr ? { dr: true } : {}),
    ...(opts.temporalPort ? { temporalPort: opts.temporalPort } : {}),
    ...(opts.uiPort ? { uiPort: opts.uiPort } : {}),
    ...(opts.vaultPort ? { vaultPort: opts.vaultPort } : {}),
    say: (line) => out(`[dev] ${line}`),
  });
  try {
    out('');
    out(`Temporal UI:      ${stack.temporal.uiUrl}`);
    out(
      `Temporal address: ${stack.temporal.address} (namespace ${stack.temporal.namespace}, task queue ${stack.taskQueue})`,
    );
    out(`Vault API:        ${stack.vault.address}`);
    if (stack.env.dr) {
      out(`DR primary:       ${stack.env.dr.primaryAddress} (cluster dr-primary, raft)`);
      out(`DR standby:       ${stack.env.dr.standbyAddress} (cluster dr-standby, raft)`);
      out(`Snapshots:        ${shortPath(stack.env.dr.snapshotDir)}`);
    }
    out('');
    out(`For your vault, bao and temporal commands (\`source ${shortPath(stack.envFile)}\`, mode 0600):`);
    for (const line of stackExports(stack.env)) out(`    ${line}`);
    const target = {
      temporal: {
        address: stack.temporal.address,
        namespace: stack.temporal.namespace,
        task_queue: stack.taskQueue,
      },
      uiUrl: stack.temporal.uiUrl,
      codec: { kind: 'key_file' as const, key_file: stack.codecKeyFile },
    };
    const leftovers = await withClient(target, (client) => leftoverWorkflows(client, startedAt)).catch(
      () => [], // a hint only: the stack works without it
    );
    if (leftovers.length > 0) {
      out('');
      for (const line of describeLeftovers(leftovers)) out(`[dev] ${line}`);
    }
    if (opts.preflight) {
      await withClient(target, async (client) => {
        const workflowId = `preflight-dev-${Date.now()}`;
        const handle = await client.workflow.start<typeof preflightWorkflow>('preflightWorkflow', {
          taskQueue: stack.taskQueue,
          workflowId,
          args: [{}],
        });
        try {
          const report = await handle.result();
          out('');
          out(formatPreflight(report));
        } catch (err) {
          out(`preflight failed: ${err instanceof WorkflowFailedError ? err.cause?.message : String(err)}`);
        }
        out('');
        out(
          `Preflight history: ${workflowHistoryUrl(stack.temporal.uiUrl, stack.temporal.namespace, workflowId, handle.firstExecutionRunId)}`,
        );
      });
    }
    out('');
    out(
      `The stack is up. In another terminal: \`${VAULTOPS} preflight\`, \`${VAULTOPS} list\`, \`${VAULTOPS} status <id>\`.`,
    );
    out('Press Ctrl-C to stop.');
    const reason = await Promise.race([stopRequested, stack.worker.then(() => 'worker stopped' as const)]);
    out(`[dev] ${reason}: stopping worker, Vault and Temporal...`);
  } finally {
    await stack.stop();
    out('[dev] stopped');
  }
}
