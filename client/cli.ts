// The `vaultops` command line. Only commander loads up front: each action imports its command, and
// with it Temporal, Vault and zod, when it runs, so `vaultops --help` answers at once.
import { Command, CommanderError, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import type { SecretScheduleOptions } from './commands/rotation/schedule.js';
import type { SecretRollbackOptions, SecretRotateOptions } from './commands/rotation/secret.js';
import { STATUSES } from './commands/workflow-statuses.js';

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

function clusterName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value)) {
    throw new InvalidArgumentError(
      'must be a cluster name (lowercase letters, digits and "-"), such as "dr-standby"',
    );
  }
  return value;
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
  .option('--dr', 'also a DR pair: two single-node raft clusters, configured as dr-primary and dr-standby')
  .action(async (opts) => {
    const { devCommand } = await import('./commands/dev.js');
    await devCommand(opts, out);
  });

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
    const { preflightCommand } = await import('./commands/preflight/preflight.js');
    await preflightCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

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

// Temporal Schedules that start vaultops workflows. Options stay strings here and are checked in
// the command's module (common/schedule/spec.ts), so this file loads neither zod nor Temporal.
const schedule = program
  .command('schedule')
  .description(
    'run vaultops workflows on a schedule (Temporal Schedules): create, list, pause, trigger, ...',
  );

const OVERLAPS = 'skip|buffer-one|buffer-all|cancel-other|terminate-other|allow-all';

schedule
  .command('create')
  .description(
    'create a schedule that starts a workflow on the task queue (--task-queue, default "vaultops")',
  )
  .argument('<schedule-id>', 'a name for the schedule; its runs are named <schedule-id>-<time>')
  .requiredOption('--workflow <type>', 'workflow type to start, e.g. preflightWorkflow')
  .option(
    '--args <json>',
    'workflow input: a JSON array is the argument list, anything else the one argument',
  )
  .option('--every <duration>', 'run at this interval, aligned to the Unix epoch, e.g. 30m, 1h, 7d')
  .option('--offset <duration>', 'with --every: shift the runs by this much, e.g. --every 24h --offset 3h')
  .option('--cron <expr>', 'run on a cron expression (UTC unless CRON_TZ=...), e.g. "0 3 * * MON-FRI"')
  .option(
    '--calendar <json>',
    'run at calendar times (Temporal CalendarSpec), e.g. \'{"hour":3,"dayOfWeek":"MONDAY"}\'',
  )
  .option('--timezone <iana>', 'time zone of --cron/--calendar, e.g. Europe/Berlin (default UTC)')
  .option('--overlap <policy>', `when a run is due while one is running: ${OVERLAPS}`, 'skip')
  .option(
    '--catchup-window <duration>',
    'after an outage, start runs missed by at most this much (default 1y, least 10s)',
  )
  .option('--jitter <duration>', 'delay each run by a random amount up to this')
  .option('--paused', 'create it paused')
  .option('--note <text>', 'a note shown with the schedule (e.g. why it is paused)')
  .action(async (scheduleId, opts, cmd) => {
    const { scheduleCreateCommand } = await import('./commands/schedule/schedule.js');
    await scheduleCreateCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('list')
  .description('list schedules: workflow, spec, state, next run, recent runs')
  .option('--json', 'print as JSON')
  .action(async (opts, cmd) => {
    const { scheduleListCommand } = await import('./commands/schedule/schedule.js');
    await scheduleListCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('describe')
  .description('show a schedule: spec, policies, next 5 runs, recent runs with their workflow ids, note')
  .argument('<schedule-id>')
  .option('--json', 'print as JSON')
  .action(async (scheduleId, opts, cmd) => {
    const { scheduleDescribeCommand } = await import('./commands/schedule/schedule.js');
    await scheduleDescribeCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('pause')
  .description('stop starting runs (runs already going are not touched)')
  .argument('<schedule-id>')
  .option('--note <text>', 'why; shown with the schedule')
  .action(async (scheduleId, opts, cmd) => {
    const { schedulePauseCommand } = await import('./commands/schedule/schedule.js');
    await schedulePauseCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('unpause')
  .description('start runs again at the next scheduled time')
  .argument('<schedule-id>')
  .option('--note <text>', 'why; shown with the schedule')
  .action(async (scheduleId, opts, cmd) => {
    const { scheduleUnpauseCommand } = await import('./commands/schedule/schedule.js');
    await scheduleUnpauseCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('trigger')
  .description("start a run now, under the schedule's overlap policy unless --overlap is given")
  .argument('<schedule-id>')
  .option('--overlap <policy>', `overlap policy for this run: ${OVERLAPS}`)
  .action(async (scheduleId, opts, cmd) => {
    const { scheduleTriggerCommand } = await import('./commands/schedule/schedule.js');
    await scheduleTriggerCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

schedule
  .command('delete')
  .description('delete a schedule (workflows it started keep running)')
  .argument('<schedule-id>')
  .action(async (scheduleId, _opts, cmd) => {
    const { scheduleDeleteCommand } = await import('./commands/schedule/schedule.js');
    await scheduleDeleteCommand(scheduleId, cmd.optsWithGlobals(), out);
  });

// Decisions on a running workflow. Approvals are Workflow Updates: a refused one (not an
// approver, own request, already approved or decided) prints the workflow's reason and exits 1.
program
  .command('approve')
  .description("approve a workflow's pending change, as one of its approvers")
  .argument('<workflow-id>', 'the workflow waiting for approval, as `vaultops list` shows it')
  .requiredOption('--as <name>', 'who approves, as the approval policy names them')
  .option('--reason <text>', 'why, e.g. a change ticket; shown in `vaultops status`')
  .option('--json', 'print the approval state as JSON')
  .action(async (workflowId, opts, cmd) => {
    const { decisionCommand } = await import('./commands/approve.js');
    await decisionCommand('approve', workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

program
  .command('reject')
  .description("reject a workflow's pending change; it undoes its finished steps and fails")
  .argument('<workflow-id>', 'the workflow waiting for approval')
  .requiredOption('--as <name>', 'who rejects: an approver, or the requester withdrawing the change')
  .requiredOption('--reason <text>', 'why the change is rejected')
  .option('--json', 'print the approval state as JSON')
  .action(async (workflowId, opts, cmd) => {
    const { decisionCommand } = await import('./commands/approve.js');
    await decisionCommand('reject', workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

program
  .command('cancel')
  .description('cancel a running workflow; it undoes its finished steps, then closes as cancelled')
  .argument('<workflow-id>', 'the workflow to cancel')
  .action(async (workflowId, _opts, cmd) => {
    const { cancelCommand } = await import('./commands/approve.js');
    await cancelCommand(workflowId, cmd.optsWithGlobals(), out);
  });

// Emergency access: N-of-M approval, a time-boxed token delivered only to the requester (sealed to
// a key that never leaves this machine), revoked when its time is up or on request, audited.
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
    const { requestCommand } = await import('./commands/break-glass/break-glass.js');
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
    const { collectCommand } = await import('./commands/break-glass/break-glass.js');
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
    const { revokeCommand } = await import('./commands/break-glass/break-glass.js');
    await revokeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

breakGlass
  .command('status')
  .description('the audit trail: who asked, why, who approved, accessor, created, expires, revoked')
  .argument('<workflow-id>', 'the break-glass request')
  .option('--json', 'print as JSON')
  .action(async (workflowId, opts, cmd) => {
    const { breakGlassStatusCommand } = await import('./commands/break-glass/break-glass.js');
    await breakGlassStatusCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Secret rotation (secretRotationWorkflow): options stay strings here and are checked in
// commands/secret-args.ts, so this file loads neither zod nor Temporal.
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
    const { secretRotateCommand } = await import('./commands/rotation/secret.js');
    await secretRotateCommand(path, cmd.optsWithGlobals() as SecretRotateOptions, out);
  });

secret
  .command('status')
  .description('the labels of a secret (current, previous, pending, holder, state) and its rotation')
  .argument('<mount/path>', 'the KV v2 secret (its metadata is read with VAULT_ADDR/VAULT_TOKEN)')
  .option('--mount <mount>', 'the KV mount, when its path has a slash')
  .option('--json', 'print as JSON')
  .action(async (path, opts, cmd) => {
    const { secretStatusCommand } = await import('./commands/rotation/view.js');
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
    const { secretRollbackCommand } = await import('./commands/rotation/secret.js');
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
    const { secretHistoryCommand } = await import('./commands/rotation/view.js');
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
    const { secretScheduleCommand } = await import('./commands/rotation/schedule.js');
    await secretScheduleCommand(paths, cmd.optsWithGlobals() as SecretScheduleOptions, out);
  });

// Dynamic database credentials kept alive: renewed, replaced before the max TTL, delivered, and
// revoked when the keeper is cancelled (`vaultops cancel <id>`).
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
    const { leaseKeepCommand } = await import('./commands/lease/lease.js');
    await leaseKeepCommand(credentials, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

const ca = program
  .command('ca')
  .description(
    'the CA: a root key in the HSM, the intermediate bootstrapped from a spec, rotated with zero downtime',
  );

ca.command('init-root')
  .description(
    "make (or adopt) the root key in the worker's HSM and a self-signed root certificate, kept in KV",
  )
  .requiredOption('--label <label>', 'the key label on the token, e.g. vaultops-root-r1')
  .requiredOption('--subject <dn>', 'the root\'s name, e.g. "CN=Example Root CA R1, O=Example"')
  .option('--key-type <type>', 'ec-p384 (default), ec-p256, rsa-4096 or rsa-2048')
  .option('--ttl <duration>', 'how long the root is valid (default 3650d)')
  .option('--adopt', 'use the key already on the token under --label; never make one')
  .option(
    '--store <mount/path>',
    'the KV v2 secret that keeps the certificate (default secret/vaultops/ca/root)',
  )
  .option('--out <file>', 'also write the certificate (public) here, read with VAULT_ADDR/VAULT_TOKEN')
  .option('--cluster <name>', 'configured Vault cluster (default: "default")')
  .action(async (opts, cmd) => {
    const { caInitRootCommand } = await import('./commands/ca/ca.js');
    await caInitRootCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

ca.command('bootstrap')
  .description(
    'an intermediate CA from a spec file: key and CSR in Vault, signed by the HSM root after approval, roles',
  )
  .requiredOption(
    '--spec <file>',
    'the CA spec (YAML): mount, common_name, issuer_name, ttl, base_url, roles, approval',
  )
  .option('--as <name>', 'who asks (the requester; may reject, never approve)')
  .option('--cluster <name>', 'configured Vault cluster (default: "default")')
  .action(async (opts, cmd) => {
    const { caBootstrapCommand } = await import('./commands/ca/ca.js');
    await caBootstrapCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Zero-downtime intermediate rotation: a new issuer beside the default, trusted before it is used,
// the old one retired after the grace period. The roles' longest leaf TTL bounds the grace.
const repeat = (value: string, previous: string[] = []) => [...previous, value];
ca.command('rotate')
  .description(
    "rotate a mount's intermediate: new issuer signed by the HSM root after approval, default switched, old retired",
  )
  .requiredOption('--mount <path>', 'the intermediate PKI mount, e.g. pki_int')
  .requiredOption('--issuer-name <name>', 'the new issuer, e.g. int-2027 (its key: <name>-key)')
  .requiredOption('--common-name <cn>', 'the new intermediate\'s name, e.g. "Example Intermediate CA 2027"')
  .requiredOption('--base-url <url>', 'where clients reach Vault, for AIA/CRL/OCSP URLs')
  .option('--key-type <type>', "ec (default) or rsa: may differ from the old issuer's")
  .option('--key-bits <bits>', 'ec 256 (default)/384/521; rsa 2048 (default)/3072/4096')
  .option('--ttl <duration>', 'how long the new intermediate is valid (default 1825d)')
  .option('--root <mount/path>', 'the KV v2 secret of the root (default secret/vaultops/ca/root)')
  .option(
    '--new-root <mount/path>',
    'root rotation: a new root (from ca init-root) signs; the old cross-signs; the old retires after the grace',
  )
  .option(
    '--grace <duration>',
    "both issuers trusted this long (default and minimum: the roles' longest leaf TTL)",
  )
  .option('--crl-signing <duration>', 'then the old issuer signs only CRLs/OCSP this long (default 7d)')
  .option('--approver <name>', "who may approve the root's signature (repeatable)", repeat)
  .option('--quorum <n>', 'how many approvers must approve (default 1)')
  .option('--approval-timeout <duration>', 'how long the approvers have (default 24h)')
  .option(
    '--roles-follow <role>',
    'a role whose issuer and key type move to the new issuer (repeatable)',
    repeat,
  )
  .option('--keep-old-issuer', 'keep the old issuer read-only instead of deleting it after it expires')
  .option('--as <name>', 'who asks (the requester; may reject, never approve)')
  .option('--cluster <name>', 'configured Vault cluster (default: "default")')
  .action(async (opts, cmd) => {
    const { caRotateCommand } = await import('./commands/ca/rotate.js');
    await caRotateCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Certificates issued through Vault PKI: their inventory (`list`) and what endpoints serve (`discover`).
const cert = program.command('cert').description('certificates: issue, renew, revoke, list, discover');

// One certificateWorkflow per certificate: policy before issuance, key made on the worker and
// written 0600, renewed at 2/3 of its life (or --renew-before), revoked with CRL and OCSP proof.
cert
  .command('issue')
  .description('issue a certificate through a role, deploy it on the worker, keep it renewed')
  .requiredOption('--mount <mount>', 'the PKI mount, e.g. pki_int')
  .requiredOption('--role <role>', 'the role to issue through')
  .requiredOption('--cn <name>', 'the common name, e.g. www.example.com')
  .option('--alt-name <name>', 'a DNS name to add (repeatable)', repeat)
  .option('--ip-san <ip>', 'an IP address to add (repeatable)', repeat)
  .option('--ttl <duration>', "how long it is valid, e.g. 720h (default: the role's)")
  .option('--key-type <type>', 'ec, rsa or ed25519, when the role allows any (default ec)')
  .option('--key-bits <bits>', 'with --key-type, e.g. 384 or 3072')
  .requiredOption('--cert-file <path>', 'where the certificate goes on the worker')
  .option('--key-file <path>', 'where the private key goes on the worker (mode 0600); not with --csr')
  .option('--chain-file <path>', 'where the issuing CA chain goes')
  .option(
    '--reload-cmd <command>',
    'run after each deploy, e.g. "systemctl reload nginx" (a failure is reported)',
  )
  .option('--renew-before <duration>', 'renew this long before expiry (default: at 2/3 of the lifetime)')
  .option('--policy <file>', 'a certificate policy (YAML/JSON) checked before any request reaches Vault')
  .option('--csr <file>', 'sign this CSR instead: the key stays with you')
  .option('--once', 'issue, deploy and record, then end (no renewals)')
  .option('--cluster <name>', 'configured Vault cluster (default: "default")')
  .option('--timeout <seconds>', 'how long to wait for the first certificate', seconds, 300)
  .action(async (opts, cmd) => {
    const { certIssueCommand } = await import('./commands/cert/cert.js');
    await certIssueCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

cert
  .command('renew')
  .description('renew a certificate now; prints the new serial')
  .argument('<workflow-id>', 'the certificate workflow, e.g. cert:default:pki_int:www.example.com')
  .action(async (workflowId, _opts, cmd) => {
    const { certRenewCommand } = await import('./commands/cert/cert.js');
    await certRenewCommand(workflowId, cmd.optsWithGlobals(), out);
  });

cert
  .command('revoke')
  .description('revoke a certificate, check the CRL and OCSP say so, and end its workflow')
  .argument('<workflow-id>', 'the certificate workflow')
  .option('--remove-files', 'also remove the deployed certificate, key and chain files')
  .action(async (workflowId, opts, cmd) => {
    const { certRevokeCommand } = await import('./commands/cert/cert.js');
    await certRevokeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

cert
  .command('list')
  .description('the certificate inventory, read with VAULT_ADDR/VAULT_TOKEN')
  .option('--format <format>', 'table (default), json or csv')
  .option('--mount <mount>', 'only certificates issued by this PKI mount, e.g. pki_int')
  .option('--expiring-within <duration>', 'only those expiring within this long (or expired), e.g. 30d')
  .option('--store <mount/path>', 'the inventory in KV v2 (default secret/vaultops/cert-inventory)')
  .action(async (opts) => {
    const { certListCommand } = await import('./commands/cert/list.js');
    await certListCommand(opts, out);
  });

cert
  .command('discover')
  .description(
    'the certificate each endpoint serves, and whether it is in the inventory; exit 1 if any endpoint is ' +
      'unreachable or serves a certificate that is expired, or that the inventory says is revoked or renewed since',
  )
  .argument('<host:port...>', 'TLS endpoints, e.g. example.com:443 10.0.0.5:8443 [2001:db8::1]:443')
  .option('--format <format>', 'table (default) or json')
  .option('--servername <name>', 'the SNI name to send (default: the host, unless it is an IP address)')
  .option('--timeout <duration>', 'per endpoint, e.g. 5s (default)')
  .option('--store <mount/path>', 'the inventory in KV v2 (default secret/vaultops/cert-inventory)')
  .action(async (endpoints, opts) => {
    const { certDiscoverCommand } = await import('./commands/cert/discover.js');
    await certDiscoverCommand(endpoints, opts, out);
  });

// Namespace migration (issue 11): the plan is read with VAULT_ADDR/VAULT_TOKEN; no secret value is printed.
const migrate = program
  .command('migrate')
  .description('move a namespace (mounts, policies, auth roles, KV history, keys) into another');

migrate
  .command('plan')
  .description(
    'inventory the source namespace and classify each item: exact, caveat (with the action to take), or not migratable; list conflicts and gaps at the target',
  )
  .requiredOption('--from <namespace>', 'the source namespace, e.g. admin/team-a ("/" for the root)')
  .requiredOption('--to <namespace>', 'the target namespace, e.g. admin/team-b')
  .option('--format <format>', 'table (default) or json')
  .action(async (opts) => {
    const { migratePlanCommand } = await import('./commands/migrate/plan.js');
    await migratePlanCommand(opts, out);
  });

migrate
  .command('run')
  .description(
    'migrate a namespace: plan, approval, copy (KV history in batches), verify, freeze, delta copy, cutover, grace, retire after a second approval; rollback before cutover',
  )
  .requiredOption('--from <namespace>', 'the source namespace, e.g. admin/team-a ("/" for the root)')
  .requiredOption('--to <namespace>', 'the target namespace, e.g. admin/team-b (created if missing)')
  .option(
    '--approver <name>',
    'who may approve (repeatable); the same approvers approve the retirement',
    repeat,
  )
  .option('--quorum <n>', 'how many distinct approvers must approve (default 1)')
  .option('--approval-timeout <duration>', 'how long each approval may take (default 24h)')
  .option('--grace <duration>', 'from cutover to the retirement approval (default 24h)')
  .option(
    '--retire-source',
    'after the second approval, DELETE what was migrated at the source (default: only mark it)',
  )
  .option(
    '--prefix <prefix>',
    'within one namespace (Vault Community): target mounts and policies are <prefix><name>',
  )
  .option('--id <id>', 'the migration id (default: date and random); the workflow is migrate:<id>')
  .option('--cluster <name>', 'the source cluster (default: default)')
  .option('--target-cluster <name>', 'the target cluster (default: the source cluster)')
  .option(
    '--ledger-mount <mount>',
    "the KV v2 mount in the target's root namespace for the ledger (default secret)",
  )
  .option('--batch-size <n>', 'KV secrets per batch (default 200)')
  .option('--as <name>', 'who asks (default $USER): may not approve')
  .action(async (_opts, cmd) => {
    const { migrateRunCommand } = await import('./commands/migrate/run.js');
    await migrateRunCommand(cmd.optsWithGlobals(), out);
  });

migrate
  .command('freeze')
  .description(
    'confirm that writes to the source have stopped: the migration copies the delta, then cuts over',
  )
  .argument('<workflow-id>', 'the migration, e.g. migrate:20261123-a1b2c3')
  .requiredOption('--as <name>', 'who confirms')
  .option('--reason <text>', 'e.g. the change ticket')
  .action(async (workflowId, opts, cmd) => {
    const { migrateFreezeCommand } = await import('./commands/migrate/run.js');
    await migrateFreezeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Disaster recovery: raft snapshots streamed to a store on a schedule (protect), proven restorable
// by restoring them into a standby and comparing (drill).
const dr = program
  .command('dr')
  .description('disaster recovery: scheduled raft snapshots with a manifest, and restore drills');

dr.command('protect')
  .description('snapshot a cluster from its leader into the snapshot store: on a schedule (--every) or --now')
  .option('--every <interval>', 'create a Temporal Schedule running protection this often, e.g. 1h')
  .option('--now', 'run one protection now and wait for its manifest entry')
  .option('--cluster <name>', 'configured Vault cluster to protect (default: "default")', clusterName)
  .option('--keep <n>', 'retention: keep the newest N snapshots (default 7)')
  .option('--daily <n>', 'retention: also the newest of each of the last N days (default 7)')
  .option('--weekly <n>', 'retention: also the newest of each of the last N weeks (default 4)')
  .option('--paused', 'with --every: create the schedule paused')
  .action(async (opts, cmd) => {
    const { drProtectCommand } = await import('./commands/dr/dr.js');
    await drProtectCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

dr.command('snapshots')
  .description(
    'list the snapshot manifest: id, status (usable, verified, failed), size, raft index, last drill',
  )
  .option(
    '--dir <dir>',
    "the worker's snapshot directory (default: $VAULTOPS_SNAPSHOT_DIR, else <state dir>/snapshots)",
  )
  .option('--json', 'print the manifest entries as JSON')
  .action(async (opts) => {
    const { drSnapshotsCommand } = await import('./commands/dr/dr.js');
    await drSnapshotsCommand(opts, out);
  });

dr.command('drill')
  .description(
    'restore the newest usable snapshot into a standby, compare, report RPO and restore time; exit 1 if it differs',
  )
  .requiredOption('--from <cluster>', 'the protected cluster whose snapshot is restored', clusterName)
  .requiredOption(
    '--into <cluster>',
    'the standby or scratch cluster to restore into (its data is replaced)',
    clusterName,
  )
  .option('--snapshot <id>', 'restore this snapshot instead of the newest usable one')
  .option('--json', 'print the report as JSON')
  .action(async (opts, cmd) => {
    const { drDrillCommand } = await import('./commands/dr/dr.js');
    await drDrillCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Failover: detection by probe quorum, approval, fencing of the old primary, restore of the newest
// verified snapshot into the standby, unseal by the key holders (shares straight from their CLI),
// verification, switch. Rolls forward once the old primary is fenced.
dr.command('failover')
  .description(
    'fail over from a down primary to a standby: detect, approve, fence, restore, unseal, verify, switch',
  )
  .requiredOption(
    '--from <cluster>',
    'the primary being failed over (fenced: its answering nodes are sealed)',
    clusterName,
  )
  .requiredOption('--to <cluster>', 'the standby that takes over (its data is replaced)', clusterName)
  .option('--force', 'skip detection: you declare the primary down')
  .option('--detect <failures/rounds>', 'failed probe rounds that declare the primary down (default 3/5)')
  .option('--probe-every <duration>', 'time between probe rounds (default 1s)')
  .option('--probe-timeout <duration>', 'how long a node has to answer a probe (default 2.5s)')
  .option('--auto-approve', 'a pre-approved automatic policy: no approval gate')
  .option('--approver <name>', 'who may approve the failover (repeatable)', repeat)
  .option('--quorum <n>', 'how many approvers must approve (default 1)')
  .option('--approval-timeout <duration>', 'how long the approvers have (default 1h)')
  .option('--as <name>', 'who asks (the requester; may reject, never approve)')
  .option('--snapshot <id>', 'restore this snapshot instead of the newest one')
  .option('--hook <command>', 'run after the switch (sh -c), with VAULTOPS_DR_NEW_PRIMARY set')
  .option(
    '--fence-watch <duration>',
    'how long unreachable old-primary nodes are watched and sealed when they answer (default 1h)',
  )
  .option(
    '--replication',
    'promote the standby as a Vault Enterprise DR secondary (default: when it reports DR mode secondary)',
  )
  .option('--no-replication', 'restore a snapshot even where the standby is an Enterprise DR secondary')
  .option(
    '--dr-operation-token-file <path>',
    'DR-replication path: the file ON THE WORKER holding the DR operation batch token',
  )
  .action(async (opts, cmd) => {
    const { drFailoverCommand } = await import('./commands/dr/failover.js');
    await drFailoverCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

// Failback: the acting primary's final snapshot, its fencing (the gap measured), restore into the
// repaired old primary (unsealed by the key holders), verification, switch back.
dr.command('failback')
  .description(
    'move back to the repaired old primary: check, approve, snapshot, fence, restore, unseal, verify, switch',
  )
  .requiredOption(
    '--from <cluster>',
    'the acting primary (snapshotted one last time, then fenced)',
    clusterName,
  )
  .requiredOption('--to <cluster>', 'the repaired old primary (its data is replaced)', clusterName)
  .option('--auto-approve', 'a pre-approved automatic policy: no approval gate')
  .option('--approver <name>', 'who may approve the failback (repeatable)', repeat)
  .option('--quorum <n>', 'how many approvers must approve (default 1)')
  .option('--approval-timeout <duration>', 'how long the approvers have (default 1h)')
  .option('--as <name>', 'who asks (the requester; may reject, never approve)')
  .option('--hook <command>', 'run after the switch (sh -c), with VAULTOPS_DR_NEW_PRIMARY set')
  .action(async (opts, cmd) => {
    const { drFailbackCommand } = await import('./commands/dr/failback.js');
    await drFailbackCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

dr.command('primary')
  .description('which cluster is primary now (the last failover or failback decides), and its addresses')
  .option(
    '--dir <dir>',
    "the worker's snapshot directory, where the record is (default: $VAULTOPS_SNAPSHOT_DIR, else <state dir>/snapshots)",
  )
  .option('--env', 'print `export VAULT_ADDR=<primary>` for eval in a shell')
  .option('--json', 'print the resolution as JSON')
  .action(async (opts, cmd) => {
    const { drPrimaryCommand } = await import('./commands/dr/primary.js');
    await drPrimaryCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
  });

dr.command('unseal-share')
  .description(
    "send your unseal key share straight to a failover's standby (read without echo); the workflow learns the progress only",
  )
  .argument('<workflow-id>', 'the failover or failback workflow, e.g. dr-failover:primary:standby')
  .requiredOption(
    '--cluster <name>',
    'the cluster the failover or failback restores into (checked against the workflow)',
    clusterName,
  )
  .option('--node <url>', "send to this node address instead of the worker's (repeatable)", repeat)
  .action(async (workflowId, opts, cmd) => {
    const { drUnsealShareCommand } = await import('./commands/dr/failover.js');
    const { errors } = await drUnsealShareCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    // A node that refused the share: the holder must know, and so must a script.
    if (errors.length > 0) process.exitCode = 1;
  });

program
  .command('codec-server')
  .description(
    "serve the Temporal UI's codec endpoint with the worker's keys, for Vault tokens with a policy",
  )
  .requiredOption(
    '--ui-origin <url...>',
    'the Temporal UI origin(s) allowed to call, e.g. https://temporal.example.com',
  )
  .option('--policy <name>', 'the Vault policy a token must carry', 'vaultops-codec')
  .option('--port <port>', 'port on 127.0.0.1 (default: a free port)', port)
  .action(async (opts, cmd) => {
    const { codecServerCommand } = await import('./commands/codec-server.js');
    await codecServerCommand({ ...opts, config: cmd.optsWithGlobals().config }, out);
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
