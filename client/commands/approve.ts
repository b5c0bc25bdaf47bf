// `vaultops approve`, `reject` and `cancel`: an operator's say on a running workflow. Approvals go
// as Workflow Updates, so the command learns at once whether the decision counted; a refusal
// (not an approver, own request, already approved, already decided) is printed with the
// workflow's own reason and exits 1.
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { type ApprovalAction, type ApprovalState, MAX_REASON_LENGTH } from '../../common/approval.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { formatApproval } from '../format-approval.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../temporal-client.js';
import { VAULTOPS } from './invocation.js';
import { UsageError } from './usage-error.js';

export { UsageError } from './usage-error.js';

export interface DecisionOptions extends GlobalOptions {
  as: string;
  reason?: string;
  json?: boolean;
}

const decisionOptions = z.object({
  as: z.string().trim().min(1, 'must name who decides, as the approval policy lists them'),
  reason: z
    .string()
    .trim()
    .max(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`)
    .optional(),
});

const UPDATES = { approve: approveUpdate, reject: rejectUpdate } as const;

/** Sends one decision to the workflow's approval gate; its refusal becomes an Error with its reason. */
export async function decide(
  client: Client,
  workflowId: string,
  action: ApprovalAction,
  decision: { approver: string; reason?: string },
): Promise<ApprovalState> {
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(UPDATES[action], { args: [decision] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const why = err.cause?.message ?? err.message;
      // The worker's words for a workflow that registered no approval gate.
      if (/no registered handler/i.test(why))
        throw new Error(`workflow ${workflowId} does not wait for approvals (it has no approval gate)`);
      throw new Error(`${action === 'approve' ? 'approval' : 'rejection'} refused: ${why}`);
    }
    if (err instanceof WorkflowNotFoundError) throw await notRunning(client, workflowId);
    throw err;
  }
}

export async function decisionCommand(
  action: ApprovalAction,
  workflowId: string,
  opts: DecisionOptions,
  out: (s: string) => void,
): Promise<void> {
  const parsed = decisionOptions.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0])} ${issue?.message}`);
  }
  const { as: approver, reason } = parsed.data;
  if (action === 'reject' && !reason) throw new UsageError('--reason is required to reject: say why');
  const state = await withClient(resolveTemporal(opts), (client) =>
    decide(client, workflowId, action, { approver, ...(reason ? { reason } : {}) }),
  );
  if (opts.json) {
    out(JSON.stringify({ workflowId, approval: state }, null, 2));
    return;
  }
  out(`${action === 'approve' ? 'Approved' : 'Rejected'} ${workflowId} as ${approver}`);
  for (const line of formatApproval(state)) out(line);
}

export async function cancelCommand(workflowId: string, opts: GlobalOptions, out: (s: string) => void) {
  await withClient(resolveTemporal(opts), async (client) => {
    try {
      await client.workflow.getHandle(workflowId).cancel();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await notRunning(client, workflowId);
      throw err;
    }
  });
  out(`Cancellation requested for ${workflowId}: it undoes its finished steps, then closes as cancelled.`);
  out(`\`${VAULTOPS} status ${workflowId}\` shows each step's state.`);
}

/** Temporal says "not found" both for an unknown id and for a workflow that has closed. */
async function notRunning(client: Client, workflowId: string): Promise<Error> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return new Error(`workflow ${workflowId} is no longer running (${status.name})`);
  } catch {
    return new Error(
      `no workflow with id "${workflowId}" in namespace ${client.options.namespace}; \`${VAULTOPS} list\` shows the recent ones`,
    );
  }
}
