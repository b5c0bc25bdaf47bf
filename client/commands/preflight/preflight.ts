import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { workflowHistoryUrl } from '../../../common/dev-state.js';
import type { PreflightReport } from '../../../common/preflight/report.js';
import type { preflightWorkflow } from '../../../workflows/preflight/preflight.js';
import { formatPreflight } from '../../format.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';

export interface PreflightOptions extends GlobalOptions {
  /** A cluster the worker's configuration names (vault_clusters); default "default". */
  cluster?: string;
  vaultNamespace?: string;
  workflowId?: string;
  wait: boolean;
  json?: boolean;
  timeout: number;
}

export async function preflightCommand(opts: PreflightOptions, out: (s: string) => void): Promise<void> {
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const workflowId =
      opts.workflowId ??
      `preflight-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start<typeof preflightWorkflow>('preflightWorkflow', {
      taskQueue: target.temporal.task_queue,
      workflowId,
      args: [
        {
          ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
          ...(opts.vaultNamespace === undefined ? {} : { namespace: opts.vaultNamespace }),
        },
      ],
    });
    const runId = handle.firstExecutionRunId;
    if (!opts.json) {
      out(
        `Started preflight workflow ${workflowId} (run ${runId}) on task queue ${target.temporal.task_queue}`,
      );
      if (target.uiUrl)
        out(`History: ${workflowHistoryUrl(target.uiUrl, target.temporal.namespace, workflowId, runId)}`);
    }
    if (!opts.wait) {
      if (opts.json) out(JSON.stringify({ workflowId, runId }));
      return;
    }
    let report: PreflightReport;
    try {
      report = await Promise.race([
        handle.result(),
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(
                  `no result within ${opts.timeout}s: is a worker polling task queue "${target.temporal.task_queue}"? ` +
                    `Run \`${VAULTOPS} worker\` or \`npm run dev\`; the workflow ${workflowId} keeps running and \`${VAULTOPS} status ${workflowId}\` shows it.`,
                ),
              ),
            opts.timeout * 1000,
          ).unref(),
        ),
      ]);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        throw new Error(`preflight ${workflowId} failed: ${err.cause?.message ?? err.message}`);
      }
      throw err;
    }
    out(opts.json ? JSON.stringify({ workflowId, runId, report }, null, 2) : formatPreflight(report));
  });
}
