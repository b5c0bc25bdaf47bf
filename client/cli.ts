// The `vaultops` command line.
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { ConfigError } from '../common/config.js';
import { devCommand } from './commands/dev.js';
import { listCommand, STATUSES, UsageError } from './commands/list.js';
import { preflightCommand } from './commands/preflight.js';
import { statusCommand } from './commands/status.js';
import { DEFAULT_STATE_DIR } from './dev-state.js';

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
  .showHelpAfterError();

program
  .command('dev')
  .description('run the embedded stack: Temporal dev server + UI, OpenBao dev server, SoftHSM2 token, worker')
  .option('--state-dir <dir>', 'where history (SQLite), logs and the SoftHSM2 token live', DEFAULT_STATE_DIR)
  .option('--temporal-port <port>', 'Temporal frontend port (default: a free port)', port)
  .option('--ui-port <port>', 'Temporal UI port (default: a free port)', port)
  .option('--vault-port <port>', 'Vault API port (default: a free port)', port)
  .addOption(
    new Option('--server <flavour>', 'Vault-API server to run')
      .choices(['openbao', 'vault'] as const)
      .default('openbao' as const),
  )
  .option('--no-preflight', 'do not run a first preflight once the stack is up')
  .action(async (opts) => devCommand(opts, out));

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
  .action(async (opts, cmd) => preflightCommand({ ...cmd.optsWithGlobals(), ...opts }, out));

program
  .command('status')
  .description('show a workflow: status, pending activities, failure or result')
  .argument('<workflow-id>', 'the workflow id, as `vaultops list` shows it')
  .option('--json', 'print as JSON')
  .action(async (workflowId, opts, cmd) =>
    statusCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out),
  );

program
  .command('list')
  .description('list recent vaultops workflows')
  .option('--type <workflowType>', 'only this workflow type, e.g. preflightWorkflow')
  .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
  .option('--limit <n>', 'at most this many', '20')
  .option('--json', 'print as JSON')
  .action(async (opts, cmd) => listCommand({ ...cmd.optsWithGlobals(), ...opts }, out));

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
  if (err instanceof ConfigError || err instanceof UsageError) {
    console.error(`vaultops: ${err.message}`);
    process.exit(2);
  }
  console.error(`vaultops: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
