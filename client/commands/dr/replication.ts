// `vaultops dr failover` on a Vault Enterprise DR replication pair: the path is chosen here, from
// the standby's own sys/replication/dr/status (unauthenticated, read with the configuration's
// address and TLS for that cluster, or without a configuration the running dev stack's address
// for it; no token is sent), unless --replication / --no-replication says; the output says which
// path and why. The DR-replication path starts
// drReplicationFailoverWorkflow under the same workflow id as a snapshot failover, so only one
// failover of a pair runs at a time. The DR operation token is named by a file ON THE WORKER
// (--dr-operation-token-file) and read there: this process never reads it, nor sends it anywhere.
import type { VaultIntegrationConfig } from '../../../common/config/schema.js';
import { DEFAULT_STATE_DIR, readRunningStack, type StackState } from '../../../common/dev-state.js';
import type { DrReplicationStatus } from '../../../common/dr/replication.js';
import { chooseFailoverPath, type FailoverPath } from '../../../common/dr/replication.js';
import type { DrReplicationFailoverInput } from '../../../workflows/dr/replication-failover.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';
import { type DrFailoverOptions, parseDrFailover } from './failover-args.js';

type Out = (line: string) => void;

/**
 * The standby's DR status as the CLI's configuration (else the running dev stack) reaches it, or
 * why it could not be read; `unnamed` when nothing the CLI knows names the cluster: no error, the
 * standby's address is simply not known here.
 */
export async function readStandbyReplication(
  opts: Pick<DrFailoverOptions, 'config'>,
  cluster: string,
  stateDir = DEFAULT_STATE_DIR,
): Promise<{ status: DrReplicationStatus } | { error: string } | { unnamed: string }> {
  const [{ VaultClient, tlsFromConfig }, { readDrStatus }] = await Promise.all([
    import('../../../vault/client.js'),
    import('../../../vault/replication.js'),
  ]);
  let config: VaultIntegrationConfig;
  try {
    const file = opts.config ?? process.env.VAULTOPS_CONFIG;
    const found = file ? await clusterAddressing(file, cluster) : await devStackAddressing(stateDir, cluster);
    if (typeof found === 'string') return file ? { error: found } : { unnamed: found };
    config = found;
  } catch (err) {
    return { error: `the configuration could not be read: ${err instanceof Error ? err.message : err}` };
  }
  // A quick look, not the worker's patient client: one round over the nodes, short timeouts.
  const vault = new VaultClient({
    addresses: [config.address, ...config.ha_addresses],
    timeoutMs: 5000,
    retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
    tls: tlsFromConfig(config),
  });
  try {
    return { status: await readDrStatus(vault) };
  } catch (err) {
    return { error: (err instanceof Error ? err.message : String(err)).slice(0, 200) };
  } finally {
    await vault.close();
  }
}

/**
 * The cluster's addresses and TLS from the worker's configuration file, its authentication left
 * out: the CLI sends no token, and the file's ${SECRET} references need not be set here. A string
 * says why there is none.
 */
async function clusterAddressing(file: string, cluster: string): Promise<VaultIntegrationConfig | string> {
  const [{ parse, stringify }, { readConfigFile }] = await Promise.all([
    import('yaml'),
    import('../../../common/config/file.js'),
  ]);
  const doc = parse(readConfigFile(file)) as Record<string, unknown> | null;
  const withoutAuth = (c: unknown) => {
    if (c === null || typeof c !== 'object') return c;
    const { authentication: _dropped, ...rest } = c as Record<string, unknown>;
    return rest;
  };
  const clusters = (doc?.vault_clusters ?? {}) as Record<string, unknown>;
  const text = stringify({
    vault_integration: withoutAuth(doc?.vault_integration),
    vault_clusters: Object.fromEntries(Object.entries(clusters).map(([name, c]) => [name, withoutAuth(c)])),
  });
  return (await addressingFrom(text, file, cluster)) ?? `"${cluster}" is not a cluster in ${file}`;
}

/**
 * Without a configuration, `vaultops dev --dr` knows its pair: the state file of a running dev
 * stack holds each cluster's address (plain HTTP, as the dev servers listen). A string says,
 * without alarm, that nothing names the cluster.
 */
async function devStackAddressing(
  stateDir: string,
  cluster: string,
): Promise<VaultIntegrationConfig | string> {
  let stack: StackState | undefined;
  // As resolveTemporal: with $TEMPORAL_ADDRESS the CLI talks to another worker than the dev stack's.
  if (!process.env.TEMPORAL_ADDRESS)
    try {
      stack = readRunningStack(stateDir);
    } catch {
      // An unreadable state file is `vaultops dev`'s to report; here it only names nothing.
    }
  const unnamed = `no configuration names ${cluster}: no --config or $VAULTOPS_CONFIG is given and no running \`vaultops dev --dr\` this CLI talks to has it, so there is no DR secondary to look at; --replication forces the DR-replication path`;
  const address = stack?.clusters?.[cluster];
  if (!stack || !address) return unnamed;
  const { stringify } = await import('yaml');
  const text = stringify({
    vault_integration: { address: stack.vaultAddress },
    vault_clusters: { [cluster]: { address } },
  });
  return (await addressingFrom(text, 'the dev stack', cluster)) ?? unnamed;
}

/** One cluster's settings from configuration text, with the environment's VAULT_* left out. */
async function addressingFrom(
  text: string,
  source: string,
  cluster: string,
): Promise<VaultIntegrationConfig | undefined> {
  const [{ parseConfig }, { vaultClusterConfigs }] = await Promise.all([
    import('../../../common/config/parse.js'),
    import('../../../common/config/schema.js'),
  ]);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VAULT_')));
  return vaultClusterConfigs(parseConfig(text, env, source)).get(cluster);
}

/** The path for these options: the flag, else the standby's own word. */
export async function failoverPathFor(
  opts: DrFailoverOptions,
  stateDir = DEFAULT_STATE_DIR,
): Promise<{ path: FailoverPath; why: string }> {
  const standby =
    opts.replication === undefined ? await readStandbyReplication(opts, opts.to, stateDir) : { error: '' };
  const chosen: { path: FailoverPath; why: string } =
    'unnamed' in standby
      ? { path: 'snapshot', why: standby.unnamed }
      : chooseFailoverPath(opts.replication, standby);
  if (chosen.path === 'snapshot' && opts.drOperationTokenFile !== undefined)
    throw new UsageError(
      `--dr-operation-token-file is for the DR-replication path, and this failover restores a snapshot (${chosen.why})`,
    );
  return chosen;
}

/** The workflow input; every problem is a UsageError saying what to fix. */
export function parseDrReplicationFailover(
  opts: DrFailoverOptions,
  requester: string,
): DrReplicationFailoverInput {
  const base = parseDrFailover(opts, requester);
  if (base.snapshotId)
    throw new UsageError(
      '--snapshot has no meaning when a DR secondary is promoted: drop it, or give --no-replication',
    );
  if (opts.drOperationTokenFile !== undefined && !opts.drOperationTokenFile.startsWith('/'))
    throw new UsageError(
      '--dr-operation-token-file must be an absolute path on the worker, e.g. /run/secrets/dr-op-token',
    );
  return {
    fromCluster: base.fromCluster,
    toCluster: base.toCluster,
    ...(base.force ? { force: true } : {}),
    ...(base.detection ? { detection: base.detection } : {}),
    ...(base.approval ? { approval: base.approval } : {}),
    ...(base.autoApprove ? { autoApprove: base.autoApprove } : {}),
    ...(base.hook ? { hook: base.hook } : {}),
    ...(base.fenceWatchMs ? { fenceWatchMs: base.fenceWatchMs } : {}),
    ...(opts.drOperationTokenFile ? { drOperationTokenFile: opts.drOperationTokenFile } : {}),
  };
}

export async function drReplicationFailoverCommand(opts: DrFailoverOptions, out: Out): Promise<string> {
  const requester = opts.as ?? process.env.USER ?? 'unknown';
  const input = parseDrReplicationFailover(opts, requester);
  const target = resolveTemporal(opts);
  const workflowId = `dr-failover:${input.fromCluster}:${input.toCluster}`;
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'drReplicationFailoverWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `a failover ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  out(`Failover ${input.fromCluster} -> ${input.toCluster} (DR replication): workflow ${workflowId}`);
  out(
    input.force
      ? `  detection: skipped (--force: you declare ${input.fromCluster} down)`
      : '  detection: probe rounds of the primary; a primary that answers is not failed over',
  );
  if (input.approval) {
    out(
      `  then ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve before anything is demoted:`,
    );
    out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  } else out('  approval: pre-approved (--auto-approve)');
  out(
    `  ${input.fromCluster} is demoted where it answers, ${input.toCluster} promoted with the DR operation token read on the worker from ${input.drOperationTokenFile ?? '$VAULTOPS_DR_OPERATION_TOKEN_FILE'}`,
  );
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
  return workflowId;
}
