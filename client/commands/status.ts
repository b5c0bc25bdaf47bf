import {
  type Client,
  QueryNotRegisteredError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { ApprovalState } from '../../common/approval.js';
import type { PreflightReport } from '../../common/preflight.js';
import { approvalStateQuery } from '../../workflows/lib/approval.js';
import { type WorkflowStatusReport, workflowStatusQuery } from '../../workflows/lib/status.js';
import { workflowHistoryUrl } from '../dev-state.js';
import { formatPreflight } from '../format.js';
import { formatApproval, formatSteps } from '../format-approval.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../temporal-client.js';

export interface StatusOptions extends GlobalOptions {
  json?: boolean;
}

export async function statusCommand(
  workflowId: string,
  opts: StatusOptions,
  out: (s: string) => void,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    let description: Awaited<ReturnType<typeof handle.describe>>;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new Error(
          `no workflow with id "${workflowId}" in namespace ${target.temporal.namespace}; \`vaultops list\` shows the recent ones`,
        );
      }
      throw err;
    }
    const status = description.status.name;
    const pending = (description.raw.pendingActivities ?? []).map((a) => ({
      activity: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      lastFailure: a.lastFailure?.message ?? null,
    }));
    let result: unknown;
    let failure: string | null = null;
    if (status === 'COMPLETED') result = await handle.result();
    if (status === 'FAILED') {
      failure = await handle.result().then(
        () => null,
        (err: unknown) =>
          err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : String(err),
      );
    }
    const { steps, approval, unanswered } = await askWorkflow(client, workflowId, description.taskQueue);
    if (opts.json) {
      out(
        JSON.stringify(
          {
            workflowId,
            runId: description.runId,
            type: description.type,
            status,
            startTime: description.startTime.toISOString(),
            closeTime: description.closeTime?.toISOString() ?? null,
            historyLength: description.historyLength,
            pendingActivities: pending,
            result: result ?? null,
            failure,
            steps: steps?.steps ?? null,
            approval,
          },
          null,
          2,
        ),
      );
      return;
    }
    out(`Workflow    ${workflowId} (run ${description.runId})`);
    out(`Type        ${description.type}`);
    out(`Status      ${status}`);
    out(`Started     ${description.startTime.toISOString()}`);
    if (description.closeTime) out(`Closed      ${description.closeTime.toISOString()}`);
    out(`History     ${description.historyLength} events`);
    if (target.uiUrl)
      out(
        `UI          ${workflowHistoryUrl(target.uiUrl, target.temporal.namespace, workflowId, description.runId)}`,
      );
    for (const p of pending) {
      out(`Pending     ${p.activity} (attempt ${p.attempt})${p.lastFailure ? `: ${p.lastFailure}` : ''}`);
    }
    if (failure) out(`Failure     ${failure}`);
    if (steps) for (const line of formatSteps(steps)) out(line);
    if (approval) for (const line of formatApproval(approval)) out(line);
    // A closed workflow with no worker left is common and says nothing worth a line.
    if (unanswered && status === 'RUNNING') out(`Steps       not shown: ${unanswered}`);
    if (result !== undefined && description.type === 'preflightWorkflow') {
      out('');
      out(formatPreflight(result as PreflightReport));
    }
  });
}

/** How long a query may take: a worker replays the history to answer, which is quick. */
const QUERY_DEADLINE_MS = 5000;

/**
 * The workflow's own account of its steps and approval gate, from workflows that register the
 * `workflowStatus` and `approvalState` queries (workflows/lib/); null from those that do not
 * (preflight). Queries need a worker, so none is sent when no worker polls the task queue:
 * the server would hold it until the deadline.
 */
async function askWorkflow(
  client: Client,
  workflowId: string,
  taskQueue: string,
): Promise<{
  steps: WorkflowStatusReport | null;
  approval: ApprovalState | null;
  unanswered: string | null;
}> {
  const pollers = await client.workflowService
    .describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    })
    .then(
      (r) => r.pollers?.length ?? 0,
      () => undefined, // not every server answers this (the time-skipping one does not): ask anyway
    );
  if (pollers === 0)
    return { steps: null, approval: null, unanswered: `no worker polls task queue "${taskQueue}" to answer` };
  const handle = client.workflow.getHandle(workflowId);
  const ask = <T>(query: string) =>
    client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query<T>(query))
      .catch((err: unknown) => {
        if (err instanceof QueryNotRegisteredError) return null;
        throw err;
      });
  try {
    const [steps, approval] = await Promise.all([
      ask<WorkflowStatusReport>(workflowStatusQuery.name),
      ask<ApprovalState>(approvalStateQuery.name),
    ]);
    return { steps, approval, unanswered: null };
  } catch (err) {
    // The status from Temporal is worth showing even when the workflow cannot answer.
    return { steps: null, approval: null, unanswered: (err as Error).message };
  }
}
