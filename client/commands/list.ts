import { z } from 'zod';
import { printTable } from '../format.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../temporal-client.js';
import { UsageError } from './usage-error.js';
import { QUERY_STATUS, STATUSES } from './workflow-statuses.js';

export const listOptionsSchema = z.object({
  type: z
    .string()
    .regex(/^[A-Za-z0-9_]+$/, 'must be a workflow type name such as preflightWorkflow')
    .optional(),
  status: z.enum(STATUSES, { error: `must be one of: ${STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(1000),
});

export interface ListOptions extends GlobalOptions {
  type?: string;
  status?: string;
  limit: string;
  json?: boolean;
}

export async function listCommand(opts: ListOptions, out: (s: string) => void): Promise<void> {
  const parsed = listOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0])} ${issue?.message}`);
  }
  const { type, status, limit } = parsed.data;
  const clauses = [
    ...(type ? [`WorkflowType = '${type}'`] : []),
    ...(status ? [`ExecutionStatus = '${QUERY_STATUS[status]}'`] : []),
  ];
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const rows: {
      workflowId: string;
      runId: string;
      type: string;
      status: string;
      startTime: string;
      closeTime: string | null;
    }[] = [];
    for await (const wf of client.workflow.list(clauses.length ? { query: clauses.join(' AND ') } : {})) {
      rows.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        type: wf.type,
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
      });
      if (rows.length >= limit) break;
    }
    if (opts.json) {
      out(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      out('No workflows found.');
      return;
    }
    const table = [
      ['WORKFLOW ID', 'TYPE', 'STATUS', 'STARTED'],
      ...rows.map((r) => [r.workflowId, r.type, r.status, r.startTime]),
    ];
    printTable(table, out);
  });
}

export { UsageError } from './usage-error.js';
