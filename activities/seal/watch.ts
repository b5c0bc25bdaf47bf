// What the seal guard needs from the outside world: watch a cluster's seal state (a heartbeating
// poll, so a seal is noticed within a poll interval), alert once per seal event, and put a
// waiting step in the guard's queue (starting the guard if it is not running yet).
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { SEAL_GUARD_WORKFLOW } from '../../common/workflow-types.js';
import type { VaultClient } from '../../vault/client.js';
import { readHealth } from '../../vault/sys.js';
import { type ClusterClients, resolveClusters } from '../clusters.js';
import type { Alert, Notifier } from '../notifier.js';

export interface SealWatchInput {
  /** Which configured cluster to watch ("default" is vault_integration). */
  cluster: string;
  /** What the guard believes now; the watch returns as soon as the cluster differs. */
  knownSealed: boolean;
  /** Return the current state after this long even without a change (the guard loops). */
  maxWaitMs?: number;
  pollMs?: number;
}

export interface SealWatchResult {
  sealed: boolean;
  /** False when the last polls could not reach the cluster (then `sealed` is the known state). */
  reachable: boolean;
  observedAt: string;
}

export interface QueuedStep {
  workflowId: string;
  step: string;
  queuedAt: string;
}

export interface EnqueueInput {
  cluster: string;
  guardWorkflowId: string;
  waiter: QueuedStep;
}

export interface SealDeps {
  /** The default cluster's client (the only one when `clusters` is not given). */
  vault: VaultClient;
  clusters?: ClusterClients | undefined;
  notifier: Notifier;
}

/** The guard's signal names, by name: activities never import workflow code. */
export const ENQUEUE_SIGNAL = 'sealGuard.enqueue';

/** One node's health answer, within a poll. */
const NODE_TIMEOUT_MS = 2000;

export function createSealActivities(deps: SealDeps) {
  const { notifier } = deps;
  const clusters = resolveClusters(deps);

  /**
   * Usable means unsealed and active: a node just unsealed answers as standby for a moment. A
   * cluster of several nodes is asked node by node and is usable when one node is: asked through
   * the cluster client, whichever node answered decided, so a standby beside a healthy active node
   * read as a seal, and the guard alerted sealed/unsealed every poll as the answers alternated.
   * `perNode` holds one client per node for the watch's lifetime (no new connections every poll).
   */
  async function observe(
    vault: VaultClient,
    perNode: VaultClient[],
  ): Promise<{ sealed: boolean } | undefined> {
    if (perNode.length === 0) return observeNode(vault);
    const answered = (await Promise.all(perNode.map(observeNode))).filter((s) => s !== undefined);
    if (answered.length === 0) return undefined;
    return { sealed: answered.every((s) => s.sealed) };
  }

  async function observeNode(vault: VaultClient): Promise<{ sealed: boolean } | undefined> {
    try {
      const health = await readHealth(vault);
      return { sealed: health.sealed || !health.initialized || health.standby };
    } catch {
      return undefined;
    }
  }

  return {
    async watchSealStatus(input: SealWatchInput): Promise<SealWatchResult> {
      const vault = clusters.get(input.cluster); // an unknown name fails here, not as "unreachable"
      const context = Context.current();
      const until = Date.now() + (input.maxWaitMs ?? 60_000);
      const pollMs = input.pollMs ?? 200;
      let reachable = true;
      const addresses = vault.nodes.addresses;
      const perNode =
        addresses.length < 2 ? [] : addresses.map((a) => vault.forNode(a, { timeoutMs: NODE_TIMEOUT_MS }));
      try {
        for (;;) {
          const seen = await observe(vault, perNode);
          reachable = seen !== undefined;
          if (seen && seen.sealed !== input.knownSealed) {
            return { sealed: seen.sealed, reachable, observedAt: new Date().toISOString() };
          }
          if (Date.now() >= until) {
            return { sealed: input.knownSealed, reachable, observedAt: new Date().toISOString() };
          }
          context.heartbeat();
          await sleep(pollMs, undefined, { signal: context.cancellationSignal }).catch(() => undefined);
          if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
        }
      } finally {
        await Promise.all(perNode.map((node) => node.close()));
      }
    },

    async notifySealEvent(alert: Alert): Promise<void> {
      await notifier.notify(alert);
    },

    /** Queues a step with the cluster's guard, starting the guard first if it is not running. */
    async enqueueForUnseal(input: EnqueueInput): Promise<void> {
      const { client, info } = Context.current();
      await client.workflow.signalWithStart(SEAL_GUARD_WORKFLOW, {
        workflowId: input.guardWorkflowId,
        taskQueue: info.taskQueue,
        args: [{ cluster: input.cluster }],
        signal: ENQUEUE_SIGNAL,
        signalArgs: [input.waiter],
      });
    },
  };
}

export type SealActivities = ReturnType<typeof createSealActivities>;
