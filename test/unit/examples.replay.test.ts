// The example workflows (ordered writes, approved change) must keep replaying the histories they
// wrote: each is run here in the time-skipping environment and its fresh history replayed, and a
// history recorded from an earlier version (test/histories/examples/) is replayed with today's code.
// A change to a workflow that alters its commands without patched() fails here with a
// determinism violation. VAULTOPS_RECORD_HISTORIES=1 writes the stored histories anew (only for
// a new workflow: re-recording an existing one hides exactly what this test is for).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { bundleVaultopsWorkflows } from '../../workers/worker.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import type { MarkerInput } from '../fixtures/activities/markers.js';
import type { approvedChangeWorkflow } from '../fixtures/workflows/approved-change.js';
import { TEST_WORKFLOWS_PATH } from '../fixtures/workflows/index.js';
import { orderedWritesWorkflow } from '../fixtures/workflows/ordered-writes.js';
import {
  type ApprovalTestBed,
  changeInput,
  markerStandIns,
  startApprovalTestBed,
  waitForStep,
} from '../harness/approved-change.js';

const HISTORIES = join(REPO_DIR, 'test/histories/examples');
const record = process.env.VAULTOPS_RECORD_HISTORIES === '1';

let bed: ApprovalTestBed;
let bundle: WorkflowBundle;
beforeAll(async () => {
  [bed, bundle] = await Promise.all([
    startApprovalTestBed(),
    bundleVaultopsWorkflows({ workflowsPath: TEST_WORKFLOWS_PATH }),
  ]);
});
afterAll(async () => {
  await bed?.teardown();
});

type History = temporal.api.history.v1.IHistory;

const replay = (history: History, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId);

/** The stored history by that name; with VAULTOPS_RECORD_HISTORIES=1, `fresh` is stored first. */
function stored(name: string, fresh: History): History {
  const file = join(HISTORIES, name);
  if (record) {
    writeFileSync(
      file,
      `${JSON.stringify(temporal.api.history.v1.History.fromObject(fresh).toJSON(), null, 2)}\n`,
    );
  }
  if (!existsSync(file)) throw new Error(`${file} is missing: record it with VAULTOPS_RECORD_HISTORIES=1`);
  return temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(file, 'utf8')) as object);
}

const historyOf = (handle: WorkflowHandle): Promise<History> => handle.fetchHistory();

const eventTypes = (h: History) =>
  (h.events ?? []).map((e) => temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType));

describe('example workflows replay', () => {
  it('orderedWritesWorkflow: a run of three steps', async () => {
    const written: string[] = [];
    const fresh = await bed.withWorker(
      {
        async writeMarker(input: MarkerInput) {
          written.push(input.path);
          return { version: 1 };
        },
      },
      async (taskQueue) => {
        const handle = await bed.env.client.workflow.start(orderedWritesWorkflow, {
          taskQueue,
          workflowId: `${taskQueue}-ordered`,
          args: [{ mount: 'secret', prefix: 'replay', steps: 3, pauseMs: 500 }],
        });
        expect(await handle.result()).toEqual({ written: ['step-01', 'step-02', 'step-03'] });
        return historyOf(handle);
      },
    );
    expect(written).toEqual(['replay/step-01', 'replay/step-02', 'replay/step-03']);
    await expect(replay(fresh, 'ordered-fresh')).resolves.toBeUndefined();
    const old = stored('ordered-writes-3-steps.json', fresh);
    expect(eventTypes(old).filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toHaveLength(3);
    await expect(replay(old, 'ordered-v1')).resolves.toBeUndefined();
  });

  it('approvedChangeWorkflow: approved by two, and rejected (the saga undoes)', async () => {
    const approved = await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      const handle = bed.env.client.workflow.getHandle<typeof approvedChangeWorkflow>(id);
      await handle.executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: 'CHG-1' }] });
      await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob' }] });
      await handle.result();
      return historyOf(handle);
    });
    const rejected = await bed.withChange(markerStandIns(), changeInput(), async (id) => {
      await waitForStep(bed.env, id, 'approve', 'waiting-approval');
      const handle = bed.env.client.workflow.getHandle<typeof approvedChangeWorkflow>(id);
      await handle.executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: 'freeze' }] });
      await handle.result().catch(() => undefined);
      return historyOf(handle);
    });
    expect(eventTypes(rejected).at(-1)).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    for (const [name, fresh] of [
      ['approved-change-approved.json', approved],
      ['approved-change-rejected.json', rejected],
    ] as const) {
      await expect(replay(fresh, `${name}-fresh`)).resolves.toBeUndefined();
      await expect(replay(stored(name, fresh), `${name}-v1`)).resolves.toBeUndefined();
    }
  });
});
