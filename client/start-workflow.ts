// Starting an operation's workflow from the CLI under the id that names it: Temporal refuses a
// second one while the first runs, and the CLI turns that refusal into the caller's message (what
// is running, and the command that shows or stops it).
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';

export async function startWorkflowOnce(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions & { args: unknown[] },
  ifRunning: () => Error,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  try {
    return await client.workflow.start(workflowType, options);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw ifRunning();
    throw err;
  }
}
