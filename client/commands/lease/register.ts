// Dynamic database credentials kept alive: renewed, replaced before the max TTL, delivered, and
// revoked when the keeper is cancelled (`vaultops cancel <id>`).
import type { Print, Program } from '../cli-options.js';

export function registerLease(program: Program, out: Print): void {
  const lease = program
    .command('lease')
    .description('keep dynamic database credentials renewed and delivered; revoked on cancel');

  lease
    .command('keep')
    .description(
      'start a lease keeper: renews before expiry, fetches fresh credentials when needed, prints its workflow id',
    )
    .argument('<db-mount/role>', 'the database secrets engine mount and dynamic role, e.g. database/app')
    .option('--to-file <path>', "write the credential here on the worker's machine (JSON, mode 0600)")
    .option('--kv <mount/path>', 'also (or instead) write it to this KV v2 secret, e.g. secret/app/db')
    .option('--renew-before <duration>', 'renew this long before expiry, e.g. 5m (default: at 2/3 of it)')
    .option('--overlap <duration>', 'keep the old lease valid this long after fresh credentials (default 0)')
    .option('--remove-file-on-cancel', 'remove the file when the keeper is cancelled')
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .option('--json', 'print the workflow id and input as JSON')
    .action(async (credentials, opts, cmd) => {
      const { leaseKeepCommand } = await import('./lease.js');
      await leaseKeepCommand(credentials, { ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
