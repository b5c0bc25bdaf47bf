// Secret rotation (secretRotationWorkflow): options stay strings here and are checked in
// commands/secret-args.ts, so this file loads neither zod nor Temporal.
import type { Print, Program } from '../cli-options.js';
import type { SecretScheduleOptions } from './schedule.js';
import type { SecretRollbackOptions, SecretRotateOptions } from './secret.js';

const ROTATION_OPTIONS: [flags: string, description: string][] = [
  ['--target <kind>', 'what the secret is: kv, postgres, mariadb, database-static, database-root'],
  ['--field <name>', 'kv: the data field that holds the value to rotate (default "value")'],
  ['--admin <mount/path>', 'postgres, mariadb: the KV secret holding the admin connection'],
  [
    '--role <name>',
    'postgres, mariadb: the account (alternating: base of <role>_a/_b); database-static: the role',
  ],
  ['--host <host>', "mariadb: the account's host part, e.g. %"],
  ['--connection <name>', 'database-root: the database engine connection'],
  ['--verify-role <role>', 'database-root: a dynamic role on the connection to test the new root with'],
  ['--db-mount <mount>', 'database-static, database-root: the database engine mount'],
  ['--strategy <s>', 'single-user or alternating (default: alternating for databases, single-user for kv)'],
  ['--grace <duration>', 'how long the previous credential stays valid (default 24h)'],
  ['--password-policy <name>', 'a Vault password policy to generate the password with'],
  ['--notice <duration>', 'announce the rotation this long before it begins'],
  ['--webhook <url>', 'POST each event (notice, rotated, rolled-back, failed) here'],
  ['--mount <mount>', 'the KV mount, when its path has a slash (then <mount/path> is the path in it)'],
  ['--cluster <name>', 'configured Vault cluster (default: "default")'],
];
const withRotationOptions = <C>(c: C): C => {
  const cmd = c as unknown as { option(flags: string, description: string): unknown };
  for (const [flags, description] of ROTATION_OPTIONS) cmd.option(flags, description);
  return c;
};

export function registerRotation(program: Program, out: Print): void {
  const secret = program
    .command('secret')
    .description(
      'rotate secrets with a grace period and rollback: rotate, status, rollback, history, schedule',
    );

  withRotationOptions(
    secret
      .command('rotate')
      .description('start a rotation of a secret (workflow id rotate:<cluster>:<mount>/<path>:<id or time>)')
      .argument('<mount/path>', 'the KV v2 secret, e.g. secret/app/db'),
  )
    .option('--id <id>', 'ends the workflow id (default: the UTC time)')
    .option('--wait', 'wait until it finishes (through the grace period) and print the outcome')
    .action(async (path, _opts, cmd) => {
      const { secretRotateCommand } = await import('./secret.js');
      await secretRotateCommand(path, cmd.optsWithGlobals() as SecretRotateOptions, out);
    });

  secret
    .command('status')
    .description('the labels of a secret (current, previous, pending, holder, state) and its rotation')
    .argument('<mount/path>', 'the KV v2 secret (its metadata is read with VAULT_ADDR/VAULT_TOKEN)')
    .option('--mount <mount>', 'the KV mount, when its path has a slash')
    .option('--json', 'print as JSON')
    .action(async (path, opts, cmd) => {
      const { secretStatusCommand } = await import('./view.js');
      await secretStatusCommand(path, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  withRotationOptions(
    secret
      .command('rollback')
      .description(
        'roll back a rotation in its grace period (<workflow-id>), or restore a retained version (<mount/path> --to-version N)',
      )
      .argument('<workflow-id | mount/path>', 'the rotation, or with --to-version the secret')
      .requiredOption('--as <name>', 'who asks for the rollback')
      .option('--reason <text>', 'why, e.g. an incident'),
  )
    .option('--to-version <n>', 'start a rotation whose new credential is this retained version')
    .option('--id <id>', 'with --to-version: ends the workflow id (default: restore-v<N>-<time>)')
    .option('--wait', 'with --to-version: wait until it finishes and print the outcome')
    .action(async (which, _opts, cmd) => {
      const { secretRollbackCommand } = await import('./secret.js');
      await secretRollbackCommand(which, cmd.optsWithGlobals() as SecretRollbackOptions, out);
    });

  secret
    .command('history')
    .description('every KV version of a secret (labelled current/previous) and its rotation workflows')
    .argument('<mount/path>', 'the KV v2 secret (its metadata is read with VAULT_ADDR/VAULT_TOKEN)')
    .option('--mount <mount>', 'the KV mount, when its path has a slash')
    .option('--cluster <name>', 'configured Vault cluster its rotations ran on (default: "default")')
    .option('--limit <n>', 'at most this many rotations', '50')
    .option('--json', 'print as JSON')
    .action(async (path, opts, cmd) => {
      const { secretHistoryCommand } = await import('./view.js');
      await secretHistoryCommand(path, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  withRotationOptions(
    secret
      .command('schedule')
      .description('rotate secrets on a schedule: one Temporal Schedule each, offset so none overlap')
      .argument('<mount/path...>', 'the secrets; the i-th is offset by i × --stagger'),
  )
    .option('--every <duration>', 'how often each secret rotates, e.g. 30d')
    .option('--stagger <duration>', 'offset between the secrets, at least the grace period + 1h, e.g. 2d')
    .option('--paused', 'create the schedules paused')
    .action(async (paths, _opts, cmd) => {
      const { secretScheduleCommand } = await import('./schedule.js');
      await secretScheduleCommand(paths, cmd.optsWithGlobals() as SecretScheduleOptions, out);
    });
}
