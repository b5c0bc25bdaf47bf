import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { PreflightReport } from '../../common/preflight.js';
import { workflowHistoryUrl } from '../dev-state.js';
import { formatPreflight } from '../format.js';
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
    if (result !== undefined && description.type === 'preflightWorkflow') {
      out('');
      out(formatPreflight(result as PreflightReport));
    }
  });
}
