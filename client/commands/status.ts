import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Client,
  type QueryDefinition,
  QueryNotRegisteredError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { type ApprovalState, describeApproval } from '../../common/approval.js';
import { workflowHistoryUrl } from '../../common/dev-state.js';
import type { PreflightReport } from '../../common/preflight/report.js';
import { approvalStateQuery } from '../../workflows/lib/approval.js';
import { type WorkflowStatusReport, workflowStatusQuery } from '../../workflows/lib/status.js';
import { formatPreflight } from '../format.js';
import { formatApproval, formatSteps } from '../format-approval.js';
import { type GlobalOptions, resolveTemporal, type TemporalTarget, withClient } from '../temporal-client.js';
import { runnableHints, waitingFor } from '../waiting-for.js';
import { VAULTOPS } from './invocation.js';

export interface StatusOptions extends GlobalOptions {
  json?: boolean;
  /** Keep watching until the workflow closes, printing each change. */
  follow?: boolean;
  /** With follow: seconds between looks (default 1). */
  interval?: number;
}

/** Statuses after which nothing changes any more; CONTINUED_AS_NEW goes on in the next run. */
const CLOSED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/** One look at a workflow: what Temporal says (describe) and what it says itself (queries). */
export interface StatusView {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  historyLength: number;
  taskQueue: string;
  pendingActivities: { activity: string; attempt: number; lastFailure: string | null }[];
  result: unknown;
  failure: string | null;
  steps: WorkflowStatusReport | null;
  approval: ApprovalState | null;
  unanswered: string | null;
}

export async function statusCommand(
  workflowId: string,
  opts: StatusOptions,
  out: (s: string) => void,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const first = await lookAt(client, workflowId, target.temporal.namespace);
    if (!opts.follow) {
      if (opts.json) out(JSON.stringify(jsonOf(first), null, 2));
      else for (const line of render(first, target)) out(line);
      return;
    }
    const status = await follow(client, first, target, opts, out);
    if (status !== 'COMPLETED') throw new WorkflowClosedError(workflowId, status);
  });
}

/** A followed workflow that closed other than completed: exit code 1, and why on stderr. */
export class WorkflowClosedError extends Error {
  override name = 'WorkflowClosedError';
  constructor(workflowId: string, status: string) {
    super(`workflow ${workflowId} closed ${status}`);
  }
}

export async function lookAt(client: Client, workflowId: string, namespace: string): Promise<StatusView> {
  const handle = client.workflow.getHandle(workflowId);
  let description: Awaited<ReturnType<typeof handle.describe>>;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new Error(
        `no workflow with id "${workflowId}" in namespace ${namespace}; \`${VAULTOPS} list\` shows the recent ones`,
      );
    }
    throw err;
  }
  const status = description.status.name;
  const pendingActivities = (description.raw.pendingActivities ?? []).map((a) => ({
    activity: a.activityType?.name ?? 'unknown',
    attempt: a.attempt ?? 1,
    lastFailure: a.lastFailure?.message ?? null,
  }));
  // The run described, not a later one: a result or failure belongs to it.
  const run = client.workflow.getHandle(workflowId, description.runId);
  let result: unknown;
  let failure: string | null = null;
  if (status === 'COMPLETED') result = await run.result();
  if (status === 'FAILED') {
    failure = await run.result().then(
      () => null,
      (err: unknown) =>
        err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : String(err),
    );
  }
  const { steps, approval, unanswered } = await askWorkflow(client, workflowId, description.taskQueue);
  return {
    workflowId,
    runId: description.runId,
    type: description.type,
    status,
    startTime: description.startTime.toISOString(),
    closeTime: description.closeTime?.toISOString() ?? null,
    historyLength: description.historyLength,
    taskQueue: description.taskQueue,
    pendingActivities,
    result,
    failure,
    steps,
    approval,
    unanswered,
  };
}

function jsonOf(view: StatusView) {
  return {
    workflowId: view.workflowId,
    runId: view.runId,
    type: view.type,
    status: view.status,
    startTime: view.startTime,
    closeTime: view.closeTime,
    historyLength: view.historyLength,
    pendingActivities: view.pendingActivities,
    result: view.result ?? null,
    failure: view.failure,
    steps: view.steps?.steps ?? null,
    approval: view.approval,
  };
}

function render(view: StatusView, target: TemporalTarget): string[] {
  const lines: string[] = [];
  const out = (line: string) => lines.push(line);
  out(`Workflow    ${view.workflowId} (run ${view.runId})`);
  out(`Type        ${view.type}`);
  out(`Status      ${view.status}`);
  out(`Started     ${view.startTime}`);
  if (view.closeTime) out(`Closed      ${view.closeTime}`);
  out(`History     ${view.historyLength} events`);
  if (target.uiUrl)
    out(
      `UI          ${workflowHistoryUrl(target.uiUrl, target.temporal.namespace, view.workflowId, view.runId)}`,
    );
  for (const p of view.pendingActivities) {
    out(`Pending     ${p.activity} (attempt ${p.attempt})${p.lastFailure ? `: ${p.lastFailure}` : ''}`);
  }
  if (view.failure) out(`Failure     ${view.failure}`);
  if (view.steps) for (const line of formatSteps(view.steps, view.status)) out(line);
  if (view.approval) for (const line of formatApproval(view.approval)) out(line);
  const waiting = waitingFor(view);
  if (waiting) out(`Waiting     ${waiting.replace(/^waiting for /, '')}`);
  // A closed workflow with no worker left is common and says nothing worth a line.
  if (view.unanswered && view.status === 'RUNNING') out(`Steps       not shown: ${view.unanswered}`);
  if (view.result !== undefined && view.type === 'preflightWorkflow') {
    out('');
    out(formatPreflight(view.result as PreflightReport));
  }
  return lines;
}

/**
 * Follows a workflow until it closes: on a terminal the whole status is redrawn on each change; a
 * pipe gets one line per change (a step's state, the approval, the workflow's status); --json one
 * object per change (NDJSON). Returns the status it closed with.
 */
async function follow(
  client: Client,
  first: StatusView,
  target: TemporalTarget,
  opts: StatusOptions,
  out: (s: string) => void,
): Promise<string> {
  const tty = !opts.json && process.stdout.isTTY === true;
  const intervalMs = Math.max(100, (opts.interval ?? 1) * 1000);
  let previous: StatusView | undefined;
  let view = first;
  for (;;) {
    if (opts.json) {
      // Every event lengthens the history: that alone is no change worth a line.
      const same = (a: StatusView, b: StatusView) =>
        JSON.stringify({ ...jsonOf(a), historyLength: 0 }) ===
        JSON.stringify({ ...jsonOf(b), historyLength: 0 });
      if (!previous || !same(previous, view)) out(JSON.stringify(jsonOf(view)));
    } else if (tty) {
      const lines = render(view, target);
      if (!previous || lines.join('\n') !== render(previous, target).join('\n')) {
        // Clear the screen and home the cursor, then draw the whole status again.
        process.stdout.write('\x1b[H\x1b[2J');
        for (const line of lines) out(line);
        out('');
        out(CLOSED.has(view.status) ? '' : `Following; Ctrl-C to stop (looks every ${intervalMs / 1000}s)`);
      }
    } else {
      for (const line of changeLines(previous, view)) out(line);
    }
    if (CLOSED.has(view.status)) return view.status;
    previous = view;
    await sleep(intervalMs);
    view = await lookAt(client, view.workflowId, target.temporal.namespace);
    // A query that could not be answered this time (a worker restarting) is no change of steps.
    if (!view.steps && previous.steps && previous.runId === view.runId)
      view = { ...view, steps: previous.steps, approval: view.approval ?? previous.approval };
  }
}

/** The changes from one look to the next, one line each: `<time>  <what>  <state>`. */
export function changeLines(before: StatusView | undefined, now: StatusView): string[] {
  const at = new Date().toISOString();
  const lines: string[] = [];
  const why = now.failure ? `: ${now.failure}` : '';
  if (!before)
    lines.push(`${at}  workflow ${now.workflowId} (${now.type}, run ${now.runId})  ${now.status}${why}`);
  else if (before.runId !== now.runId)
    lines.push(`${at}  workflow continued as new: run ${now.runId}  ${now.status}`);
  // The approval first: its decision is what moves the approve step.
  if (now.approval) {
    const text = describeApproval(now.approval);
    if (!before?.approval || describeApproval(before.approval) !== text)
      lines.push(`${at}  approval  ${text}`);
  }
  const width = Math.max(0, ...(now.steps?.steps ?? []).map((s) => s.name.length));
  for (const step of now.steps?.steps ?? []) {
    const old = before?.steps?.steps.find((s) => s.name === step.name);
    if (old && old.state === step.state && old.detail === step.detail) continue;
    lines.push(
      `${at}  step ${step.name.padEnd(width)}  ${step.state}${step.detail ? `: ${runnableHints(step.detail)}` : ''}`,
    );
  }
  const waiting = waitingFor(now);
  if (waiting && waiting !== (before && waitingFor(before))) lines.push(`${at}  ${waiting}`);
  if (now.unanswered && now.status === 'RUNNING' && now.unanswered !== before?.unanswered)
    lines.push(`${at}  steps not shown: ${now.unanswered}`);
  if (before && before.status !== now.status) lines.push(`${at}  workflow ${now.status}${why}`);
  return lines;
}

/** How long a query may take: a worker replays the history to answer, which is quick. */
const QUERY_DEADLINE_MS = 5000;

/**
 * The workflow's own account of its steps and approval gate, from workflows that register the
 * `workflowStatus` and `approvalState` queries (workflows/lib/); null from those that do not
 * (preflight). Queries need a worker, so none is sent when no worker polls the task queue:
 * the server would hold it until the deadline.
 */
async function askWorkflow(
  client: Client,
  workflowId: string,
  taskQueue: string,
): Promise<{
  steps: WorkflowStatusReport | null;
  approval: ApprovalState | null;
  unanswered: string | null;
}> {
  const pollers = await client.workflowService
    .describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    })
    .then(
      (r) => r.pollers?.length ?? 0,
      () => undefined, // not every server answers this (the time-skipping one does not): ask anyway
    );
  if (pollers === 0)
    return { steps: null, approval: null, unanswered: `no worker polls task queue "${taskQueue}" to answer` };
  const handle = client.workflow.getHandle(workflowId);
  const ask = <T>(query: QueryDefinition<T>) =>
    client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(query))
      .catch((err: unknown) => {
        if (err instanceof QueryNotRegisteredError) return null;
        throw err;
      });
  try {
    const [steps, approval] = await Promise.all([ask(workflowStatusQuery), ask(approvalStateQuery)]);
    return { steps, approval, unanswered: null };
  } catch (err) {
    // The status from Temporal is worth showing even when the workflow cannot answer.
    return { steps: null, approval: null, unanswered: (err as Error).message };
  }
}
