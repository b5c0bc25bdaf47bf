// `vaultops secret rotate|rollback`: start a secretRotationWorkflow, or roll one back. Input is
// checked first (secret-args.ts: exit 2, nothing started); a rotation the workflow refuses (the
// secret is held by another: RotationInProgress) is printed with the workflow's own message, exit 1.
// `status`, `history` (secret-view.ts) and `schedule` (secret-schedule.ts) live beside this file.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Client,
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MAX_REASON_LENGTH } from '../../../common/approval.js';
import { formatDuration } from '../../../common/durations.js';
import { ROTATION_IN_PROGRESS } from '../../../common/rotation/labels.js';
import {
  type RollbackRequest,
  rollbackUpdate,
  rotationPhaseQuery,
} from '../../../workflows/rotation/messages.js';
import type { SecretRotationResult } from '../../../workflows/rotation/secret-rotation.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import {
  type GlobalOptions,
  resolveTemporal,
  type TemporalTarget,
  withClient,
} from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import {
  idTimestamp,
  parseRotation,
  ROTATION_WORKFLOW,
  type RotateOptions,
  type RotationRequest,
  rotationIdPrefix,
  rotationWorkflowId,
  versionOption,
} from './args.js';
import { readSecretMetadata, restoreProblem } from './vault-reads.js';

type Out = (line: string) => void;

export interface SecretRotateOptions extends GlobalOptions, RotateOptions {
  wait?: boolean;
}

export interface SecretRollbackOptions extends SecretRotateOptions {
  as: string;
  reason?: string;
  toVersion?: string;
}

export async function secretRotateCommand(arg: string, opts: SecretRotateOptions, out: Out): Promise<void> {
  const request = parseRotation(arg, opts);
  const workflowId = rotationWorkflowId(request, opts.id, new Date());
  // Given explicitly (the workflow's default is the same id), so the lock names this workflow.
  await startRotation({ ...request, rotationId: workflowId }, workflowId, opts, out);
}

export async function secretRollbackCommand(
  arg: string,
  opts: SecretRollbackOptions,
  out: Out,
): Promise<void> {
  const as = opts.as?.trim() ?? '';
  if (as === '') throw new UsageError('--as is required: name who asks for the rollback');
  const reason = opts.reason?.trim() || undefined;
  if (reason && reason.length > MAX_REASON_LENGTH)
    throw new UsageError(`--reason must be at most ${MAX_REASON_LENGTH} characters`);
  if (opts.toVersion === undefined) {
    const stray = (
      [
        'target',
        'field',
        'admin',
        'role',
        'host',
        'connection',
        'verifyRole',
        'dbMount',
        'strategy',
        'grace',
        'passwordPolicy',
        'notice',
        'webhook',
        'mount',
        'cluster',
        'id',
        'wait',
      ] as const
    ).filter((k) => opts[k] !== undefined);
    if (stray.length > 0)
      throw new UsageError(
        `${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ${stray.length === 1 ? 'goes' : 'go'} with --to-version; to roll back a rotation in its grace period give only its workflow id, --as and --reason`,
      );
    await rollbackDuringGrace(arg, { as, ...(reason ? { reason } : {}) }, opts, out);
    return;
  }
  const version = versionOption(opts.toVersion);
  const request = parseRotation(arg, opts, 'rollback not started');
  const m = await readSecretMetadata(request);
  const problem = restoreProblem(m, request, version);
  if (problem) throw new UsageError(`rollback not started: ${problem}`);
  if (m.labels.rotation)
    throw new Error(
      `rollback not started: ${request.mount}/${request.path} is being rotated by ${m.labels.rotation}; ` +
        `wait for it, or roll that one back: ${VAULTOPS} secret rollback ${m.labels.rotation} --as ${as}`,
    );
  const workflowId = `${rotationIdPrefix(request.cluster, request)}${opts.id ?? `restore-v${version}-${idTimestamp(new Date())}`}`;
  await startRotation(
    { ...request, rotationId: workflowId, restoreVersion: version },
    workflowId,
    opts,
    out,
    { requestedBy: as, ...(reason ? { reason } : {}), restoreVersion: version },
  );
}

/** The rollback Update: valid during the grace period only; the workflow's refusal is printed as is. */
async function rollbackDuringGrace(
  workflowId: string,
  request: RollbackRequest,
  opts: GlobalOptions,
  out: Out,
): Promise<void> {
  const done = await withClient(resolveTemporal(opts), async (client) => {
    try {
      return await client.workflow.getHandle(workflowId).executeUpdate(rollbackUpdate, { args: [request] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const why = err.cause?.message ?? err.message;
        if (/no registered handler/i.test(why))
          throw new Error(`workflow ${workflowId} is not a secret rotation (it takes no rollback)`);
        throw new Error(`rollback refused: ${why}`);
      }
      if (err instanceof WorkflowNotFoundError) throw await notRunning(client, workflowId);
      throw err;
    }
  });
  out(
    `Rolled back ${workflowId} as ${request.as}: version ${done.current} (the previous credential) is current again; version ${done.previous} is kept as previous`,
  );
  out(`\`${VAULTOPS} status ${workflowId}\` shows each step.`);
}

async function startRotation(
  input: RotationRequest,
  workflowId: string,
  opts: SecretRotateOptions,
  out: Out,
  memo?: Record<string, unknown>,
): Promise<void> {
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const handle = await startWorkflowOnce(
      client,
      ROTATION_WORKFLOW,
      { taskQueue: target.temporal.task_queue, workflowId, args: [input], ...(memo ? { memo } : {}) },
      () =>
        new UsageError(
          `a rotation with id ${workflowId} exists already (\`${VAULTOPS} status ${workflowId}\` shows it); choose another --id`,
        ),
    );
    const what = input.restoreVersion ? `Restoring version ${input.restoreVersion} of` : 'Rotating';
    out(`${what} ${input.mount}/${input.path}: workflow ${workflowId}`);
    out(
      `  target ${input.target.kind}, strategy ${input.strategy}, grace ${formatDuration(input.graceMs)}` +
        `${input.noticeMs ? `, notice ${formatDuration(input.noticeMs)}` : ''}${input.cluster !== 'default' ? `, cluster ${input.cluster}` : ''}`,
    );
    out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
    if (opts.wait) {
      out(`Waiting for it to finish (through the grace period, ${formatDuration(input.graceMs)})...`);
      const result = await outcome(handle);
      out(describeResult(input, result));
      return;
    }
    await watchLock(client, handle, target, out);
  });
}

/** What a rotation came to; a failure (a refusal among them) becomes an Error with its own words. */
async function outcome(handle: WorkflowHandle): Promise<SecretRotationResult> {
  try {
    return (await handle.result()) as SecretRotationResult;
  } catch (err) {
    throw failureOf(handle.workflowId, err);
  }
}

function failureOf(workflowId: string, err: unknown): Error {
  if (!(err instanceof WorkflowFailedError)) return err as Error;
  let cause: unknown = err.cause;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type === ROTATION_IN_PROGRESS)
      return new Error(`rotation refused: ${cause.message}`);
    if (!(cause as { cause?: unknown }).cause) break;
    cause = (cause as { cause?: unknown }).cause;
  }
  const why = cause instanceof Error ? cause.message : (err.cause?.message ?? err.message);
  return new Error(`rotation ${workflowId} failed: ${why}`);
}

export function describeResult(
  input: Pick<RotationRequest, 'mount' | 'path'>,
  r: SecretRotationResult,
): string {
  const where = `${input.mount}/${input.path}`;
  if (r.outcome === 'rolled-back')
    return `Rolled back ${where} in its grace period: version ${r.current} (the previous credential) is current`;
  return `Rotated ${where}: version ${r.current} is current${r.previous === null ? '' : `, version ${r.previous} previous (retired after the grace period)`}`;
}

/** How long `rotate` watches a new rotation for a refusal at the lock. */
const LOCK_WATCH_MS = 15_000;
const QUERY_DEADLINE_MS = 2_000;

/**
 * Watches the new rotation until it is past its lock: a secret held by another rotation is
 * refused there, and that refusal is the answer the user waits for, not a later surprise.
 */
async function watchLock(client: Client, handle: WorkflowHandle, target: TemporalTarget, out: Out) {
  const deadline = Date.now() + LOCK_WATCH_MS;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name === 'FAILED') throw failureOf(handle.workflowId, await handle.result().catch((e) => e));
    if (status.name !== 'RUNNING') {
      out(`  ${status.name.toLowerCase()} already`);
      return;
    }
    const phase = await client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(rotationPhaseQuery))
      .catch(() => undefined);
    if (phase !== undefined && phase !== 'starting' && phase !== 'lock') {
      out(
        `  ${phase === 'notice' ? 'announced; it begins after the notice period' : `locked; now at ${phase}`}`,
      );
      return;
    }
    if (Date.now() > deadline) {
      out(
        `  not past its lock after ${LOCK_WATCH_MS / 1000}s: is a ${VAULTOPS} worker polling task queue "${target.temporal.task_queue}"?`,
      );
      return;
    }
    await sleep(250);
  }
}

/** Temporal says "not found" both for an unknown id and for a workflow that has closed. */
async function notRunning(client: Client, workflowId: string): Promise<Error> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return new Error(
      `rollback refused: workflow ${workflowId} is no longer running (${status.name}); to go back to an older version: ${VAULTOPS} secret rollback <mount/path> --to-version N`,
    );
  } catch {
    return new Error(
      `no workflow with id "${workflowId}" in namespace ${client.options.namespace}; \`${VAULTOPS} secret history <mount/path>\` lists a secret's rotations`,
    );
  }
}
