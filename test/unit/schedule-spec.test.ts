// `vaultops schedule create` input rules (common/schedule/spec.ts): pure, no server. What the server
// does with what passes here is in test/e2e/schedule.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import {
  cronProblem,
  OVERLAP_NAMES,
  parseOverlap,
  parseScheduleCreate,
  type ScheduleCreateOptions,
  ScheduleSpecError,
  summarizeSpec,
} from '../../common/schedule/spec.js';
import { WORKFLOW_TYPES } from '../../common/workflow-types.js';

const base = { workflow: 'preflightWorkflow' } satisfies ScheduleCreateOptions;

/** The problems a create would be refused with (none: []). */
function problems(opts: ScheduleCreateOptions, id = 'nightly-preflight'): string[] {
  try {
    parseScheduleCreate(id, opts);
    return [];
  } catch (err) {
    if (err instanceof ScheduleSpecError) return err.problems;
    throw err;
  }
}

describe('a good spec becomes the request Temporal gets', () => {
  it('--every with --offset, overlap skip by default, the spec as written kept for display', () => {
    const r = parseScheduleCreate('nightly', {
      ...base,
      every: '24h',
      offset: '3h',
      args: '{"namespace":"admin"}',
    });
    expect(r.spec).toEqual({ intervals: [{ every: 86_400_000, offset: 10_800_000 }] });
    expect(r.args).toEqual([{ namespace: 'admin' }]);
    expect(r.overlap).toBe('SKIP');
    expect(r.catchupWindowMs).toBeUndefined();
    expect(r.paused).toBe(false);
    expect(r.summary).toBe('every 24h offset 3h');
  });

  it('--cron, with policies, jitter, paused and a note', () => {
    const r = parseScheduleCreate('weekdays', {
      ...base,
      cron: ' 0 3 * * MON-FRI ',
      overlap: 'buffer-one',
      catchupWindow: '10m',
      jitter: '5m',
      paused: true,
      note: 'until the change freeze ends',
    });
    expect(r.spec).toEqual({ cronExpressions: ['0 3 * * MON-FRI'], jitter: 300_000 });
    expect(r).toMatchObject({
      overlap: 'BUFFER_ONE',
      catchupWindowMs: 600_000,
      paused: true,
      note: 'until the change freeze ends',
      summary: 'cron 0 3 * * MON-FRI, jitter 5m',
    });
  });

  it('--calendar: one object or a list, names in any case, with --timezone', () => {
    const r = parseScheduleCreate('mondays', {
      ...base,
      calendar: '[{"hour": 3, "dayOfWeek": "monday"}, {"hour": [1, {"start": 10, "end": 20, "step": 5}]}]',
      timezone: 'Europe/Berlin',
    });
    expect(r.spec).toEqual({
      calendars: [{ hour: 3, dayOfWeek: 'MONDAY' }, { hour: [1, { start: 10, end: 20, step: 5 }] }],
      timezone: 'Europe/Berlin',
    });
  });

  it('a JSON array in --args is the argument list', () => {
    expect(parseScheduleCreate('a', { ...base, every: '1h', args: '[{"a":1}, 2]' }).args).toEqual([
      { a: 1 },
      2,
    ]);
    expect(parseScheduleCreate('a', { ...base, every: '1h' }).args).toEqual([]);
  });

  it.each(OVERLAP_NAMES)('overlap %s maps to a Temporal policy', (name) => {
    expect(parseOverlap(name)).toBe(name.toUpperCase().replace('-', '_'));
  });
});

describe('a bad spec is refused with what to write instead', () => {
  it('neither --every, --cron nor --calendar', () => {
    expect(problems(base)).toEqual([
      'say when it runs: --every <duration>, --cron "<expr>" or --calendar <json>',
    ]);
  });

  it('both --every and --cron', () => {
    expect(problems({ ...base, every: '1h', cron: '0 3 * * *' })).toEqual([
      'give one of --every, --cron and --calendar, not --every and --cron',
    ]);
  });

  it('an unknown workflow type names the known ones, and guesses', () => {
    expect(problems({ workflow: 'preflight', every: '1h' })).toEqual([
      `--workflow: "preflight" is not a workflow the vaultops worker runs (did you mean preflightWorkflow?); known: ${WORKFLOW_TYPES.join(', ')}`,
    ]);
    expect(problems({ every: '1h' })[0]).toMatch(/^--workflow is required: one of preflightWorkflow/);
  });

  it.each([
    [{ every: 'soon' }, '--every: "soon" is not a duration; write e.g. 90s, 15m, 1h30m or 7d'],
    [{ every: '500ms' }, '--every: 500ms is not a whole number of seconds'],
    [{ every: '0s' }, '--every: 0s is too short; the least Temporal takes is 1s'],
    [{ every: '1h', offset: '1h' }, '--offset 1h must be shorter than --every 1h'],
    [{ cron: '0 3 * * *', offset: '5m' }, '--offset goes with --every'],
    [
      { every: '1h', catchupWindow: '5s' },
      '--catchup-window: 5s is too short; the least Temporal takes is 10s',
    ],
    [{ every: '1h', jitter: '-1m' }, '--jitter: "-1m" is not a duration'],
    [{ every: '1h', overlap: 'queue' }, '--overlap: "queue" is not a policy; use one of skip, buffer-one'],
    [{ every: '1h', args: '{namespace: admin}' }, '--args: not JSON'],
    [{ every: '1h', timezone: 'Europe Berlin' }, '--timezone: "Europe Berlin" is not a time zone name'],
    [{ cron: 'CRON_TZ=UTC 0 3 * * *', timezone: 'UTC' }, '--timezone: the --cron expression names its own'],
  ] as [ScheduleCreateOptions, string][])('%j', (opts, message) => {
    const found = problems({ ...base, ...opts });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('a bad schedule id', () => {
    expect(problems({ ...base, every: '1h' }, 'nightly preflight')[0]).toContain(
      'schedule id "nightly preflight" must start with a letter or digit',
    );
    expect(problems({ ...base, every: '1h' }, 'x'.repeat(201))).toHaveLength(1);
  });

  it('every problem at once, in one message', () => {
    const err = (() => {
      try {
        parseScheduleCreate('a', { workflow: 'nope', every: 'soon', jitter: 'later' });
      } catch (e) {
        return e as ScheduleSpecError;
      }
    })();
    expect(err?.name).toBe('ScheduleSpecError');
    expect(err?.problems).toHaveLength(3);
    expect(err?.message).toMatch(/^schedule not created:\n {2}- --workflow: "nope"/);
  });
});

describe('cron, as Temporal reads it', () => {
  it.each([
    '0 3 * * *',
    '*/15 * * * *',
    '0 3 * JAN,feb MON-FRI',
    '0 0 3 * * * 2030', // 7 fields: second first, year last
    '0 3 * * * 2030', // 6 fields: the sixth is a year
    '0 3 * * MON-FRI # weekdays',
    'CRON_TZ=Europe/Berlin 0 3 * * *',
    '@daily',
    '@every 90m',
    '@every 1h/5m',
  ])('takes %j', (expr) => {
    expect(cronProblem(expr)).toBeUndefined();
  });

  it.each([
    ['0 3 * *', 'has 4 fields; write 5 (minute hour day-of-month month day-of-week), or 7'],
    ['abc', 'has 1 field;'],
    ['0 0 3 * * *', 'has 6 fields: Temporal reads the sixth as the year, not the first as seconds (Quartz)'],
    ['0 3 * * 1#2', "Temporal reads '#' as the start of a comment"],
    ['0 3 ? * MON', "'?' is Quartz syntax; write '*'"],
    ['0 3 L * *', "'L' and 'W' (last day, nearest weekday) are Quartz syntax"],
    ['0 3 15W * *', "'L' and 'W'"],
    ['0 3 * * 5L', "'L' and 'W'"],
    ['0 3 * * $', 'field "$" may hold only digits, names (JAN, MON)'],
    ['@fortnightly', 'the shorthands are @yearly'],
    ['', 'is empty'],
  ])('refuses %j', (expr, message) => {
    expect(cronProblem(expr)).toContain(message);
  });

  it('leaves value ranges to the server, whose message names the field', () => {
    expect(cronProblem('61 3 * * *')).toBeUndefined();
  });
});

describe('--calendar', () => {
  it.each([
    ['{"hour": 25}', '--calendar hour: must be 0-23'],
    [
      '{"hour": "3"}',
      '--calendar hour: must be "*", an hour 0-23, {"start": …, "end": …, "step": n} or a list',
    ],
    ['{"hours": 3}', '--calendar: unknown field "hours"; the fields are second, minute, hour, dayOfMonth'],
    [
      '[{"hour": 3}, {"dayOfWeek": "FUNDAY"}]',
      '--calendar [1].dayOfWeek: must be "*", a day name (SUNDAY-SATURDAY)',
    ],
    ['{"minute": {"start": 0, "step": 0}}', '--calendar minute.step: must be 1 or more'],
    ['[]', '--calendar: the list is empty'],
    ['3', '--calendar: must be a JSON object (or a list of them)'],
    ['{hour: 3}', '--calendar: not JSON'],
  ])('refuses %s', (json, message) => {
    const found = problems({ ...base, calendar: json });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });
});

describe('summaries of specs made elsewhere', () => {
  it('reads the compiled form back in one line', () => {
    expect(
      summarizeSpec({
        intervals: [{ every: 3_600_000, offset: 300_000 }],
        calendars: [
          {
            second: [{ start: 0, end: 0, step: 1 }],
            minute: [{ start: 30, end: 30, step: 1 }],
            hour: [{ start: 3, end: 3, step: 1 }],
            dayOfMonth: [{ start: 1, end: 31, step: 1 }],
            month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
            year: [],
            dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
            comment: 'weekdays',
          },
        ],
        timezone: 'Europe/Berlin',
      }),
    ).toBe(
      'every 1h offset 5m; calendar minute=30 hour=3 dayOfWeek=MONDAY-FRIDAY # weekdays (Europe/Berlin)',
    );
    expect(summarizeSpec({})).toBe('no times (never runs)');
  });
});

describe('the known workflow types', () => {
  it('are exactly what workflows/index.ts exports, the workflows the worker runs', () => {
    // Read as text, not imported: a workflow module is for the worker's bundle, not for Node.
    const index = readFileSync(join(REPO_DIR, 'workflows/index.ts'), 'utf8');
    const exported = [...index.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) =>
      (m[1] ?? '')
        .split(',')
        .map(
          (name) =>
            name
              .trim()
              .split(/\s+as\s+/)
              .at(-1) ?? '',
        )
        .filter((name) => name !== '' && !name.startsWith('type ')),
    );
    expect(index).not.toMatch(/export\s+(async\s+)?function|export\s+\*/); // forms the regexp above does not read
    expect([...WORKFLOW_TYPES].sort()).toEqual(exported.sort());
  });
});
