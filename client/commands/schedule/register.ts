// Temporal Schedules that start vaultops workflows. Options stay strings here and are checked in
// the command's module (common/schedule/spec.ts), so this file loads neither zod nor Temporal.
import type { Print, Program } from '../cli-options.js';

const OVERLAPS = 'skip|buffer-one|buffer-all|cancel-other|terminate-other|allow-all';

export function registerSchedule(program: Program, out: Print): void {
  const schedule = program
    .command('schedule')
    .description(
      'run vaultops workflows on a schedule (Temporal Schedules): create, list, pause, trigger, ...',
    );

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
      const { scheduleCreateCommand } = await import('./schedule.js');
      await scheduleCreateCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('list')
    .description('list schedules: workflow, spec, state, next run, recent runs')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd) => {
      const { scheduleListCommand } = await import('./schedule.js');
      await scheduleListCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('describe')
    .description('show a schedule: spec, policies, next 5 runs, recent runs with their workflow ids, note')
    .argument('<schedule-id>')
    .option('--json', 'print as JSON')
    .action(async (scheduleId, opts, cmd) => {
      const { scheduleDescribeCommand } = await import('./schedule.js');
      await scheduleDescribeCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('pause')
    .description('stop starting runs (runs already going are not touched)')
    .argument('<schedule-id>')
    .option('--note <text>', 'why; shown with the schedule')
    .action(async (scheduleId, opts, cmd) => {
      const { schedulePauseCommand } = await import('./schedule.js');
      await schedulePauseCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('unpause')
    .description('start runs again at the next scheduled time')
    .argument('<schedule-id>')
    .option('--note <text>', 'why; shown with the schedule')
    .action(async (scheduleId, opts, cmd) => {
      const { scheduleUnpauseCommand } = await import('./schedule.js');
      await scheduleUnpauseCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('trigger')
    .description("start a run now, under the schedule's overlap policy unless --overlap is given")
    .argument('<schedule-id>')
    .option('--overlap <policy>', `overlap policy for this run: ${OVERLAPS}`)
    .action(async (scheduleId, opts, cmd) => {
      const { scheduleTriggerCommand } = await import('./schedule.js');
      await scheduleTriggerCommand(scheduleId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  schedule
    .command('delete')
    .description('delete a schedule (workflows it started keep running)')
    .argument('<schedule-id>')
    .action(async (scheduleId, _opts, cmd) => {
      const { scheduleDeleteCommand } = await import('./schedule.js');
      await scheduleDeleteCommand(scheduleId, cmd.optsWithGlobals(), out);
    });
}
