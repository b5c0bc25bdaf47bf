// Starts the seal guard of a cluster when the worker starts, so that a seal is noticed (and
// alerted) within a poll interval even before any step meets it. Already running: left alone.
import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { SEAL_GUARD_WORKFLOW } from '../common/workflow-types.js';
import { sealGuardId } from '../workflows/lib/seal-signals.js';

export async function ensureSealGuard(
  client: Client,
  options: { cluster: string; taskQueue: string },
): Promise<void> {
  await client.workflow.start(SEAL_GUARD_WORKFLOW, {
    workflowId: sealGuardId(options.cluster),
    taskQueue: options.taskQueue,
    args: [{ cluster: options.cluster }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}
