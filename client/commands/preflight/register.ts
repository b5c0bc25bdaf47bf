// `vaultops preflight`: inspect a Vault cluster.
import { clusterName, type Print, type Program, seconds } from '../cli-options.js';

export function registerPreflight(program: Program, out: Print): void {
  program
    .command('preflight')
    .description(
      'inspect the Vault cluster: health, seal, version, flavour, HA, engines, auth methods, namespaces',
    )
    .option(
      '--cluster <name>',
      'configured Vault cluster to inspect (default: "default", vault_integration)',
      clusterName,
    )
    .option('--vault-namespace <ns>', "Vault namespace to inspect in (default: the worker's)")
    .option('--workflow-id <id>', 'workflow id (default: preflight-<time>-<random>)')
    .option('--no-wait', 'start the workflow and return its id')
    .option('--json', 'print the report as JSON')
    .option('--timeout <seconds>', 'how long to wait for the result', seconds, 60)
    .action(async (opts, cmd) => {
      const { preflightCommand } = await import('./preflight.js');
      await preflightCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
