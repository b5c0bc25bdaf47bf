// `vaultops dev`: the embedded stack.
import { Option } from '@commander-js/extra-typings';
import { type Print, type Program, port } from './cli-options.js';

export function registerDev(program: Program, out: Print): void {
  program
    .command('dev')
    .description(
      'run the embedded stack: Temporal dev server + UI, OpenBao dev server, SoftHSM2 token, worker',
    )
    .option(
      '--state-dir <dir>',
      'where history (SQLite), logs, env.sh and the SoftHSM2 token live (default: $VAULTOPS_STATE_DIR, else .vaultops/dev)',
    )
    .option('--temporal-port <port>', 'Temporal frontend port (default: a free port)', port)
    .option('--ui-port <port>', 'Temporal UI port (default: a free port)', port)
    .option('--vault-port <port>', 'Vault API port (default: a free port)', port)
    .addOption(
      new Option('--server <flavour>', 'Vault-API server to run')
        .choices(['openbao', 'vault'] as const)
        .default('openbao' as const),
    )
    .option('--no-preflight', 'do not run a first preflight once the stack is up')
    .option('--dr', 'also a DR pair: two single-node raft clusters, configured as dr-primary and dr-standby')
    .option(
      '--reset',
      'start clean: forget the workflow history and DR snapshots of earlier runs (their servers are gone)',
    )
    .action(async (opts) => {
      const { devCommand } = await import('./dev.js');
      await devCommand(opts, out);
    });
}
