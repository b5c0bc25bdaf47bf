// `vaultops schedule ...`: Temporal Schedules that start vaultops workflows. The spec is checked
// (common/schedule/spec.ts) before the CLI connects; what only the server can judge (cron value
// ranges, time zone names) comes back as the same kind of error, exit 2, and nothing is created.
import {
  ScheduleAlreadyRunning,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type ScheduleSummary,
} from '@temporalio/client';
import { formatDuration } from '../../../common/durations.js';
import {
  OVERLAP_POLICIES,
  type OverlapPolicy,
  overlapName,
  parseOverlap,
  parseScheduleCreate,
  type ScheduleCreateOptions,
  ScheduleSpecError,
  scheduleIdProblem,
  summarizeSpec,
} from '../../../common/schedule/spec.js';
import { printTable } from '../../format.js';
import {
  type GlobalOptions,
  resolveTemporal,
  type TemporalTarget,
  withClient,
} from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';

type Out = (line: string) => void;

/** Memo key holding the spec as the user wrote it: the server keeps only its compiled form. */
export const SPEC_MEMO = 'vaultopsSpec';

export interface ScheduleCommandOptions extends GlobalOptions {
  json?: boolean;
  note?: string;
  overlap?: string;
}

export async function scheduleCreateCommand(
  scheduleId: string,
  opts: ScheduleCreateOptions & GlobalOptions,
  out: Out,
): Promise<void> {
  const request = parseScheduleCreate(scheduleId, opts);
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    try {
      await client.schedule.create({
        scheduleId,
        spec: request.spec,
        action: {
          type: 'startWorkflow',
          workflowType: request.workflowType,
          taskQueue: target.temporal.task_queue,
          args: request.args,
          // Temporal appends the nominal start time, so each run's id says which schedule and when.
          workflowId: scheduleId,
        },
        policies: {
          overlap: request.overlap,
          ...(request.catchupWindowMs === undefined ? {} : { catchupWindow: request.catchupWindowMs }),
        },
        state: { paused: request.paused, ...(request.note ? { note: request.note } : {}) },
        memo: { [SPEC_MEMO]: request.summary },
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw new UsageError(
          `schedule "${scheduleId}" already exists in namespace ${target.temporal.namespace}; delete it first (\`${VAULTOPS} schedule delete ${scheduleId}\`) or choose another id`,
        );
      // The SDK turns the server's "Invalid schedule spec" (INVALID_ARGUMENT) into a TypeError.
      if (err instanceof TypeError)
        throw new ScheduleSpecError([`Temporal refused ${request.summary}: ${err.message}`]);
      throw err;
    }
    const description = await client.schedule.getHandle(scheduleId).describe();
    out(
      `Created schedule ${scheduleId}: ${request.workflowType} on task queue ${target.temporal.task_queue}, ${request.summary}, overlap ${overlapName(request.overlap)}${request.paused ? ' (paused)' : ''}`,
    );
    const next = description.info.nextActionTimes[0];
    out(next ? `Next run    ${next.toISOString()}` : 'Next run    none (the spec matches no future time)');
    const ui = scheduleUrl(target, scheduleId);
    if (ui) out(`UI          ${ui}`);
  });
}

export async function scheduleListCommand(opts: ScheduleCommandOptions, out: Out): Promise<void> {
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const rows: ReturnType<typeof summaryRow>[] = [];
    for await (const s of client.schedule.list()) rows.push(summaryRow(s));
    rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    if (opts.json) {
      out(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      out(`No schedules in namespace ${target.temporal.namespace}.`);
      return;
    }
    printTable(
      [
        ['SCHEDULE ID', 'WORKFLOW', 'SPEC', 'STATE', 'NEXT RUN', 'RECENT RUNS'],
        ...rows.map((r) => [
          r.scheduleId,
          r.workflowType ?? '-',
          r.spec,
          r.paused ? 'paused' : 'active',
          r.nextRun ?? '-',
          r.recentActions.length === 0
            ? 'none'
            : `${r.recentActions.length}, last ${r.recentActions.at(-1)?.takenAt}`,
        ]),
      ],
      out,
    );
  });
}

function summaryRow(s: ScheduleSummary) {
  return {
    scheduleId: s.scheduleId,
    workflowType: s.action?.workflowType ?? null,
    spec: specText(s.memo, s.spec),
    paused: s.state.paused,
    note: s.state.note ?? null,
    nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
    recentActions: s.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
  };
}

function specText(memo: Record<string, unknown> | undefined, spec: ScheduleSummary['spec']): string {
  const written = memo?.[SPEC_MEMO];
  return typeof written === 'string' ? written : summarizeSpec(spec);
}

export async function scheduleDescribeCommand(
  scheduleId: string,
  opts: ScheduleCommandOptions,
  out: Out,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withSchedule(target, scheduleId, async (handle) => {
    const d = await handle.describe();
    const view = {
      scheduleId,
      workflowType: d.action.workflowType,
      taskQueue: d.action.taskQueue,
      args: d.action.args ?? [],
      spec: specText(d.memo, d.spec),
      compiledSpec: d.spec,
      policies: {
        overlap: overlapName(d.policies.overlap),
        catchupWindow: formatDays(d.policies.catchupWindow),
        pauseOnFailure: d.policies.pauseOnFailure,
      },
      paused: d.state.paused,
      note: d.state.note ?? null,
      createdAt: d.info.createdAt.toISOString(),
      updatedAt: d.info.lastUpdatedAt?.toISOString() ?? null,
      actions: {
        taken: d.info.numActionsTaken,
        skippedOverlap: d.info.numActionsSkippedOverlap,
        missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
      },
      nextRuns: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
        runId: a.action.workflow.firstExecutionRunId,
      })),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
    };
    if (opts.json) {
      out(JSON.stringify(view, null, 2));
      return;
    }
    out(`Schedule    ${scheduleId}`);
    out(
      `Workflow    ${view.workflowType} on task queue ${view.taskQueue}, args ${JSON.stringify(view.args)}`,
    );
    out(`Spec        ${view.spec}`);
    out(`State       ${view.paused ? 'PAUSED' : 'active'}`);
    if (view.note) out(`Note        ${view.note}`);
    out(
      `Policies    overlap ${view.policies.overlap}, catch-up window ${view.policies.catchupWindow}, pause on failure ${view.policies.pauseOnFailure ? 'yes' : 'no'}`,
    );
    out(
      `Actions     ${view.actions.taken} taken, ${view.actions.skippedOverlap} skipped (overlap), ${view.actions.missedCatchupWindow} missed (catch-up window)`,
    );
    out(`Created     ${view.createdAt}${view.updatedAt ? `, updated ${view.updatedAt}` : ''}`);
    if (view.nextRuns.length === 0) out('Next runs   none');
    view.nextRuns.forEach((t, i) => {
      out(`${i === 0 ? 'Next runs' : ''.padEnd(9)}   ${t}`);
    });
    if (view.recentRuns.length === 0) out('Recent runs none');
    view.recentRuns.forEach((r, i) => {
      const running = view.running.includes(r.workflowId) ? ' (running)' : '';
      out(`${i === 0 ? 'Recent runs' : ''.padEnd(11)} ${r.takenAt}  ${r.workflowId}${running}`);
    });
    const ui = scheduleUrl(target, scheduleId);
    if (ui) out(`UI          ${ui}`);
  });
}

export async function schedulePauseCommand(
  scheduleId: string,
  opts: ScheduleCommandOptions,
  out: Out,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withSchedule(target, scheduleId, async (handle) => {
    // The SDK's default note is its own name; ours says who did it, as the UI shows it.
    await handle.pause(opts.note ?? `paused with \`${VAULTOPS} schedule pause\``);
    out(`Paused schedule ${scheduleId}; \`${VAULTOPS} schedule unpause ${scheduleId}\` resumes it`);
  });
}

export async function scheduleUnpauseCommand(
  scheduleId: string,
  opts: ScheduleCommandOptions,
  out: Out,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withSchedule(target, scheduleId, async (handle) => {
    await handle.unpause(opts.note ?? `unpaused with \`${VAULTOPS} schedule unpause\``);
    const next = (await handle.describe()).info.nextActionTimes[0];
    out(`Unpaused schedule ${scheduleId}; next run ${next?.toISOString() ?? 'none'}`);
  });
}

/** How long `trigger` waits to see what the schedule did with the request. */
const TRIGGER_WAIT_MS = 5_000;

export async function scheduleTriggerCommand(
  scheduleId: string,
  opts: ScheduleCommandOptions,
  out: Out,
): Promise<void> {
  // Checked before connecting, like every other input.
  const override =
    opts.overlap === undefined ? undefined : parseOverlap(opts.overlap, '--overlap', 'not triggered');
  const target = resolveTemporal(opts);
  await withSchedule(target, scheduleId, async (handle) => {
    const before = await handle.describe();
    // The SDK's trigger() defaults to ALLOW_ALL, which would start a second run beside one still
    // going; a trigger respects the schedule's own policy unless --overlap says otherwise.
    const overlap: OverlapPolicy =
      override ?? (before.policies.overlap as OverlapPolicy) ?? OVERLAP_POLICIES.skip;
    await handle.trigger(overlap);
    const deadline = Date.now() + TRIGGER_WAIT_MS;
    for (;;) {
      const now = await handle.describe();
      if (now.info.numActionsTaken > before.info.numActionsTaken) {
        const started = now.info.recentActions.at(-1)?.action.workflow.workflowId ?? 'unknown';
        out(`Triggered schedule ${scheduleId}: started workflow ${started}`);
        return;
      }
      if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap) {
        out(
          `Triggered schedule ${scheduleId}: no run started, one is still running and the overlap policy is ${overlapName(overlap)} (--overlap allow-all starts one anyway)`,
        );
        return;
      }
      if (Date.now() > deadline) {
        out(
          `Triggered schedule ${scheduleId} (overlap ${overlapName(overlap)}); no run has started yet, \`${VAULTOPS} schedule describe ${scheduleId}\` shows when it does`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
}

export async function scheduleDeleteCommand(
  scheduleId: string,
  opts: ScheduleCommandOptions,
  out: Out,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withSchedule(target, scheduleId, async (handle) => {
    await handle.delete();
    out(`Deleted schedule ${scheduleId} (workflows it started keep running)`);
  });
}

/** Runs `fn` on the schedule's handle; a schedule that is not there gets one clear message. */
async function withSchedule(
  target: TemporalTarget,
  scheduleId: string,
  fn: (handle: ScheduleHandle) => Promise<void>,
): Promise<void> {
  const idProblem = scheduleIdProblem(scheduleId);
  if (idProblem) throw new UsageError(idProblem);
  await withClient(target, async (client) => {
    try {
      await fn(client.schedule.getHandle(scheduleId));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound(target, scheduleId);
      throw err;
    }
  });
}

function notFound(target: TemporalTarget, scheduleId: string): Error {
  return new Error(
    `no schedule "${scheduleId}" in namespace ${target.temporal.namespace}; \`${VAULTOPS} schedule list\` shows them`,
  );
}

function scheduleUrl(target: TemporalTarget, scheduleId: string): string | undefined {
  if (!target.uiUrl) return undefined;
  return `${target.uiUrl}/namespaces/${encodeURIComponent(target.temporal.namespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}

/** Whole days as days: the default catch-up window is a year, which reads badly as 8760h. */
function formatDays(ms: number): string {
  return ms > 0 && ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : formatDuration(ms);
}
