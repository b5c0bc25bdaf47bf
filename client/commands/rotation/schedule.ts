// `vaultops secret schedule <mount/path>... --every 30d --stagger 2d`: one Temporal Schedule per
// secret, all on the same interval, the i-th offset by i × stagger so related secrets never rotate
// at once. Overlap SKIP: a rotation still running when the next is due is not joined by a second.
// Each run's workflow id is `rotate:<cluster>:<mount>/<path>:scheduled-<time>` (Temporal appends the
// time), which is also its rotation id, and what `secret history` finds.
import { ScheduleNotFoundError } from '@temporalio/client';
import { formatDuration } from '../../../common/durations.js';
import { parseScheduleCreate, type ScheduleRequest } from '../../../common/schedule/spec.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { SPEC_MEMO } from '../schedule/schedule.js';
import { UsageError } from '../usage-error.js';
import {
  durationOption,
  parseRotation,
  ROTATION_WORKFLOW,
  type RotateOptions,
  type RotationRequest,
  rotationIdPrefix,
  rotationScheduleId,
} from './args.js';

type Out = (line: string) => void;

export interface SecretScheduleOptions extends GlobalOptions, RotateOptions {
  every?: string;
  stagger?: string;
  paused?: boolean;
}

export interface StaggerPlan {
  everyMs: number;
  staggerMs: number;
  /** offsets[i]: the offset of the i-th secret's schedule within each interval. */
  offsets: number[];
}

/**
 * `secret schedule`: one interval for all, each secret offset by i × stagger, so related secrets
 * never rotate at once. A rotation holds its secret through its grace period, so two rotations
 * closer than the grace period (+ 1h for the steps around it) would run side by side.
 */
export function planStagger(
  count: number,
  every: string | undefined,
  stagger: string | undefined,
  graceMs: number,
): StaggerPlan {
  const problems: string[] = [];
  if (every === undefined) problems.push('--every is required: how often each secret rotates, e.g. 30d');
  if (stagger === undefined && count > 1)
    problems.push(
      `--stagger is required with ${count} secrets: how far apart their rotations are, at least the grace period + 1h`,
    );
  const everyMs = every === undefined ? 0 : durationOption('--every', every);
  const staggerMs = stagger === undefined ? 0 : durationOption('--stagger', stagger);
  if (typeof everyMs === 'string') problems.push(everyMs);
  if (typeof staggerMs === 'string') problems.push(staggerMs);
  if (every !== undefined && typeof everyMs === 'number' && typeof staggerMs === 'number') {
    const least = graceMs + 3_600_000;
    if (everyMs % 1000 !== 0 || staggerMs % 1000 !== 0)
      problems.push(
        '--every and --stagger must be whole seconds (Temporal rounds schedule intervals to seconds)',
      );
    if (everyMs <= least)
      problems.push(
        `--every ${every} is not longer than the grace period (${formatDuration(graceMs)}) + 1h: each rotation would still hold the secret when the next is due`,
      );
    if (stagger !== undefined && staggerMs < least)
      problems.push(
        `--stagger ${stagger} is shorter than the grace period (${formatDuration(graceMs)}) + 1h: a rotation lasts through its grace period, so the next secret's rotation would overlap it; use --stagger ${formatDuration(least)} or more, or a shorter --grace`,
      );
    if (count > 1 && (count - 1) * staggerMs >= everyMs)
      problems.push(
        `${count} secrets staggered by ${stagger} span ${formatDuration((count - 1) * staggerMs)}, which does not fit in --every ${every}; use a longer --every or fewer secrets per schedule`,
      );
  }
  if (problems.length > 0)
    throw new UsageError(
      problems.length === 1
        ? `schedule not created: ${problems[0]}`
        : `schedule not created:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  const e = everyMs as number;
  const s = staggerMs as number;
  return { everyMs: e, staggerMs: s, offsets: Array.from({ length: count }, (_, i) => i * s) };
}

export interface PlannedSchedule {
  input: RotationRequest;
  request: ScheduleRequest;
  /** The id the runs start from; Temporal appends `-<time>` to it. */
  workflowId: string;
  offsetMs: number;
}

/** Every schedule to create, checked as a whole before any is: exit 2 on any problem. */
export function planSecretSchedules(args: string[], opts: SecretScheduleOptions): PlannedSchedule[] {
  if (opts.id !== undefined)
    throw new UsageError(
      'schedule not created: --id goes with `secret rotate`; a scheduled run takes its rotation id from its workflow id',
    );
  const inputs = args.map((arg) => parseRotation(arg, opts, 'schedule not created'));
  const seen = new Set<string>();
  for (const i of inputs) {
    const key = `${i.mount}/${i.path}`;
    if (seen.has(key)) throw new UsageError(`schedule not created: ${key} is named twice`);
    seen.add(key);
  }
  const plan = planStagger(inputs.length, opts.every, opts.stagger, inputs[0]?.graceMs ?? 0);
  return inputs.map((input, i) => {
    const offsetMs = plan.offsets[i] ?? 0;
    const scheduleId = rotationScheduleId(input.cluster, input);
    // The schedule rules of `vaultops schedule create` (whole seconds, offset under the interval, id).
    const request = parseScheduleCreate(scheduleId, {
      workflow: ROTATION_WORKFLOW,
      every: `${plan.everyMs / 1000}s`,
      ...(offsetMs ? { offset: `${offsetMs / 1000}s` } : {}),
      overlap: 'skip',
      paused: opts.paused === true,
    });
    return { input, request, workflowId: `${rotationIdPrefix(input.cluster, input)}scheduled`, offsetMs };
  });
}

export async function secretScheduleCommand(
  args: string[],
  opts: SecretScheduleOptions,
  out: Out,
): Promise<void> {
  const planned = planSecretSchedules(args, opts);
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    // All or none: an existing schedule is found before any is created.
    const taken: string[] = [];
    for (const p of planned) {
      const exists = await client.schedule
        .getHandle(p.request.scheduleId)
        .describe()
        .then(
          () => true,
          (err: unknown) => {
            if (err instanceof ScheduleNotFoundError) return false;
            throw err;
          },
        );
      if (exists) taken.push(p.request.scheduleId);
    }
    if (taken.length > 0)
      throw new UsageError(
        `schedule not created: ${taken.join(', ')} exist${taken.length === 1 ? 's' : ''} already; ` +
          `delete ${taken.length === 1 ? 'it' : 'them'} first (${VAULTOPS} schedule delete <id>)`,
      );
    for (const p of planned) {
      const summary = `every ${formatDuration(p.request.spec.intervals?.[0]?.every as number)}${p.offsetMs ? ` offset ${formatDuration(p.offsetMs)}` : ''}`;
      await client.schedule.create({
        scheduleId: p.request.scheduleId,
        spec: p.request.spec,
        action: {
          type: 'startWorkflow',
          workflowType: ROTATION_WORKFLOW,
          taskQueue: target.temporal.task_queue,
          args: [p.input],
          workflowId: p.workflowId,
        },
        policies: { overlap: p.request.overlap },
        state: { paused: p.request.paused },
        memo: { [SPEC_MEMO]: `${summary}: rotate ${p.input.mount}/${p.input.path}` },
      });
      const next = (await client.schedule.getHandle(p.request.scheduleId).describe()).info.nextActionTimes[0];
      out(
        `Scheduled ${p.input.mount}/${p.input.path}: schedule ${p.request.scheduleId}, ${summary}, overlap skip, ` +
          `target ${p.input.target.kind}, grace ${formatDuration(p.input.graceMs)}; next run ${next?.toISOString() ?? 'none'}`,
      );
    }
    out(
      `\`${VAULTOPS} schedule list\` shows them; \`${VAULTOPS} secret history <mount/path>\` shows their runs.`,
    );
  });
}
