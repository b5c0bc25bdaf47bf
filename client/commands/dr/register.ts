// Disaster recovery: raft snapshots streamed to a store on a schedule (protect), proven restorable
// by restoring them into a standby and comparing (drill).
import { clusterName, type Print, type Program, repeat } from '../cli-options.js';

export function registerDr(program: Program, out: Print): void {
  const dr = program
    .command('dr')
    .description('disaster recovery: scheduled raft snapshots with a manifest, and restore drills');

  dr.command('protect')
    .description(
      'snapshot a cluster from its leader into the snapshot store: on a schedule (--every) or --now',
    )
    .option('--every <interval>', 'create a Temporal Schedule running protection this often, e.g. 1h')
    .option('--now', 'run one protection now and wait for its manifest entry')
    .option('--cluster <name>', 'configured Vault cluster to protect (default: "default")', clusterName)
    .option('--keep <n>', 'retention: keep the newest N snapshots (default 7)')
    .option('--daily <n>', 'retention: also the newest of each of the last N days (default 7)')
    .option('--weekly <n>', 'retention: also the newest of each of the last N weeks (default 4)')
    .option('--paused', 'with --every: create the schedule paused')
    .action(async (opts, cmd) => {
      const { drProtectCommand } = await import('./dr.js');
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
      const { drSnapshotsCommand } = await import('./dr.js');
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
      const { drDrillCommand } = await import('./dr.js');
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
      const { drFailoverCommand } = await import('./failover.js');
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
      const { drFailbackCommand } = await import('./failback.js');
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
      const { drPrimaryCommand } = await import('./primary.js');
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
      const { drUnsealShareCommand } = await import('./failover.js');
      const { errors } = await drUnsealShareCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
      // A node that refused the share: the holder must know, and so must a script.
      if (errors.length > 0) process.exitCode = 1;
    });
}
