// `vaultops migrate run --from <ns> --to <ns> --approver ...`: prints the plan's summary (read with
// the user's own token), starts migrateWorkflow under `migrate:<id>`, and says how to approve, to
// confirm the freeze, and to follow it. `vaultops migrate freeze <workflow-id> --as <name>` is the
// operator's word that writes to the source have stopped. Names and counts only are printed.

import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { PlanCheck } from '../../../activities/migrate/plan-check.js';
import { approvalPolicyProblems } from '../../../common/approval.js';
import { parseDuration } from '../../../common/durations.js';
import type { MigrateRunInput } from '../../../common/migrate/run.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { withUserVault } from '../../user-vault.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';
import { parseNamespace } from './plan.js';

type Out = (line: string) => void;

export interface MigrateRunOptions extends GlobalOptions {
  from?: string;
  to?: string;
  prefix?: string;
  approver?: string[];
  quorum?: string;
  approvalTimeout?: string;
  grace?: string;
  retireSource?: boolean;
  id?: string;
  cluster?: string;
  targetCluster?: string;
  ledgerMount?: string;
  batchSize?: string;
  as?: string;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The workflow input from the options; every problem is a UsageError saying what to fix. */
export function parseMigrateRun(opts: MigrateRunOptions, requester: string, makeId = newId): MigrateRunInput {
  const from = parseNamespace('--from', opts.from);
  const to = parseNamespace('--to', opts.to);
  const prefix = opts.prefix ?? '';
  if (prefix !== '' && !PREFIX.test(prefix))
    throw new UsageError(`--prefix "${prefix}" must be letters, digits, "_" or "-", e.g. --prefix moved-`);
  if (from === to && prefix === '')
    throw new UsageError(
      `--from and --to are the same namespace (${from || 'the root'}): name another namespace, or give --prefix to copy into prefixed mounts beside the originals`,
    );
  const graceMs = parseDuration(opts.grace ?? '24h');
  if (graceMs === undefined || graceMs < 0)
    throw new UsageError(`--grace "${opts.grace}" is not a duration; write e.g. 24h or 30m`);
  const quorum = opts.quorum === undefined ? 1 : Number(opts.quorum);
  if (!Number.isInteger(quorum) || quorum < 1)
    throw new UsageError('--quorum must be a whole number of at least 1');
  const approval = {
    requester,
    approvers: (opts.approver ?? [])
      .flatMap((a) => a.split(','))
      .map((a) => a.trim())
      .filter(Boolean),
    quorum,
    timeout: opts.approvalTimeout ?? '24h',
  };
  const problems = approvalPolicyProblems(approval);
  if (problems.length > 0)
    throw new UsageError(
      `the approval cannot gate the migration (${problems.join('; ')}): give --approver <name> (repeatable) and --quorum`,
    );
  const id = opts.id ?? makeId();
  if (!NAME.test(id)) throw new UsageError(`--id "${id}" must be lowercase letters, digits and "-"`);
  for (const [flag, value] of [
    ['--cluster', opts.cluster],
    ['--target-cluster', opts.targetCluster],
  ] as const)
    if (value !== undefined && !NAME.test(value))
      throw new UsageError(`${flag} must be a cluster name, e.g. primary`);
  const batch = opts.batchSize === undefined ? undefined : Number(opts.batchSize);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 1000))
    throw new UsageError('--batch-size must be a whole number from 1 to 1000');
  return {
    id,
    from,
    to,
    ...(prefix ? { prefix } : {}),
    ...(opts.cluster ? { sourceCluster: opts.cluster } : {}),
    ...(opts.targetCluster ? { targetCluster: opts.targetCluster } : {}),
    approval,
    graceMs,
    retireSource: opts.retireSource === true,
    ...(opts.ledgerMount ? { ledgerMount: opts.ledgerMount } : {}),
    ...(batch ? { kvBatchSize: batch } : {}),
  };
}

function newId(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  return `${day}-${randomBytes(3).toString('hex')}`;
}

export const migrateWorkflowId = (id: string) => `migrate:${id}`;

export function printPlanSummary(input: MigrateRunInput, plan: PlanCheck, out: Out): void {
  const ns = (n: string) => n || '(root)';
  out(
    `Migration ${input.id}: ${ns(input.from)} -> ${ns(input.to)}${input.prefix ? ` (mounts and policies prefixed ${input.prefix})` : ''}`,
  );
  out(
    `  plan: ${plan.summary.exact} exact, ${plan.summary.caveat} with a caveat, ${plan.summary.notMigratable} not migratable; ` +
      `${plan.secrets} KV secrets, ${plan.versions} versions in ${plan.kvMounts.length} KV v2 mount(s)`,
  );
  for (const c of plan.caveats) out(`  caveat: ${c}`);
  for (const n of plan.notMigratable) out(`  not migrated: ${n}`);
}

export async function migrateRunCommand(opts: MigrateRunOptions, out: Out): Promise<string> {
  const input = parseMigrateRun(opts, opts.as ?? process.env.USER ?? 'unknown');
  if ((input.targetCluster ?? 'default') !== (input.sourceCluster ?? 'default')) {
    // VAULT_ADDR reaches one cluster: the other side is read by the workflow's plan step, on the
    // workers' clusters, which refuses a conflict before anything is written.
    out(
      `Migration ${input.id}: ${input.from || '(root)'} on ${input.sourceCluster ?? 'default'} -> ${input.to || '(root)'} on ${input.targetCluster}`,
    );
    out('  plan: checked by the workflow against both clusters before the approval');
    return startMigration(opts, input, out);
  }
  const plan = await withUserVault(
    () =>
      new UsageError(
        'export VAULT_ADDR and VAULT_TOKEN (a token that may read both namespaces): the plan is read with your own token',
      ),
    async (vault) => {
      const { checkPlan } = await import('../../../activities/migrate/plan-check.js');
      return checkPlan(vault.withNamespace(input.from), vault.withNamespace(input.to), {
        from: input.from,
        to: input.to,
        prefix: input.prefix ?? '',
      });
    },
  );
  printPlanSummary(input, plan, out);
  if (plan.conflicts.length > 0 || plan.blockingGaps.length > 0)
    throw new UsageError(
      `not started: resolve these first (${VAULTOPS} migrate plan shows them): ${[...plan.conflicts, ...plan.blockingGaps].join('; ')}`,
    );
  return startMigration(opts, input, out);
}

async function startMigration(opts: MigrateRunOptions, input: MigrateRunInput, out: Out): Promise<string> {
  const target = resolveTemporal(opts);
  const workflowId = migrateWorkflowId(input.id);
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'migrateWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `migration ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  out(`Started workflow ${workflowId}`);
  out(
    `  nothing is written until ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve:`,
  );
  out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  out(
    `  when the copy is verified, stop writes to ${input.from || '(root)'} and confirm the freeze (the delta copy follows):`,
  );
  out(`    ${VAULTOPS} migrate freeze ${workflowId} --as <you>`);
  out(
    `  after cutover: a grace period of ${opts.grace ?? '24h'}, then a second approval ${input.retireSource ? 'DELETES what was migrated at the source' : 'marks the source as migrated (nothing deleted; --retire-source deletes)'}`,
  );
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
  return workflowId;
}

export async function migrateFreezeCommand(
  workflowId: string,
  opts: GlobalOptions & { as?: string; reason?: string },
  out: Out,
): Promise<void> {
  const operator = opts.as?.trim();
  if (!operator) throw new UsageError('--as <name>: say who confirms that writes to the source stopped');
  const { confirmFreezeUpdate } = await import('../../../workflows/migrate/messages.js');
  const said = await withClient(resolveTemporal(opts), async (client) => {
    try {
      return await client.workflow.getHandle(workflowId).executeUpdate(confirmFreezeUpdate, {
        args: [{ operator, ...(opts.reason ? { reason: opts.reason } : {}) }],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        throw new Error(`freeze refused: ${err.cause?.message ?? err.message}`);
      throw err;
    }
  });
  out(`Freeze confirmed for ${workflowId}: ${said}`);
}
