// `vaultops secret status|history <mount/path>`: where a secret stands. The labels and versions
// come from its KV metadata (read with the user's token, never the secret's data); a rotation
// that holds it answers for its phase and steps, and the rotation workflows of the secret come
// from Temporal's visibility.
import {
  type Client,
  type QueryDefinition,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { type WorkflowStatusReport, workflowStatusQuery } from '../../../workflows/lib/status.js';
import { rotationPhaseQuery } from '../../../workflows/rotation/messages.js';
import type { SecretRotationResult } from '../../../workflows/rotation/secret-rotation.js';
import { printTable } from '../../format.js';
import { formatSteps } from '../../format-approval.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { ROTATION_WORKFLOW, rotationIdPrefix, splitSecretPath } from './args.js';
import { readSecretMetadata, versionRows } from './vault-reads.js';

type Out = (line: string) => void;

export interface SecretViewOptions extends GlobalOptions {
  json?: boolean;
  mount?: string;
  cluster?: string;
  limit?: string;
}

interface HolderView {
  workflowId: string;
  status: string | null;
  phase: string | null;
  steps: WorkflowStatusReport['steps'] | null;
  /** Why phase and steps are missing, when they are. */
  unanswered: string | null;
}

export async function secretStatusCommand(arg: string, opts: SecretViewOptions, out: Out): Promise<void> {
  const ref = splitSecretPath(arg, opts.mount);
  const m = await readSecretMetadata(ref);
  const holder = m.labels.rotation
    ? await withClient(resolveTemporal(opts), (client) => askHolder(client, m.labels.rotation as string))
    : null;
  const view = {
    mount: ref.mount,
    path: ref.path,
    latestVersion: m.meta.current_version,
    current: m.labels.current ?? null,
    previous: m.labels.previous ?? null,
    pending: m.labels.pending ?? null,
    rotation: m.labels.rotation ?? null,
    state: m.labels.state ?? null,
    holder,
  };
  if (opts.json) {
    out(JSON.stringify(view, null, 2));
    return;
  }
  const v = (n: number | null) => (n === null ? '-' : `version ${n}`);
  out(`Secret      ${ref.mount}/${ref.path} (latest version ${view.latestVersion})`);
  out(`Current     ${v(view.current)}`);
  out(`Previous    ${v(view.previous)}`);
  out(`Pending     ${view.pending === null ? '-' : `version ${view.pending} at ${ref.path}.pending`}`);
  out(`State       ${view.state ?? '-'}`);
  out(`Held by     ${view.rotation ?? 'no rotation'}`);
  if (!holder) return;
  out(`Workflow    ${holder.status ?? 'not found'}${holder.phase ? `, phase ${holder.phase}` : ''}`);
  if (holder.steps) for (const line of formatSteps({ steps: holder.steps })) out(line);
  if (holder.unanswered) out(`Steps       not shown: ${holder.unanswered}`);
  if (holder.phase === 'grace')
    out(`Rollback    ${VAULTOPS} secret rollback ${holder.workflowId} --as <who> --reason <why>`);
}

const QUERY_DEADLINE_MS = 5000;

/** The rotation holding the secret: its status, and its phase and steps while a worker answers. */
async function askHolder(client: Client, workflowId: string): Promise<HolderView> {
  const handle = client.workflow.getHandle(workflowId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    return {
      workflowId,
      status: null,
      phase: null,
      steps: null,
      unanswered: `no workflow ${workflowId} in namespace ${client.options.namespace} (a rotation started elsewhere, or its history is gone)`,
    };
  }
  const ask = <T>(query: QueryDefinition<T>) =>
    client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(query));
  try {
    const [phase, report] = await Promise.all([ask(rotationPhaseQuery), ask(workflowStatusQuery)]);
    return { workflowId, status, phase, steps: report.steps, unanswered: null };
  } catch (err) {
    return { workflowId, status, phase: null, steps: null, unanswered: (err as Error).message };
  }
}

interface RotationRow {
  workflowId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  outcome: string | null;
}

export async function secretHistoryCommand(arg: string, opts: SecretViewOptions, out: Out): Promise<void> {
  const ref = splitSecretPath(arg, opts.mount);
  const cluster = opts.cluster ?? 'default';
  const limit = Number(opts.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit ${opts.limit} must be a whole number, 1 or more`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(cluster))
    throw new UsageError(`--cluster "${cluster}" must be a cluster name (lowercase letters, digits and "-")`);
  const m = await readSecretMetadata(ref);
  const versions = versionRows(m);
  const rotations = await withClient(resolveTemporal(opts), (client) =>
    rotationsOf(client, rotationIdPrefix(cluster, ref), limit),
  );
  if (opts.json) {
    out(
      JSON.stringify(
        {
          mount: ref.mount,
          path: ref.path,
          labels: { ...m.labels },
          versions,
          rotations,
        },
        null,
        2,
      ),
    );
    return;
  }
  out(`Secret ${ref.mount}/${ref.path}: ${versions.length} retained version(s)`);
  printTable(
    [
      ['VERSION', 'CREATED', 'STATE', 'LABEL'],
      ...versions.map((r) => [
        String(r.version),
        r.createdTime,
        r.destroyed ? 'destroyed' : r.deleted ? `deleted ${r.deletionTime}` : 'live',
        r.label ?? '',
      ]),
    ],
    out,
  );
  if (m.labels.pending !== undefined) out(`pending: version ${m.labels.pending} at ${ref.path}.pending`);
  out('');
  if (rotations.length === 0) {
    out(`No rotation workflows of ${ref.mount}/${ref.path} on cluster ${cluster}.`);
    return;
  }
  out(`Rotations (cluster ${cluster}, newest first)`);
  printTable(
    [
      ['WORKFLOW ID', 'STATUS', 'STARTED', 'CLOSED', 'OUTCOME'],
      ...rotations.map((r) => [r.workflowId, r.status, r.startTime, r.closeTime ?? '-', r.outcome ?? '-']),
    ],
    out,
  );
}

/**
 * The rotation workflows of one secret, newest first. Visibility stores without STARTS_WITH
 * (older SQL ones) are asked for every rotation and filtered here.
 */
async function rotationsOf(client: Client, prefix: string, limit: number): Promise<RotationRow[]> {
  const byType = `WorkflowType = '${ROTATION_WORKFLOW}'`;
  const quoted = prefix.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const collect = async (query: string) => {
    const rows: RotationRow[] = [];
    for await (const wf of client.workflow.list({ query })) {
      if (!wf.workflowId.startsWith(prefix)) continue;
      rows.push({
        workflowId: wf.workflowId,
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
        outcome: null,
      });
      if (rows.length >= limit) break;
    }
    return rows;
  };
  let rows: RotationRow[];
  try {
    rows = await collect(`${byType} AND WorkflowId STARTS_WITH '${quoted}'`);
  } catch {
    rows = await collect(byType);
  }
  for (const row of rows) row.outcome = await outcomeOf(client, row);
  return rows;
}

/** One line on how a closed rotation ended: its result's versions, or its failure's message. */
async function outcomeOf(client: Client, row: RotationRow): Promise<string | null> {
  if (row.status === 'RUNNING') return null;
  const handle = client.workflow.getHandle(row.workflowId);
  try {
    const r = (await handle.result()) as SecretRotationResult;
    return `${r.outcome}: current v${r.current}${r.previous === null ? '' : `, previous v${r.previous}`}`;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      let cause: Error | undefined = err.cause;
      while (cause?.cause instanceof Error) cause = cause.cause;
      return `failed: ${cause?.message ?? err.message}`;
    }
    return row.status.toLowerCase();
  }
}
