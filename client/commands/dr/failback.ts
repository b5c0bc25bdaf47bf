// `vaultops dr failback --from <acting primary> --to <repaired primary>` starts drFailbackWorkflow
// and says how to approve, unseal and follow it. Key holders unseal the repaired cluster with
// `vaultops dr unseal-share <workflow-id> --cluster <repaired>`, as in a failover.
import type { DrFailbackInput } from '../../../workflows/dr/failback.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';
import { parseDrApproval } from './approval-options.js';
import { checkClusterPair, checkHook } from './cluster-args.js';

type Out = (line: string) => void;

export interface DrFailbackOptions extends GlobalOptions {
  from: string;
  to: string;
  autoApprove?: boolean;
  approver?: string[];
  quorum?: string;
  approvalTimeout?: string;
  as?: string;
  hook?: string;
}

/** The workflow input from the options; every problem is a UsageError saying what to fix. */
export function parseDrFailback(opts: DrFailbackOptions, requester: string): DrFailbackInput {
  checkClusterPair(['--from', opts.from], ['--to', opts.to], 'the repaired old primary');
  const approval = parseDrApproval(opts, requester, 'failback');
  checkHook(opts.hook);
  return {
    fromCluster: opts.from,
    toCluster: opts.to,
    ...(approval ? { approval } : { autoApprove: { by: requester } }),
    ...(opts.hook ? { hook: opts.hook } : {}),
  };
}

export async function drFailbackCommand(opts: DrFailbackOptions, out: Out): Promise<string> {
  const requester = opts.as ?? process.env.USER ?? 'unknown';
  const input = parseDrFailback(opts, requester);
  const target = resolveTemporal(opts);
  const workflowId = `dr-failback:${input.fromCluster}:${input.toCluster}`;
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'drFailbackWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `a failback ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  out(`Failback ${input.fromCluster} -> ${input.toCluster}: workflow ${workflowId}`);
  out(
    `  refused unless the current-primary record names ${input.fromCluster} and ${input.toCluster} answers`,
  );
  if (input.approval) {
    out(
      `  then ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve before ${input.fromCluster} is snapshotted and fenced:`,
    );
    out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  } else out('  approval: pre-approved (--auto-approve)');
  out(
    `  unseal, once the status shows "unseal: k of n shares" (before and after the restore): each key holder of ${input.toCluster}'s keys runs`,
  );
  out(`    ${VAULTOPS} dr unseal-share ${workflowId} --cluster ${input.toCluster}`);
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
  return workflowId;
}
