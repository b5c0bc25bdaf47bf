// `vaultops list`: recent vaultops workflows.
import type { Print, Program } from './cli-options.js';
import { STATUSES } from './workflow-statuses.js';

export function registerList(program: Program, out: Print): void {
  program
    .command('list')
    .description('list recent vaultops workflows')
    .option('--type <workflowType>', 'only this workflow type, e.g. preflightWorkflow')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd) => {
      const { listCommand } = await import('./list.js');
      await listCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
