// Emergency access: N-of-M approval, a time-boxed token delivered only to the requester (sealed to
// a key that never leaves this machine), revoked when its time is up or on request, audited.
import { type Print, type Program, seconds } from '../cli-options.js';

export function registerBreakGlass(program: Program, out: Print): void {
  const breakGlass = program
    .command('break-glass')
    .description('emergency Vault tokens: approved by a quorum, time-boxed, auto-revoked, audited');

  breakGlass
    .command('request')
    .description('ask for an emergency token; it is created once the approvers approve')
    .requiredOption('--policy <name>', 'the one Vault policy the token carries')
    .requiredOption('--ttl <duration>', 'how long the token lives (at most 24h), e.g. 1h')
    .requiredOption('--reason <text>', 'why: an incident or ticket reference')
    .requiredOption('--approvers <names>', 'who may approve, comma-separated, e.g. alice,bob,carol')
    .option('--uses <n>', 'how many requests the token may make (default 100)')
    .option('--quorum <n>', 'how many approvers must approve (default 2)')
    .option('--approval-timeout <duration>', 'how long the approvers have (default 1h)')
    .option('--as <name>', 'who asks (default: your login name); cannot approve their own request')
    .option(
      '--wrap-ttl <duration>',
      'how long the sealed, single-use wrapping token waits to be collected (default 5m)',
    )
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .option('--workflow-id <id>', 'workflow id (default: break-glass-<time>-<random>)')
    .option(
      '--key-dir <dir>',
      'where the private key waits (default: $VAULTOPS_BREAK_GLASS_DIR or ~/.vaultops/break-glass)',
    )
    .option('--wait', 'wait for approval, then collect the token (needs --out or --print, and VAULT_ADDR)')
    .option('--out <file>', 'with --wait: write the token to this new file (mode 0600)')
    .option('--print', 'with --wait: print the token instead')
    .option('--timeout <seconds>', 'with --wait: how long to wait for approval', seconds, 3600)
    .option('--json', 'print the workflow id and key file as JSON')
    .action(async (opts, cmd) => {
      const { requestCommand } = await import('./break-glass.js');
      await requestCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });

  breakGlass
    .command('collect')
    .description('wait for approval, then unwrap the emergency token with Vault (needs VAULT_ADDR)')
    .argument('<workflow-id>', 'the break-glass request')
    .option('--out <file>', 'write the token to this new file (mode 0600)')
    .option('--print', 'print the token instead')
    .option('--as <name>', 'who collects, for the audit trail (default: your login name)')
    .option('--key-dir <dir>', 'where request left the private key')
    .option('--timeout <seconds>', 'how long to wait for approval', seconds, 3600)
    .action(async (workflowId, opts, cmd) => {
      const { collectCommand } = await import('./break-glass.js');
      await collectCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  breakGlass
    .command('revoke')
    .description('revoke the emergency token now (it is revoked by itself when its time is up)')
    .argument('<workflow-id>', 'the break-glass request')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .option('--as <name>', 'who revokes (default: your login name)')
    .option('--key-dir <dir>', 'where request left the private key (it is removed)')
    .option('--json', 'print the audit trail as JSON')
    .action(async (workflowId, opts, cmd) => {
      const { revokeCommand } = await import('./break-glass.js');
      await revokeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  breakGlass
    .command('status')
    .description('the audit trail: who asked, why, who approved, accessor, created, expires, revoked')
    .argument('<workflow-id>', 'the break-glass request')
    .option('--json', 'print as JSON')
    .action(async (workflowId, opts, cmd) => {
      const { breakGlassStatusCommand } = await import('./break-glass.js');
      await breakGlassStatusCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
