// `vaultops secret ...` input → a rotation request, checked before anything connects. Pure (no
// Temporal, no Vault), so every rule is unit-tested without a server and bad input exits 2 with
// what to fix. The workflow checks its input again; these checks are for the person at the prompt.

import type { RotationTargetSpec } from '../../../activities/rotation/inputs.js';
import { parseDuration } from '../../../common/durations.js';
import { isRotationId } from '../../../common/rotation/labels.js';
import type { SecretRotationInput } from '../../../workflows/rotation/secret-rotation.js';
import { UsageError } from '../usage-error.js';

/** The workflow's name; its messages are workflows/rotation/messages.ts (no activity proxies). */
export const ROTATION_WORKFLOW = 'secretRotationWorkflow';

export const TARGET_KINDS = ['kv', 'postgres', 'mariadb', 'database-static', 'database-root'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
export const STRATEGIES = ['single-user', 'alternating'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The workflow's target spec and input, as the CLI builds them (types only: nothing loads). */
export type TargetSpec = RotationTargetSpec;
export type RotationRequest = Omit<SecretRotationInput, 'cluster'> & { cluster: string };

/** The options of `secret rotate` (and of `secret schedule`, `secret rollback --to-version`), as commander hands them over. */
export interface RotateOptions {
  target?: string | undefined;
  field?: string | undefined;
  admin?: string | undefined;
  role?: string | undefined;
  host?: string | undefined;
  connection?: string | undefined;
  verifyRole?: string | undefined;
  dbMount?: string | undefined;
  strategy?: string | undefined;
  grace?: string | undefined;
  passwordPolicy?: string | undefined;
  notice?: string | undefined;
  webhook?: string | undefined;
  id?: string | undefined;
  cluster?: string | undefined;
  mount?: string | undefined;
}

export const DEFAULT_GRACE = '24h';
const CLUSTER = /^[a-z0-9][a-z0-9-]*$/;
/** Path segments: what a rotation id may hold, less '/' and ':' (the separators of the workflow id). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface SecretRef {
  mount: string;
  path: string;
}

/** What is wrong with a slash-separated KV path, or undefined. */
function pathProblem(what: string, text: string): string | undefined {
  const segments = text.split('/');
  if (text === '' || segments.some((s) => s === ''))
    return `${what} "${text}" has an empty segment; write e.g. secret/app/db`;
  const bad = segments.find((s) => !SEGMENT.test(s) || s === '.' || s === '..');
  if (bad !== undefined)
    return `${what} "${text}": segment "${bad}" may hold only letters, digits and . _ - (and not be . or ..)`;
  return undefined;
}

/**
 * `<mount/path>` → mount and path: the first segment is the mount, unless `mount` (--mount) is
 * given, for mounts whose own path has a slash (then the whole argument is the path in it).
 */
export function splitSecretPath(arg: string, mount?: string): SecretRef {
  const text = arg.trim().replace(/^\/+|\/+$/g, '');
  if (mount !== undefined) {
    const m = mount.trim().replace(/^\/+|\/+$/g, '');
    const problem = pathProblem('--mount', m) ?? pathProblem('secret path', text);
    if (problem) throw new UsageError(problem);
    return { mount: m, path: text };
  }
  const problem = pathProblem('secret path', text);
  if (problem) throw new UsageError(problem);
  const slash = text.indexOf('/');
  if (slash < 0)
    throw new UsageError(
      `secret path "${text}" names no secret: write <mount>/<path>, e.g. secret/app/db (or give --mount)`,
    );
  return { mount: text.slice(0, slash), path: text.slice(slash + 1) };
}

/** `rotate:<cluster>:<mount>/<path>:`: every rotation workflow of the secret starts with this. */
export function rotationIdPrefix(cluster: string, ref: SecretRef): string {
  return `rotate:${cluster}:${ref.mount}/${ref.path}:`;
}

/** A UTC timestamp that reads well in an id: 2026-11-22T21:35:17Z. */
export function idTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Go-style duration in ms, or the problem with it. */
export function durationOption(flag: string, text: string): number | string {
  const ms = parseDuration(text);
  if (ms === undefined) return `${flag}: "${text}" is not a duration; write e.g. 90s, 15m, 24h or 7d`;
  return ms;
}

function isDatabase(kind: TargetKind): boolean {
  return kind !== 'kv';
}

/** Where --admin points: `<mount>/<path>` of the KV secret holding the admin connection. */
function adminOf(text: string): { mount: string; path: string } | string {
  const t = text.trim().replace(/^\/+|\/+$/g, '');
  const problem = pathProblem('--admin', t);
  if (problem) return problem;
  const slash = t.indexOf('/');
  if (slash < 0) return `--admin "${t}": write <mount>/<path> of the KV secret holding the admin connection`;
  return { mount: t.slice(0, slash), path: t.slice(slash + 1) };
}

/**
 * Checks the target options and the rest of a rotation's settings, every problem at once, and
 * builds the workflow input (without restoreVersion and rotationId: the caller decides those).
 * `outcome` begins the error message: "rotation not started", "schedule not created", ...
 */
export function parseRotation(
  arg: string,
  opts: RotateOptions,
  outcome = 'rotation not started',
): RotationRequest {
  const problems: string[] = [];
  const fail = (): never => {
    throw new UsageError(
      problems.length === 1
        ? `${outcome}: ${problems[0]}`
        : `${outcome}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  };
  let ref: SecretRef | undefined;
  try {
    ref = splitSecretPath(arg, opts.mount);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const cluster = opts.cluster ?? 'default';
  if (!CLUSTER.test(cluster))
    problems.push(
      `--cluster "${cluster}" must be a cluster name (lowercase letters, digits and "-"), such as "dr-standby"`,
    );

  const kind = opts.target;
  if (kind === undefined) {
    problems.push(`--target is required: one of ${TARGET_KINDS.join(', ')}`);
    fail();
  }
  if (!(TARGET_KINDS as readonly string[]).includes(kind as string)) {
    problems.push(`--target "${kind}" is not a target; use one of ${TARGET_KINDS.join(', ')}`);
    fail();
  }
  const k = kind as TargetKind;
  const only = (flag: string, value: string | undefined, kinds: TargetKind[]) => {
    if (value !== undefined && !kinds.includes(k))
      problems.push(`${flag} goes with --target ${kinds.join(' or ')}, not ${k}`);
  };
  only('--field', opts.field, ['kv']);
  only('--admin', opts.admin, ['postgres', 'mariadb']);
  only('--role', opts.role, ['postgres', 'mariadb', 'database-static']);
  only('--host', opts.host, ['mariadb']);
  only('--connection', opts.connection, ['database-root']);
  only('--verify-role', opts.verifyRole, ['database-root']);
  only('--db-mount', opts.dbMount, ['database-static', 'database-root']);
  const need = (flag: string, value: string | undefined, what: string) => {
    if (value === undefined || value.trim() === '') problems.push(`--target ${k} needs ${flag} ${what}`);
  };
  const nameCheck = (flag: string, value: string | undefined) => {
    if (value !== undefined && value.trim() !== '' && !NAME.test(value))
      problems.push(`${flag} "${value}" may hold only letters, digits and . _ - (at most 63)`);
  };

  let target: TargetSpec | undefined;
  switch (k) {
    case 'kv':
      nameCheck('--field', opts.field);
      target = { kind: 'kv', ...(opts.field ? { field: opts.field } : {}) };
      break;
    case 'postgres':
    case 'mariadb': {
      need('--admin', opts.admin, '<mount>/<path> (the KV secret holding the admin connection)');
      need('--role', opts.role, '<role> (the account, or the base of the pair <role>_a/<role>_b)');
      nameCheck('--role', opts.role);
      if (opts.host !== undefined && !/^[A-Za-z0-9.%_:-]+$/.test(opts.host))
        problems.push(`--host "${opts.host}" must be a MariaDB account host such as % or 10.0.0.%`);
      const admin = opts.admin ? adminOf(opts.admin) : undefined;
      if (typeof admin === 'string') problems.push(admin);
      if (admin && typeof admin !== 'string' && opts.role) {
        target =
          k === 'postgres'
            ? { kind: 'postgres', admin, role: opts.role }
            : { kind: 'mariadb', admin, role: opts.role, ...(opts.host ? { host: opts.host } : {}) };
      }
      break;
    }
    case 'database-static':
      need('--role', opts.role, '<role> (the static role of the database engine)');
      nameCheck('--role', opts.role);
      nameCheck('--db-mount', opts.dbMount);
      if (opts.role)
        target = {
          kind: 'database-static',
          role: opts.role,
          ...(opts.dbMount ? { dbMount: opts.dbMount } : {}),
        };
      break;
    case 'database-root':
      need('--connection', opts.connection, '<name> (the database engine connection whose root rotates)');
      nameCheck('--connection', opts.connection);
      nameCheck('--verify-role', opts.verifyRole);
      nameCheck('--db-mount', opts.dbMount);
      if (opts.connection)
        target = {
          kind: 'database-root',
          connection: opts.connection,
          ...(opts.dbMount ? { dbMount: opts.dbMount } : {}),
          ...(opts.verifyRole ? { verifyRole: opts.verifyRole } : {}),
        };
      break;
  }

  // Alternating users needs two accounts the rotation can switch between: a KV value and a
  // database engine's root connection are one credential each.
  const strategy = (opts.strategy ??
    (isDatabase(k) && k !== 'database-root' ? 'alternating' : 'single-user')) as Strategy;
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    problems.push(`--strategy "${strategy}" is not a strategy; use single-user or alternating`);
  else if (strategy === 'alternating' && (k === 'kv' || k === 'database-root'))
    problems.push(
      `--strategy alternating needs two accounts to switch between, and --target ${k} has one credential; use --strategy single-user`,
    );

  const grace = durationOption('--grace', opts.grace ?? DEFAULT_GRACE);
  if (typeof grace === 'string') problems.push(grace);
  let noticeMs: number | undefined;
  if (opts.notice !== undefined) {
    const notice = durationOption('--notice', opts.notice);
    if (typeof notice === 'string') problems.push(notice);
    else noticeMs = notice;
  }
  if (opts.webhook !== undefined) {
    let ok = false;
    try {
      const url = new URL(opts.webhook);
      ok = url.protocol === 'http:' || url.protocol === 'https:';
    } catch {}
    if (!ok) problems.push(`--webhook "${opts.webhook}" must be an http:// or https:// URL`);
  }
  nameCheck('--password-policy', opts.passwordPolicy);
  if (opts.id !== undefined && !ID.test(opts.id))
    problems.push(
      `--id "${opts.id}" must start with a letter or digit and hold only letters, digits and . _ - (at most 64)`,
    );
  if (problems.length > 0 || !ref || !target || typeof grace === 'string') fail();
  return {
    cluster,
    mount: (ref as SecretRef).mount,
    path: (ref as SecretRef).path,
    target: target as TargetSpec,
    strategy,
    graceMs: grace as number,
    ...(noticeMs ? { noticeMs } : {}),
    ...(opts.webhook ? { webhookUrl: opts.webhook } : {}),
    ...(opts.passwordPolicy ? { passwordPolicy: opts.passwordPolicy } : {}),
  };
}

/** The workflow id of a rotation started from the CLI: `rotate:<cluster>:<mount>/<path>:<id or time>`. */
export function rotationWorkflowId(request: RotationRequest, id: string | undefined, at: Date): string {
  const workflowId = `${rotationIdPrefix(request.cluster, request)}${id ?? idTimestamp(at)}`;
  // The workflow id is also the rotation id in the secret's labels, which has a length limit.
  if (!isRotationId(workflowId))
    throw new UsageError(
      `rotation not started: the workflow id ${workflowId} is too long for a rotation id (at most 200 characters); shorten the path or --id`,
    );
  return workflowId;
}

/** `--to-version N`: a KV version number. */
export function versionOption(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text.trim()))
    throw new UsageError(`--to-version "${text}" must be a KV version number (1 or more)`);
  return Number(text.trim());
}

/** The schedule of one secret: an id `vaultops schedule` accepts (no '/'), naming cluster and secret. */
export function rotationScheduleId(cluster: string, ref: SecretRef): string {
  return `rotate:${cluster}:${`${ref.mount}/${ref.path}`.replaceAll('/', '.')}`;
}
