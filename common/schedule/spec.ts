// `vaultops schedule create` input → a Temporal Schedule request, checked before anything is sent.
// Pure (types only from @temporalio/client), so the rules are unit-tested without a server and the
// CLI refuses a bad spec before it connects. What Temporal Server 1.32 does with input we do not
// refuse here was checked against a dev server, and explains several rules below:
//   - cron takes 5, 6 or 7 fields, and 6 means a YEAR last, not Quartz's seconds first, so
//     "0 0 3 * * *" would run at midnight on the 3rd; '#' starts a comment anywhere, so Quartz's
//     "MON#2" would silently mean every Monday; '?', 'L' and 'W' are refused with range errors.
//   - an interval under 1 s and an offset (phase) beyond the interval are refused; intervals are
//     rounded to whole seconds; a catch-up window under 10 s is silently raised to 10 s.
//   - a spec with nothing in it is accepted and never runs.
import type {
  CalendarSpec,
  CalendarSpecDescription,
  ScheduleOverlapPolicy,
  ScheduleSpec,
  ScheduleSpecDescription,
} from '@temporalio/client';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../durations.js';
import { isWorkflowType, WORKFLOW_TYPES, type WorkflowType } from '../workflow-types.js';

/** The CLI's names for Temporal's overlap policies: what happens when a run is due while one runs. */
export const OVERLAP_POLICIES = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const satisfies Record<string, NonNullable<ScheduleOverlapPolicy>>;

export type OverlapName = keyof typeof OVERLAP_POLICIES;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[OverlapName];
export const OVERLAP_NAMES = Object.keys(OVERLAP_POLICIES) as OverlapName[];

/** Temporal's policy name back to ours, for display ("SKIP" → "skip"). */
export function overlapName(policy: string | undefined): string {
  const found = OVERLAP_NAMES.find((name) => OVERLAP_POLICIES[name] === policy);
  return found ?? String(policy ?? 'skip').toLowerCase();
}

/** Bad schedule input, every problem at once; the CLI exits 2 on it. */
export class ScheduleSpecError extends Error {
  override name = 'ScheduleSpecError';
  constructor(
    readonly problems: string[],
    outcome = 'not created',
  ) {
    super(
      problems.length === 1
        ? `schedule ${outcome}: ${problems[0]}`
        : `schedule ${outcome}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** The options of `schedule create`, as commander hands them over (strings, unparsed). */
export interface ScheduleCreateOptions {
  workflow?: string | undefined;
  args?: string | undefined;
  every?: string | undefined;
  offset?: string | undefined;
  cron?: string | undefined;
  calendar?: string | undefined;
  timezone?: string | undefined;
  overlap?: string | undefined;
  catchupWindow?: string | undefined;
  jitter?: string | undefined;
  paused?: boolean | undefined;
  note?: string | undefined;
}

export interface ScheduleRequest {
  scheduleId: string;
  workflowType: WorkflowType;
  args: unknown[];
  spec: ScheduleSpec;
  overlap: OverlapPolicy;
  catchupWindowMs: number | undefined;
  paused: boolean;
  note: string | undefined;
  /** The spec as the user wrote it ("cron 0 3 * * *"): the server keeps only its compiled form. */
  summary: string;
}

// Letters, digits and a few separators: the id also prefixes the workflow ids of the runs.
const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

export function scheduleIdProblem(id: string): string | undefined {
  return SCHEDULE_ID.test(id)
    ? undefined
    : `schedule id "${id}" must start with a letter or digit and hold only letters, digits and . _ : @ - (at most 200 characters)`;
}

/** A Go-style duration in ms, or the problem with it. */
function durationOf(
  flag: string,
  text: string,
  rule: { minMs?: number; wholeSeconds?: boolean } = {},
): number | string {
  const ms = parseDuration(text);
  if (ms === undefined) return `${flag}: "${text}" is not a duration; write e.g. 90s, 15m, 1h30m or 7d`;
  if (rule.wholeSeconds && ms % 1000 !== 0)
    return `${flag}: ${text} is not a whole number of seconds (Temporal rounds schedule intervals to seconds)`;
  if (rule.minMs !== undefined && ms < rule.minMs)
    return `${flag}: ${text} is too short; the least Temporal takes is ${formatDuration(rule.minMs)}`;
  return ms;
}

const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const CRON_FIELDS = 'minute hour day-of-month month day-of-week';

/**
 * What is wrong with a cron expression, as far as can be told without the server: the shape and
 * the traps where Temporal would accept Quartz syntax and mean something else. Value ranges
 * ("61" minutes, "FOO" as a day) are left to the server, whose messages name the field.
 */
export function cronProblem(expr: string): string | undefined {
  let body = expr.trim().replace(/^(CRON_TZ|TZ)=\S+\s+/, '');
  if (/\S#/.test(body))
    return `"${expr}": Temporal reads '#' as the start of a comment, so nth-weekday forms such as MON#2 are not supported; use --calendar`;
  body = body.replace(/\s+#.*$/, '').trim();
  if (body === '') return 'is empty';
  if (body.startsWith('@')) {
    if (CRON_SHORTHANDS.includes(body) || /^@every \d+[smhd](\/\d+[smhd])?$/.test(body)) return undefined;
    return `"${expr}": the shorthands are ${CRON_SHORTHANDS.join(', ')} and "@every <n><s|m|h|d>"`;
  }
  const fields = body.split(/\s+/);
  if (fields.length < 5 || fields.length > 7)
    return `"${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; write 5 (${CRON_FIELDS}), or 7 (second, those five, year)`;
  if (fields.length === 6 && !/\d{4}/.test(fields[5] ?? ''))
    return `"${expr}" has 6 fields: Temporal reads the sixth as the year, not the first as seconds (Quartz); write 5 fields (${CRON_FIELDS}), or 7 (second, those five, year)`;
  for (const field of fields) {
    if (field.includes('?')) return `"${expr}": '?' is Quartz syntax; write '*'`;
    if (/^L|\dL|[0-9]W|^LW$/.test(field))
      return `"${expr}": 'L' and 'W' (last day, nearest weekday) are Quartz syntax Temporal does not take; use --calendar`;
    if (!/^[0-9A-Za-z*,/-]+$/.test(field))
      return `"${expr}": field "${field}" may hold only digits, names (JAN, MON), '*', ',', '-' and '/'`;
  }
  return undefined;
}

// --calendar: Temporal's CalendarSpec as JSON; unset fields default to 0 (second, minute, hour)
// or every value (the rest), as the SDK documents. Names are Temporal's, in capitals.
const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;
const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] as const;

function calendarField<T extends z.ZodType>(value: T, what: string) {
  const range = z.strictObject({
    start: value,
    end: value.optional(),
    step: z.number().int('must be a whole number').min(1, 'must be 1 or more').optional(),
  });
  const item = z.union([value, range]);
  return z
    .union([z.literal('*'), item, z.array(item).min(1)], {
      error: `must be "*", ${what}, {"start": …, "end": …, "step": n} or a list of these`,
    })
    .optional();
}

const number = (min: number, max: number) =>
  z
    .number()
    .int('must be a whole number')
    .min(min, `must be ${min}-${max}`)
    .max(max, `must be ${min}-${max}`);
const named = <N extends readonly [string, ...string[]]>(names: N) =>
  z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(names));

const calendarSpec = z.strictObject({
  second: calendarField(number(0, 59), 'a second 0-59'),
  minute: calendarField(number(0, 59), 'a minute 0-59'),
  hour: calendarField(number(0, 23), 'an hour 0-23'),
  dayOfMonth: calendarField(number(1, 31), 'a day of the month 1-31'),
  month: calendarField(named(MONTHS), 'a month name (JANUARY-DECEMBER)'),
  year: calendarField(number(1970, 9999), 'a year such as 2030'),
  dayOfWeek: calendarField(named(DAYS), 'a day name (SUNDAY-SATURDAY)'),
  comment: z.string().optional(),
});
const calendars = z.union([calendarSpec.transform((c) => [c]), z.array(calendarSpec).min(1)]);

function calendarsOf(text: string): CalendarSpec[] | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `--calendar: not JSON (${(err as Error).message}); write e.g. '{"hour": 3, "dayOfWeek": "MONDAY"}'`;
  }
  // Parsed one at a time when it is a list, so that a problem names its entry and field.
  const list = Array.isArray(json) ? json : [json];
  if (list.length === 0) return '--calendar: the list is empty';
  for (const [i, entry] of list.entries()) {
    const one = calendarSpec.safeParse(entry);
    if (!one.success) {
      const issue = one.error.issues[0];
      const where = [Array.isArray(json) ? `[${i}]` : '', ...(issue?.path ?? []).map(String)]
        .filter(Boolean)
        .join('.');
      const message =
        issue?.code === 'unrecognized_keys'
          ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; the fields are ${Object.keys(calendarSpec.shape).join(', ')}`
          : issue?.code === 'invalid_type' && issue.path.length === 0
            ? 'must be a JSON object (or a list of them)'
            : issue?.message;
      return `--calendar${where ? ` ${where}` : ''}: ${message}`;
    }
  }
  return calendars.parse(json) as CalendarSpec[];
}

/** --args: a JSON array is the argument list; any other JSON value is the one argument. */
function argsOf(text: string | undefined): unknown[] | string {
  if (text === undefined) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch (err) {
    return `--args: not JSON (${(err as Error).message}); write e.g. '{"namespace": "admin"}'`;
  }
}

/** Our policy name → Temporal's; throws a ScheduleSpecError for a name that is not one. */
export function parseOverlap(text: string | undefined, flag = '--overlap', outcome?: string): OverlapPolicy {
  if (text === undefined) return OVERLAP_POLICIES.skip;
  if (Object.hasOwn(OVERLAP_POLICIES, text)) return OVERLAP_POLICIES[text as OverlapName];
  throw new ScheduleSpecError(
    [`${flag}: "${text}" is not a policy; use one of ${OVERLAP_NAMES.join(', ')}`],
    outcome,
  );
}

function workflowProblem(name: string | undefined): string | undefined {
  if (name === undefined || name === '') return `--workflow is required: one of ${WORKFLOW_TYPES.join(', ')}`;
  if (isWorkflowType(name)) return undefined;
  const guess = WORKFLOW_TYPES.find((t) => t.toLowerCase() === name.toLowerCase() || t === `${name}Workflow`);
  return `--workflow: "${name}" is not a workflow the vaultops worker runs${guess ? ` (did you mean ${guess}?)` : ''}; known: ${WORKFLOW_TYPES.join(', ')}`;
}

/** Checks every option and builds the request, or throws a ScheduleSpecError listing every problem. */
export function parseScheduleCreate(scheduleId: string, opts: ScheduleCreateOptions): ScheduleRequest {
  const problems: string[] = [];
  const take = <T>(result: T | string): T | undefined => {
    if (typeof result === 'string') {
      problems.push(result);
      return undefined;
    }
    return result;
  };
  const idProblem = scheduleIdProblem(scheduleId);
  if (idProblem) problems.push(idProblem);
  const workflow = workflowProblem(opts.workflow);
  if (workflow) problems.push(workflow);
  const args = take(argsOf(opts.args));

  const kinds = (['every', 'cron', 'calendar'] as const).filter((k) => opts[k] !== undefined);
  if (kinds.length === 0)
    problems.push('say when it runs: --every <duration>, --cron "<expr>" or --calendar <json>');
  if (kinds.length > 1)
    problems.push(
      `give one of --every, --cron and --calendar, not ${kinds.map((k) => `--${k}`).join(' and ')}`,
    );
  if (opts.offset !== undefined && opts.every === undefined) problems.push('--offset goes with --every');

  const spec: ScheduleSpec = {};
  let summary = '';
  if (opts.every !== undefined) {
    const every = take(durationOf('--every', opts.every, { minMs: 1000, wholeSeconds: true }));
    const offset =
      opts.offset === undefined ? 0 : take(durationOf('--offset', opts.offset, { wholeSeconds: true }));
    if (every !== undefined && offset !== undefined) {
      if (offset >= every)
        problems.push(`--offset ${opts.offset} must be shorter than --every ${opts.every}`);
      spec.intervals = [{ every, ...(offset ? { offset } : {}) }];
      summary = `every ${formatDuration(every)}${offset ? ` offset ${formatDuration(offset)}` : ''}`;
    }
  }
  if (opts.cron !== undefined) {
    const problem = cronProblem(opts.cron);
    if (problem) problems.push(`--cron ${problem}`);
    if (opts.timezone !== undefined && /^\s*(CRON_TZ|TZ)=/.test(opts.cron))
      problems.push('--timezone: the --cron expression names its own time zone (CRON_TZ=); give one of them');
    spec.cronExpressions = [opts.cron.trim()];
    summary = `cron ${opts.cron.trim()}`;
  }
  if (opts.calendar !== undefined) {
    const parsed = take(calendarsOf(opts.calendar));
    if (parsed) spec.calendars = parsed;
    summary = `calendar ${opts.calendar.trim()}`;
  }
  if (opts.timezone !== undefined) {
    if (!/^[A-Za-z0-9_+\-/]+$/.test(opts.timezone))
      problems.push(`--timezone: "${opts.timezone}" is not a time zone name such as Europe/Berlin or UTC`);
    spec.timezone = opts.timezone;
    summary += ` (${opts.timezone})`;
  }
  if (opts.jitter !== undefined) {
    const jitter = take(durationOf('--jitter', opts.jitter));
    if (jitter) {
      spec.jitter = jitter;
      summary += `, jitter ${formatDuration(jitter)}`;
    }
  }
  let overlap: OverlapPolicy = OVERLAP_POLICIES.skip;
  try {
    overlap = parseOverlap(opts.overlap);
  } catch (err) {
    problems.push(...(err as ScheduleSpecError).problems);
  }
  const catchupWindowMs =
    opts.catchupWindow === undefined
      ? undefined
      : take(durationOf('--catchup-window', opts.catchupWindow, { minMs: 10_000 }));

  if (problems.length > 0) throw new ScheduleSpecError(problems);
  return {
    scheduleId,
    workflowType: opts.workflow as WorkflowType,
    args: args ?? [],
    spec,
    overlap,
    catchupWindowMs,
    paused: opts.paused === true,
    note: opts.note,
    summary,
  };
}

/** Temporal's compiled form of a spec, in one line: for schedules made elsewhere (no summary kept). */
export function summarizeSpec(spec: ScheduleSpecDescription | undefined): string {
  if (!spec) return 'unknown';
  const parts = [
    ...(spec.intervals ?? []).map(
      (i) => `every ${formatDuration(i.every)}${i.offset ? ` offset ${formatDuration(i.offset)}` : ''}`,
    ),
    ...(spec.calendars ?? []).map((c) => `calendar ${summarizeCalendar(c)}`),
  ];
  const text = parts.length > 0 ? parts.join('; ') : 'no times (never runs)';
  return `${text}${spec.timezone ? ` (${spec.timezone})` : ''}${spec.jitter ? `, jitter ${formatDuration(spec.jitter)}` : ''}`;
}

// A field that matches every value says nothing; second 0 is what everyone means.
const EVERY_VALUE: Partial<Record<keyof CalendarSpecDescription, string>> = {
  second: '0-59',
  minute: '0-59',
  hour: '0-23',
  dayOfMonth: '1-31',
  month: 'JANUARY-DECEMBER',
  year: '',
  dayOfWeek: 'SUNDAY-SATURDAY',
};

function summarizeCalendar(c: CalendarSpecDescription): string {
  const fields = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'year', 'dayOfWeek'] as const;
  const shown = fields.flatMap((name) => {
    const text = c[name]
      .map((r) => `${r.start}${r.end !== r.start ? `-${r.end}` : ''}${r.step > 1 ? `/${r.step}` : ''}`)
      .join(',');
    if (text === EVERY_VALUE[name] || (name === 'second' && text === '0')) return [];
    return [`${name}=${text}`];
  });
  return `${shown.join(' ') || 'every second'}${c.comment ? ` # ${c.comment}` : ''}`;
}
