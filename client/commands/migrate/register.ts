// Namespace migration: the plan is read with VAULT_ADDR/VAULT_TOKEN; no secret value is printed.
import { type Print, type Program, repeat } from '../cli-options.js';

export function registerMigrate(program: Program, out: Print): void {
  const migrate = program
    .command('migrate')
    .description('move a namespace (mounts, policies, auth roles, KV history, keys) into another');

  migrate
    .command('plan')
    .description(
      'inventory the source namespace and classify each item: exact, caveat (with the action to take), or not migratable; list conflicts and gaps at the target',
    )
    .requiredOption('--from <namespace>', 'the source namespace, e.g. admin/team-a ("/" for the root)')
    .requiredOption('--to <namespace>', 'the target namespace, e.g. admin/team-b')
    .option('--format <format>', 'table (default) or json')
    .action(async (opts) => {
      const { migratePlanCommand } = await import('./plan.js');
      await migratePlanCommand(opts, out);
    });

  migrate
    .command('run')
    .description(
      'migrate a namespace: plan, approval, copy (KV history in batches), verify, freeze, delta copy, cutover, grace, retire after a second approval; rollback before cutover',
    )
    .requiredOption('--from <namespace>', 'the source namespace, e.g. admin/team-a ("/" for the root)')
    .requiredOption('--to <namespace>', 'the target namespace, e.g. admin/team-b (created if missing)')
    .option(
      '--approver <name>',
      'who may approve (repeatable); the same approvers approve the retirement',
      repeat,
    )
    .option('--quorum <n>', 'how many distinct approvers must approve (default 1)')
    .option('--approval-timeout <duration>', 'how long each approval may take (default 24h)')
    .option('--grace <duration>', 'from cutover to the retirement approval (default 24h)')
    .option(
      '--retire-source',
      'after the second approval, DELETE what was migrated at the source (default: only mark it)',
    )
    .option(
      '--prefix <prefix>',
      'within one namespace (Vault Community): target mounts and policies are <prefix><name>',
    )
    .option('--id <id>', 'the migration id (default: date and random); the workflow is migrate:<id>')
    .option('--cluster <name>', 'the source cluster (default: default)')
    .option('--target-cluster <name>', 'the target cluster (default: the source cluster)')
    .option(
      '--ledger-mount <mount>',
      "the KV v2 mount in the target's root namespace for the ledger (default secret)",
    )
    .option('--batch-size <n>', 'KV secrets per batch (default 200)')
    .option('--as <name>', 'who asks (default $USER): may not approve')
    .action(async (_opts, cmd) => {
      const { migrateRunCommand } = await import('./run.js');
      await migrateRunCommand(cmd.optsWithGlobals(), out);
    });

  migrate
    .command('freeze')
    .description(
      'confirm that writes to the source have stopped: the migration copies the delta, then cuts over',
    )
    .argument('<workflow-id>', 'the migration, e.g. migrate:20261123-a1b2c3')
    .requiredOption('--as <name>', 'who confirms')
    .option('--reason <text>', 'e.g. the change ticket')
    .action(async (workflowId, opts, cmd) => {
      const { migrateFreezeCommand } = await import('./run.js');
      await migrateFreezeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
