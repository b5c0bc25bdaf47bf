// Drives a running migrateWorkflow as its operators would: approves it, confirms the freeze once
// the copy is verified, approves the retirement after the grace period, and returns its result.
// Every wait polls the status query of the latest run (the workflow continues as new), tolerating
// a query that finds no worker for a while (a killed worker, a sealed Vault's queue).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { approveUpdate } from '../../workflows/lib/approval.js';
import { type StepState, workflowStatusQuery } from '../../workflows/lib/status.js';
import { confirmFreezeUpdate } from '../../workflows/migrate/messages.js';
import type { MigrateResult } from '../../workflows/migrate/migrate.js';

export interface MigrationDriver {
  /** Waits until `step` is in `state`; fails early when a step failed. */
  stepReaches(step: string, state: StepState, timeoutMs?: number): Promise<void>;
  /** The state of each step now (empty when no worker answered the query). */
  steps(): Promise<{ name: string; state: StepState; detail: string | null }[]>;
  /** Approve, freeze, approve the retirement, and the result of the last run. */
  complete(options?: { timeoutMs?: number; approver?: string }): Promise<MigrateResult>;
}

export function migrationDriver(client: Client, workflowId: string): MigrationDriver {
  const handle = () => client.workflow.getHandle(workflowId);
  const steps = async () =>
    client
      .withDeadline(Date.now() + 5000, () => handle().query(workflowStatusQuery))
      .then((s) => s.steps)
      .catch(() => []);
  const stepReaches = async (step: string, state: StepState, timeoutMs = 120_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const now = await steps();
      if (now.some((s) => s.name === step && s.state === state)) return;
      const failed = now.find((s) => s.state === 'failed');
      if (failed) throw new Error(`step ${failed.name} failed: ${failed.detail}`);
      const { status } = await handle()
        .describe()
        .catch(() => ({ status: { name: 'RUNNING' } }));
      if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW')
        throw new Error(`${workflowId} closed (${status.name}) before ${step} was ${state}`);
      if (Date.now() > until) throw new Error(`step ${step} not ${state} within ${timeoutMs} ms`);
      await sleep(200);
    }
  };
  return {
    stepReaches,
    steps,
    async complete({ timeoutMs = 180_000, approver = 'bob' } = {}) {
      const approve = () =>
        handle().executeUpdate(approveUpdate, { args: [{ approver, reason: 'test migration' }] });
      // Already approved when the test drove the start itself (to act in the middle of the copy).
      const first = (await steps()).find((s) => s.name === 'approve')?.state;
      if (first !== 'done') {
        await stepReaches('approve', 'waiting-approval', timeoutMs);
        await approve();
      }
      await stepReaches('freeze', 'waiting-approval', timeoutMs);
      await handle().executeUpdate(confirmFreezeUpdate, { args: [{ operator: 'carol' }] });
      await stepReaches('approve-retire', 'waiting-approval', timeoutMs);
      await approve();
      return (await handle().result()) as MigrateResult;
    },
  };
}
