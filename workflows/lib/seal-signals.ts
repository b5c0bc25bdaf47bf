// The messages between the seal guard and the steps waiting for an unseal: defined once, used by
// both sides and by the CLI. The names match activities/seal/watch.ts, which refers to them by name.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { QueuedStep } from '../../activities/seal/watch.js';

/** A step failed because the cluster is sealed: queue it (sent by the enqueue activity). */
export const enqueueSignal = defineSignal<[QueuedStep]>('sealGuard.enqueue');

/** The released step has run (or met a seal again: it goes back to the front of the queue). */
export const stepDoneSignal =
  defineSignal<[{ workflowId: string; step: string; sealedAgain: boolean }]>('sealGuard.stepDone');

/** To a waiting workflow: your queued step may run now. */
export const proceedSignal = defineSignal<[{ step: string }]>('sealAware.proceed');

export interface SealGuardState {
  cluster: string;
  sealed: boolean;
  /** The nth seal event of this guard's life (carried across continue-as-new). */
  episode: number;
  queue: QueuedStep[];
  /** The step released and not yet done. */
  running: QueuedStep | null;
  /** The most recent releases, oldest first (the order queued steps ran in). */
  released: QueuedStep[];
}

export const sealGuardStateQuery = defineQuery<SealGuardState>('sealGuard.state');

/** One guard per cluster, so every workflow finds the same one. */
export const sealGuardId = (cluster: string) => `seal-guard-${cluster}`;
