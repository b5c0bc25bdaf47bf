// `vaultops status`: one workflow, once or followed.
import { type Print, type Program, seconds } from './cli-options.js';

export function registerStatus(program: Program, out: Print): void {
  program
    .command('status')
    .description('show a workflow: status, pending activities, failure or result')
    .argument('<workflow-id>', 'the workflow id, as `vaultops list` shows it')
    .option('--json', 'print as JSON (with --follow: one JSON object per change)')
    .option(
      '-f, --follow',
      'watch until the workflow closes: redraw on a terminal, a line per change otherwise; exit 1 unless it completes',
    )
    .option('--interval <seconds>', 'with --follow: how often to look', seconds, 1)
    .action(async (workflowId, opts, cmd) => {
      const { statusCommand } = await import('./status.js');
      await statusCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
