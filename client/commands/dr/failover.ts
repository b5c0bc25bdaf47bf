// `vaultops dr failover` starts drFailoverWorkflow and says how to approve, unseal and follow it.
// `vaultops dr unseal-share <workflow-id> --cluster <standby>` is a key holder's turn: the share is
// read from the terminal without echo (or from stdin when it is not a terminal), sent STRAIGHT from
// this process to each node's sys/unseal (as `bao operator unseal` does), and the workflow is told
// the progress only (k of n). The share never reaches Temporal, the worker or any log.

import { DEFAULT_DETECTION } from '../../../common/dr/detect.js';
import {
  describeUnseal,
  type NodeSealState,
  sealStateOf,
  type UnsealProgressReport,
} from '../../../common/dr/failover.js';
import type { SealObservation } from '../../../common/preflight/report.js';
import { drFailoverStateQuery, drUnsealProgressSignal } from '../../../workflows/dr/messages.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { userVaultClient } from '../../user-vault.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';
import { CLUSTER } from './cluster-args.js';
import { type DrFailoverOptions, parseDrFailover } from './failover-args.js';

type Out = (line: string) => void;

export async function drFailoverCommand(opts: DrFailoverOptions, out: Out): Promise<string> {
  const requester = opts.as ?? process.env.USER ?? 'unknown';
  const input = parseDrFailover(opts, requester);
  // An Enterprise DR secondary is promoted instead (client/commands/dr/replication.ts).
  const replication = await import('./replication.js');
  const path = await replication.failoverPathFor(opts);
  out(
    `Failover path: ${path.path === 'replication' ? 'DR replication promotion' : 'snapshot restore'} (${path.why})`,
  );
  if (path.path === 'replication') return replication.drReplicationFailoverCommand(opts, out);
  const target = resolveTemporal(opts);
  const workflowId = `dr-failover:${input.fromCluster}:${input.toCluster}`;
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'drFailoverWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `a failover ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  const d = { ...DEFAULT_DETECTION, ...input.detection };
  out(`Failover ${input.fromCluster} -> ${input.toCluster}: workflow ${workflowId}`);
  out(
    input.force
      ? `  detection: skipped (--force: you declare ${input.fromCluster} down)`
      : `  detection: ${d.failuresToDeclare} of ${d.rounds} probe rounds, ${d.intervalMs / 1000} s apart, must fail; a primary that answers is not failed over`,
  );
  if (input.approval) {
    out(
      `  then ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve before anything is fenced:`,
    );
    out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  } else out('  approval: pre-approved (--auto-approve)');
  out(
    `  unseal, once the status shows "unseal: k of n shares": each key holder of ${input.fromCluster}'s keys runs`,
  );
  out(`    ${VAULTOPS} dr unseal-share ${workflowId} --cluster ${input.toCluster}`);
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
  return workflowId;
}

export interface DrUnsealShareOptions extends GlobalOptions {
  cluster: string;
  /** Send to these node addresses instead of those the worker reaches the standby at. */
  node?: string[];
}

/**
 * The outcome per node, and the progress the workflow was told. Nodes that refused the share are in
 * `errors`: the CLI action exits 1 for them; this function, called as a library by tests and
 * benches, leaves the process alone.
 */
export interface UnsealShareResult {
  progress: UnsealProgressReport;
  errors: { address: string; error: string }[];
}

export async function drUnsealShareCommand(
  workflowId: string,
  opts: DrUnsealShareOptions,
  out: Out,
  readShare: () => Promise<string> = readShareFromTerminal,
): Promise<UnsealShareResult> {
  if (!CLUSTER.test(opts.cluster ?? ''))
    throw new UsageError('--cluster must be the cluster the failover or failback restores into');
  const target = resolveTemporal(opts);
  return withClient(target, async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const state = await handle.query(drFailoverStateQuery).catch((err: unknown) => {
      throw new UsageError(
        `${workflowId} is not a failover or failback that answers (${err instanceof Error ? err.message : err}); ${VAULTOPS} list shows the running ones`,
      );
    });
    if (state.toCluster !== opts.cluster)
      throw new UsageError(
        `${workflowId} restores into ${state.toCluster}, not ${opts.cluster}: no share was sent`,
      );
    if (!state.unseal?.waiting)
      throw new UsageError(
        state.unseal
          ? `${opts.cluster} is not waiting for shares (${state.unseal.line}); no share was sent`
          : `the failover has not reached its unseal step yet (${VAULTOPS} status ${workflowId}); no share was sent`,
      );
    const nodes = opts.node?.length ? opts.node : state.unseal.nodes;
    const share = (await readShare()).trim();
    if (share === '') throw new UsageError('no unseal key share was given');
    const errors: UnsealShareResult['errors'] = [];
    const states = await Promise.all(
      nodes.map(async (address): Promise<NodeSealState> => {
        try {
          return sealStateOf(address, await sendShare(address, share));
        } catch (err) {
          // The client's messages name the method, path and Vault's reason; never the body sent.
          errors.push({ address, error: err instanceof Error ? err.message : String(err) });
          return { address, sealed: null, progress: 0, threshold: 0, shares: 0, type: null };
        }
      }),
    );
    const progress: UnsealProgressReport = { cluster: opts.cluster, nodes: states };
    await handle.signal(drUnsealProgressSignal, progress);
    out(`${opts.cluster}: ${describeUnseal(progress)}`);
    for (const e of errors) out(`  ${e.address}: the share was not taken: ${e.error}`);
    return { progress, errors };
  });
}

async function sendShare(address: string, share: string): Promise<SealObservation> {
  const [{ unseal }, vault] = await Promise.all([import('../../../vault/sys.js'), userVaultClient(address)]);
  try {
    return await unseal(vault, share);
  } finally {
    await vault.close();
  }
}

/** The share from the terminal, not echoed; or the first line of stdin when it is not a terminal. */
export async function readShareFromTerminal(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split('\n')[0] ?? '';
  }
  process.stderr.write('Unseal key share (not shown): ');
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new UsageError('cancelled: no share was sent'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
