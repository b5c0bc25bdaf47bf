// The `vaultops` command line. Only commander loads up front: each action imports its command, and
// with it Temporal, Vault and zod, when it runs, so `vaultops --help` answers at once.
import { Command, CommanderError, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { STATUSES } from './commands/workflow-statuses.js';

/**
 * Errors whose fix lies in the user's input or configuration, told apart by name so that this
 * module need not load the modules that define them: exit code 2, as for a usage error.
 */
const INPUT_ERRORS = new Set(['ConfigError', 'UsageError', 'StackStateError']);

const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

const program = new Command('vaultops')
  .description('HashiCorp Vault and OpenBao operations as durable Temporal workflows')
  .option(
    '-c, --config <file>',
    'YAML configuration (default: $VAULTOPS_CONFIG, else VAULT_*/TEMPORAL_* env)',
  )
  .option(
    '--address <host:port>',
    'Temporal frontend (default: $TEMPORAL_ADDRESS, a running dev stack, 127.0.0.1:7233)',
  )
  .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE or "default")')
  .option('--task-queue <name>', 'task queue of the vaultops worker (default: "vaultops")')
  .showHelpAfterError()
  // Throw instead of exiting, so that a usage error exits 2 like our own (commander's default is 1).
  // Subcommands copy this setting when they are added below.
  .exitOverride();

program
  .command('dev')
  .description('run the embedded stack: Temporal dev server + UI, OpenBao dev server, SoftHSM2 token, worker')
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
  .action(async (opts) => {
    const { devCommand } = await import('./commands/dev.js');
    await devCommand(opts, out);
  });

program
  .command('preflight')
  .description(
    'inspect the Vault cluster: health, seal, version, flavour, HA, engines, auth methods, namespaces',
  )
  .option('--vault-namespace <ns>', "Vault namespace to inspect in (default: the worker's)")
  .option('--workflow-id <id>', 'workflow id (default: preflight-<time>-<random>)')
  .option('--no-wait', 'start the workflow and return its id')
  .option('--json', 'print the report as JSON')
  .option('--timeout <seconds>', 'how long to wait for the result', seconds, 60)
  .action(async (opts, cmd) => {
    const { preflightCommand } = await import('./commands/preflight.js');
    await preflightCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

program
  .command('status')
  .description('show a workflow: status, pending activities, failure or result')
  .argument('<workflow-id>', 'the workflow id, as `vaultops list` shows it')
  .option('--json', 'print as JSON')
  .action(async (workflowId, opts, cmd) => {
    const { statusCommand } = await import('./commands/status.js');
    await statusCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

program
  .command('list')
  .description('list recent vaultops workflows')
  .option('--type <workflowType>', 'only this workflow type, e.g. preflightWorkflow')
  .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
  .option('--limit <n>', 'at most this many', '20')
  .option('--json', 'print as JSON')
  .action(async (opts, cmd) => {
    const { listCommand } = await import('./commands/list.js');
    await listCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

program
  .command('worker')
  .description('run a worker against the configured Vault and Temporal until SIGINT/SIGTERM')
  .action(async (_opts, cmd) => {
    const { runWorkerProcess } = await import('../workers/main.js');
    await runWorkerProcess(cmd.optsWithGlobals().config);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // commander has printed its own message (or the help) already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`vaultops: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof Error && INPUT_ERRORS.has(err.name) ? 2 : 1);
}
