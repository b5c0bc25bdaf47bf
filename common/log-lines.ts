// Log lines for a person at a terminal (`vaultops dev`): pino's JSON line becomes
// `12:00:01 WARN  message  key=value ...`; an alert reads as a sentence with its facts; an error
// shows its type and message (its stack only when debugging); colour only on a terminal.

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLOURS: Record<string, string> = { WARN: '\x1b[33m', ERROR: '\x1b[31m', FATAL: '\x1b[31m' };
/** Fields every line has, or that say nothing to a person at the dev terminal. */
const OMITTED = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname', 'alert', 'err']);

export interface HumanLineOptions {
  colour: boolean;
  /** Print an error's stack below its line. */
  stacks: boolean;
}

/** One pino JSON line, as a person reads it; anything that is not one passes unchanged. */
export function humanLogLine(line: string, { colour, stacks }: HumanLineOptions): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.level !== 'number') return line;
  const level = LEVELS[entry.level] ?? String(entry.level);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const label = colour && COLOURS[level] ? `${COLOURS[level]}${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
  const parts = [`${time} ${label} ${alertText(entry.alert) ?? String(entry.msg ?? '')}`];
  const fields = Object.entries(entry)
    .filter(([k, v]) => !OMITTED.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (fields.length > 0) parts.push(fields.join(' '));
  const err = entry.err as { type?: string; message?: string; stack?: string } | string | undefined;
  if (typeof err === 'string') parts.push(err);
  else if (err?.message) parts.push(`${err.type ? `${err.type}: ` : ''}${err.message}`);
  let text = parts.join('  ');
  if (stacks && typeof err === 'object' && err?.stack)
    text += `\n${err.stack
      .split('\n')
      .slice(1)
      .map((l) => `    ${l.trim()}`)
      .join('\n')}`;
  return `${text}\n`;
}

/** An alert (activities/notifier.ts) as a sentence: what happened, where, when, and its facts. */
function alertText(alert: unknown): string | undefined {
  if (typeof alert !== 'object' || alert === null) return undefined;
  const a = alert as { event?: string; cluster?: string; episode?: number; at?: string; detail?: object };
  const facts = Object.entries(a.detail ?? {})
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return `alert: ${a.event} on cluster ${a.cluster} (episode ${a.episode}, at ${a.at})${facts ? `: ${facts}` : ''}`;
}

/** A Temporal SDK log entry (the worker's runtime logger), as our logger's level, message and fields. */
export interface SdkLogEntry {
  level: string;
  message: string;
  meta?: Record<string, unknown> | undefined;
}

/**
 * Retryable failures the runbooks expect and wait out (a sealed or unreachable Vault): one line
 * without a stack, since the step's state already says what it waits for.
 */
const EXPECTED_FAILURES = new Set(['VaultSealed', 'VaultUnavailable', 'VaultRateLimited']);

/**
 * The SDK logs an activity failure with the whole error and the task token; we log which activity,
 * which attempt and why (the token is an internal handle of no use to a reader).
 */
export function sdkLogRecord(entry: SdkLogEntry): { fields: Record<string, unknown>; message: string } {
  const { taskToken: _token, error, ...meta } = entry.meta ?? {};
  if (entry.message !== 'Activity failed' || !(error instanceof Error)) {
    return { fields: error === undefined ? meta : { ...meta, err: error }, message: entry.message };
  }
  const type = (error as { type?: unknown }).type;
  const expected = typeof type === 'string' && EXPECTED_FAILURES.has(type);
  const { activityType, attempt, workflowId, workflowType, activityId } = meta as Record<string, unknown>;
  const fields = { activityType, attempt, workflowId, workflowType, activityId };
  return {
    fields: expected ? fields : { ...fields, err: error },
    message: `activity ${String(activityType)} failed (attempt ${String(attempt)})${expected ? `: ${typeof type === 'string' ? `${type}: ` : ''}${error.message}; retrying` : ''}`,
  };
}
