// The dev terminal is readable: the worker's log lines for a person (an alert as a sentence, an
// expected seal as one line without the SDK's stack and task token), colour only on a terminal.
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { humanLogLine, sdkLogRecord } from '../../common/log-lines.js';
import { createLogger } from '../../common/logger.js';

/** What our logger writes for `fn`, as JSON lines. */
function logged(fn: (log: ReturnType<typeof createLogger>) => void): string[] {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  fn(createLogger({ level: 'info', destination }));
  return lines;
}

// What the Temporal SDK logs when an activity fails (activity.js, with activityLogAttributes).
const sdkFailure = (error: Error) => ({
  level: 'WARN',
  message: 'Activity failed',
  meta: {
    error,
    durationMs: 12,
    isLocal: false,
    attempt: 3,
    namespace: 'default',
    taskToken: 'CiQ5ZDQ0ZjA1Ni1hYmNkLTQ1ZjAtYTU2Yi0xMjM0NTY3ODkwYWIS',
    activityId: '7',
    activityType: 'kvWrite',
    taskQueue: 'vaultops',
    workflowId: 'rotate:default:secret/app:1',
    workflowType: 'secretRotationWorkflow',
  },
});

const sealed = ApplicationFailure.create({
  type: 'VaultSealed',
  message: 'PUT secret/data/app: Vault is sealed',
});

describe('the dev terminal', () => {
  it('an expected seal is one line: which activity, which attempt, why; no stack, no task token', () => {
    const [json = ''] = logged((log) => {
      const { fields, message } = sdkLogRecord(sdkFailure(sealed));
      log.warn(fields, message);
    });
    const line = humanLogLine(json, { colour: false, stacks: false });
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}activity kvWrite failed \(attempt 3\): VaultSealed: PUT secret\/data\/app: Vault is sealed; retrying {2}/,
    );
    expect(line).toContain('workflowId=rotate:default:secret/app:1');
    expect(json).not.toContain('CiQ5ZDQ0');
    expect(json).not.toContain('"stack"');
  });

  it('an unexpected failure keeps its error (its stack in the JSON, and when debugging)', () => {
    const [json = ''] = logged((log) => {
      const { fields, message } = sdkLogRecord(sdkFailure(new TypeError('x is undefined')));
      log.warn(fields, message);
    });
    expect(JSON.parse(json).err.stack).toContain('TypeError: x is undefined');
    expect(humanLogLine(json, { colour: false, stacks: false })).toMatch(
      /activity kvWrite failed \(attempt 3\) .* TypeError: x is undefined\n$/,
    );
    expect(humanLogLine(json, { colour: false, stacks: true }).split('\n').length).toBeGreaterThan(3);
  });

  it('an alert reads as a sentence with its facts, not JSON', () => {
    const alert = {
      event: 'sealed',
      cluster: 'default',
      episode: 2,
      at: '2026-12-01T10:00:00.000Z',
      detail: { node: 'http://127.0.0.1:8200' },
    };
    const [json = ''] = logged((log) => log.warn({ alert }, 'vaultops alert: sealed (default)'));
    expect(humanLogLine(json, { colour: false, stacks: false })).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}alert: sealed on cluster default \(episode 2, at 2026-12-01T10:00:00\.000Z\): node http:\/\/127\.0\.0\.1:8200\n$/,
    );
  });

  it('colour codes only when stdout is a terminal', async () => {
    const script = [
      "import { logForHumans, logger } from './common/logger.ts';",
      'logForHumans();',
      "logger.warn({ alert: { event: 'sealed', cluster: 'default', episode: 1, at: 'now' } }, 'alert');",
    ].join('\n');
    const run = (command: string, args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(command, args, { cwd: REPO_DIR, timeout: 60_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
    const tsx = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    const piped = await run(tsx[0] as string, tsx.slice(1));
    expect(piped).toMatch(/^\d\d:\d\d:\d\d WARN {2}alert: sealed on cluster default/);
    expect(piped).not.toContain('\x1b[');
    // script(1) gives the process a pseudo-terminal, as a user's shell does.
    const quoted = tsx.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const onTerminal = await run('script', ['-qfec', quoted, '/dev/null']);
    expect(onTerminal).toContain('\x1b[33mWARN \x1b[0m alert: sealed');
  }, 120_000);
});
