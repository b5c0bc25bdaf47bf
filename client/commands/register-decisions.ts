// Decisions on a running workflow. Approvals are Workflow Updates: a refused one (not an
// approver, own request, already approved or decided) prints the workflow's reason and exits 1.
import type { Print, Program } from './cli-options.js';

export function registerDecisions(program: Program, out: Print): void {
  program
    .command('approve')
    .description("approve a workflow's pending change, as one of its approvers")
    .argument('<workflow-id>', 'the workflow waiting for approval, as `vaultops list` shows it')
    .requiredOption('--as <name>', 'who approves, as the approval policy names them')
    .option('--reason <text>', 'why, e.g. a change ticket; shown in `vaultops status`')
    .option('--json', 'print the approval state as JSON')
    .action(async (workflowId, opts, cmd) => {
      const { decisionCommand } = await import('./approve.js');
      await decisionCommand('approve', workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  program
    .command('reject')
    .description("reject a workflow's pending change; it undoes its finished steps and fails")
    .argument('<workflow-id>', 'the workflow waiting for approval')
    .requiredOption('--as <name>', 'who rejects: an approver, or the requester withdrawing the change')
    .requiredOption('--reason <text>', 'why the change is rejected')
    .option('--json', 'print the approval state as JSON')
    .action(async (workflowId, opts, cmd) => {
      const { decisionCommand } = await import('./approve.js');
      await decisionCommand('reject', workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  program
    .command('cancel')
    .description('cancel a running workflow; it undoes its finished steps, then closes as cancelled')
    .argument('<workflow-id>', 'the workflow to cancel')
    .action(async (workflowId, _opts, cmd) => {
      const { cancelCommand } = await import('./approve.js');
      await cancelCommand(workflowId, cmd.optsWithGlobals(), out);
    });
}
