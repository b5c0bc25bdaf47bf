// The `vaultops` command line. Only commander loads up front: each area registers its commands
// (client/commands/<area>/register.ts), and each action imports its command, and with it Temporal,
// Vault and zod, when it runs, so `vaultops --help` answers at once.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerBreakGlass } from './commands/break-glass/register.js';
import { registerCa } from './commands/ca/register.js';
import { registerCert } from './commands/cert/register.js';
import type { Program } from './commands/cli-options.js';
import { registerDr } from './commands/dr/register.js';
import { registerLease } from './commands/lease/register.js';
import { registerMigrate } from './commands/migrate/register.js';
import { registerPreflight } from './commands/preflight/register.js';
import { registerCodecServer } from './commands/register-codec-server.js';
import { registerDecisions } from './commands/register-decisions.js';
import { registerDev } from './commands/register-dev.js';
import { registerList } from './commands/register-list.js';
import { registerStatus } from './commands/register-status.js';
import { registerWorker } from './commands/register-worker.js';
import { registerRotation } from './commands/rotation/register.js';
import { registerSchedule } from './commands/schedule/register.js';

/**
 * Errors whose fix lies in the user's input or configuration, told apart by name so that this
 * module need not load the modules that define them: exit code 2, as for a usage error.
 */
const INPUT_ERRORS = new Set([
  'ConfigError',
  'UsageError',
  'StackStateError',
  'ScheduleSpecError',
  'CaSpecError',
]);

const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

// `vaultops list | head` closes the pipe early: the reader has what it wanted; end quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program: Program = new Command('vaultops')
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

// The order here is the order of `vaultops --help`.
registerDev(program, out);
registerPreflight(program, out);
registerStatus(program, out);
registerList(program, out);
registerSchedule(program, out);
registerDecisions(program, out);
registerBreakGlass(program, out);
registerRotation(program, out);
registerLease(program, out);
registerCa(program, out);
registerCert(program, out);
registerMigrate(program, out);
registerDr(program, out);
registerCodecServer(program, out);
registerWorker(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // commander has printed its own message (or the help) already.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`vaultops: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof Error && INPUT_ERRORS.has(err.name) ? 2 : 1);
}
