// Seal-event queuing in the time-skipping environment: steps that meet a sealed Vault queue with
// the seal guard and run after the unseal, once each, in queue order; one alert per seal event.
// Vault is a stand-in here (a flag the test flips); the real seal is in the integration suite.
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { Alert } from '../../activities/notifier.js';
import { createSealActivities, type SealWatchInput } from '../../activities/seal/watch.js';
import type { VaultClient } from '../../vault/client.js';
import { sealGuardId, sealGuardStateQuery } from '../../workflows/lib/seal-signals.js';
import type { MarkerActivities, MarkerInput } from '../fixtures/activities/markers.js';
import { TEST_WORKFLOWS_PATH } from '../fixtures/workflows/index.js';
import { orderedWritesWorkflow } from '../fixtures/workflows/ordered-writes.js';
import { useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

// The example workflows' bundle: ordered writes is the workflow that meets the seal here.
const bed = useWorkflowBed({ workflowsPath: TEST_WORKFLOWS_PATH, prefix: 'seal' });

/** A Vault that is sealed or not as the test says, and remembers every marker written. */
function standInVault() {
  const vault = { sealed: false, writes: [] as string[], alerts: [] as Alert[] };
  const real = createSealActivities({
    vault: {} as VaultClient, // only enqueueForUnseal is used, which talks to Temporal
    notifier: { notify: async () => {} },
  });
  const activities: Partial<Activities & MarkerActivities> = {
    enqueueForUnseal: real.enqueueForUnseal,
    async watchSealStatus(input: SealWatchInput) {
      const until = Date.now() + (input.maxWaitMs ?? 60_000);
      const context = Context.current();
      while (vault.sealed === input.knownSealed && Date.now() < until) {
        context.heartbeat();
        await sleep(20);
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      }
      return { sealed: vault.sealed, reachable: true, observedAt: new Date().toISOString() };
    },
    async notifySealEvent(alert: Alert) {
      vault.alerts.push(alert);
    },
    async writeMarker(input: MarkerInput) {
      if (vault.sealed) {
        throw ApplicationFailure.create({
          type: 'VaultSealed',
          message: 'Vault is sealed',
          nonRetryable: false,
        });
      }
      vault.writes.push(input.path);
      return { version: 1 };
    },
  };
  return { vault, activities };
}

describe('seal-event queuing (time-skipping, Vault stand-in)', () => {
  it('queues steps while sealed and runs each once, in order, after the unseal', async () => {
    const { vault, activities } = standInVault();
    const cluster = `stand-in-${Date.now()}`;
    await bed.withWorker(activities, async (taskQueue) => {
      const runs = ['a', 'b', 'c'].map((prefix) =>
        bed.env.client.workflow.start(orderedWritesWorkflow, {
          taskQueue,
          workflowId: `${taskQueue}-${prefix}`,
          args: [{ mount: 'secret', prefix, steps: 4, pauseMs: 150, cluster }],
        }),
      );
      const handles = await Promise.all(runs);
      while (vault.writes.length < 3) await sleep(20); // each has written its first marker
      vault.sealed = true;
      // Every workflow reaches its next step and queues (the first one starts the guard).
      const guard = bed.env.client.workflow.getHandle(sealGuardId(cluster));
      // The steps can queue a moment before the guard's own watch reports the seal: wait for both.
      const queuedWhileSealed = () =>
        guard.query(sealGuardStateQuery).then(
          (st) => st.sealed && st.queue.length >= 3,
          () => false,
        );
      for (let waited = 0; !(await queuedWhileSealed()); waited += 50) {
        if (waited > 20_000)
          throw new Error('the steps did not queue, with the guard knowing of the seal, within 20 s');
        await sleep(50);
      }
      const queued = await guard.query(sealGuardStateQuery);
      expect(queued.sealed).toBe(true);
      expect(queued.queue.length).toBe(3);
      const writesWhileSealed = vault.writes.length;
      vault.sealed = false;
      // A plain client's result(): the test env's would let the server skip time (and time out
      // the guard's waits) while the guard's watch runs in real time.
      const plain = new Client({ connection: bed.env.connection, namespace: bed.env.namespace ?? 'default' });
      const results = await Promise.all(handles.map((h) => plain.workflow.getHandle(h.workflowId).result()));
      expect(results.map((r) => r.written.length)).toEqual([4, 4, 4]);
      expect(writesWhileSealed).toBe(3);

      // Each marker once; within a workflow in step order; the queued steps in queue order.
      expect(new Set(vault.writes).size).toBe(vault.writes.length);
      expect(vault.writes.length).toBe(12);
      for (const prefix of ['a', 'b', 'c']) {
        const mine = vault.writes.filter((p) => p.startsWith(`${prefix}/`));
        expect(mine).toEqual([...mine].sort());
      }
      const after = await guard.query(sealGuardStateQuery);
      const releasedOrder = after.released.map((r) => `${r.workflowId}:${r.step}`);
      expect(releasedOrder).toEqual(queued.queue.map((q) => `${q.workflowId}:${q.step}`));
      expect(vault.writes.slice(3, 6)).toEqual(
        queued.queue.map((q) => `${q.workflowId.split('-').pop()}/${q.step}`),
      );
      // One alert per event of the one seal episode.
      expect(vault.alerts.map((a) => `${a.event}#${a.episode}`)).toEqual([
        'vault-sealed#1',
        'vault-unsealed#1',
      ]);
      await guard.terminate('test done');
      // A seal round: the watch, the queue, the alerts and the releases one by one.
      await keepHistory('seal-guard-seal-round', guard);
    });
  }, 60_000);
});
