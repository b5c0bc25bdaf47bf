// The migration workflow's messages, defined once for the workflow and the CLI. A module of its
// own, so the CLI loads them without the workflow's activity proxies. Names, counts and digests.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { KvTotals, StepReport } from '../../common/migrate/run.js';

export interface FreezeConfirmation {
  /** Who says writes to the source have stopped. */
  operator: string;
  reason?: string;
}

export interface MigrationProgress {
  phase: string;
  reports: Record<string, StepReport>;
  kv: KvTotals;
  /** Where the KV copy stands: the mount and the last path copied. */
  cursor: { mount: string | null; after: string | null };
  runs: number;
  frozenBy: string | null;
}

/** The operator's word that writes to the source have stopped: the delta copy starts after it. */
export const confirmFreezeUpdate = defineUpdate<string, [FreezeConfirmation]>('confirmFreeze');
export const migrationProgressQuery = defineQuery<MigrationProgress>('migrationProgress');
