// Secret rotation on KV v2: lock the secret, create a pending credential,
// set it on the target, test it, promote it to current, keep the previous one valid for the grace
// period (a durable timer, during which a `rollback` update puts the previous one back), retire
// the previous one once no live session uses it, unlock. A failure or cancellation before the
// promotion reverts the target and removes the pending credential. The workflow handles
// references only (paths, versions); the credentials stay inside the activities.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  CreatePendingInput,
  RotationRef,
  RotationTargetSpec,
} from '../../activities/rotation/inputs.js';
import type { RotationEvent } from '../../activities/rotation/notify.js';
import type { RotationActivities } from '../../activities/rotation/protocol.js';
import type { LiveSession, RotationStrategy } from '../../activities/rotation/target.js';
import { isRotationId } from '../../common/rotation/labels.js';
import { presets } from '../lib/activity-presets.js';
import { createSaga } from '../lib/saga.js';
import { sealAware, sealAwareSteps } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import { type RollbackRequest, rollbackUpdate, rotationPhaseQuery } from './messages.js';

// Undoable: a revert of the target must not race a `set` that may still land.
const act = proxyActivities<RotationActivities>(presets.undoableVaultStep);
const events = proxyActivities<Pick<RotationActivities, 'rotationNotify'>>(presets.notify);

export interface SecretRotationInput {
  /** The configured cluster ("default" when unset). */
  cluster?: string;
  mount: string;
  path: string;
  target: RotationTargetSpec;
  strategy: RotationStrategy;
  /** How long the previous credential stays valid after the promotion. */
  graceMs: number;
  /** Locks the secret; the same id again is the same rotation (idempotent). Default: the workflow id. */
  rotationId?: string;
  /**
   * Rollback to a retained version: that KV version's credential becomes the pending one (set on
   * the target, tested and promoted as usual) instead of a newly generated credential.
   */
  restoreVersion?: number;
  /** Announces the rotation this long before it begins: a `notice` event, then a durable wait. */
  noticeMs?: number;
  /** Receives each event (notice, rotated, rolled-back, failed) as a JSON POST: references only. */
  webhookUrl?: string;
  /** A Vault password policy to generate the password with (random bytes when unset). */
  passwordPolicy?: string;
  /** How often retirement looks again while sessions use the previous credential (default 1 minute). */
  sessionRecheckMs?: number;
}

export interface SecretRotationResult {
  outcome: 'rotated' | 'rolled-back';
  /** The latest (current) KV version of the secret at the end. */
  current: number;
  /** The version before it, if any. */
  previous: number | null;
  /** Sessions retirement waited for, as they were last seen (who, never a credential). */
  waitedFor: LiveSession[];
}

export { type RollbackRequest, rollbackUpdate, rotationPhaseQuery };

export const ROTATION_STEPS = [
  'notice',
  'lock',
  'create-pending',
  'set',
  'test',
  'promote',
  'grace',
  'retire',
  'unlock',
] as const;

export async function secretRotationWorkflow(input: SecretRotationInput): Promise<SecretRotationResult> {
  const steps = trackSteps(ROTATION_STEPS);
  const saga = createSaga({ steps });
  const cluster = input.cluster ?? 'default';
  const rotationId = input.rotationId ?? workflowInfo().workflowId;
  checkInput(input, rotationId);
  const ref: RotationRef = {
    cluster,
    mount: input.mount,
    path: input.path,
    rotationId,
    target: input.target,
    strategy: input.strategy,
  };
  const vaultStep = sealAwareSteps(steps, cluster);
  // Events carry references and outcomes only. One that cannot be delivered is logged and shown
  // in the history (its failed activity); it does not undo or hold the rotation.
  const announce = async (event: RotationEvent['event'], detail: RotationEvent['detail'] = {}) => {
    if (!input.webhookUrl && !input.noticeMs) return; // nobody asked to hear of it
    try {
      await CancellationScope.nonCancellable(() =>
        events.rotationNotify({ ...ref, event, detail, webhookUrl: input.webhookUrl }),
      );
    } catch (err) {
      log.warn('rotation event not delivered', { event, error: failureDetail(err) });
    }
  };

  let rollbackRequested: RollbackRequest | undefined;
  let rollbackDone: { current: number; previous: number } | undefined;
  let rollbackError: string | undefined;
  setHandler(rotationPhaseQuery, () => steps.phase);
  setHandler(
    rollbackUpdate,
    async (request) => {
      rollbackRequested = request;
      await condition(() => rollbackDone !== undefined || rollbackError !== undefined);
      if (rollbackDone) return rollbackDone;
      throw ApplicationFailure.create({
        type: 'RotationRollbackFailed',
        message: rollbackError ?? 'rollback failed',
      });
    },
    {
      validator: (request) => {
        if (!request?.as) throw new Error('a rollback names who asks for it (as)');
        if (steps.phase !== 'grace')
          throw new Error(
            `a rollback is taken during the grace period only; the rotation is at "${steps.phase}"`,
          );
        if (rollbackRequested) throw new Error('a rollback was already requested');
      },
    },
  );

  // Before the promotion the saga undoes everything, the lock included; after it (the saga's
  // commit), the lock is released here.
  try {
    // Announced first: the people who own the secret's clients hear of it before anything changes.
    if (input.noticeMs) {
      const noticeMs = input.noticeMs;
      await steps.run('notice', async () => {
        await announce('notice', { startsInMs: noticeMs });
        await sleep(noticeMs);
      });
    } else {
      steps.set('notice', 'done', 'no notice asked for');
    }

    return await saga.run(async () => {
      const { baseVersion } = await vaultStep('lock', () => act.rotationLock(ref));
      saga.add('lock', () => act.rotationUnlock(ref));
      const pendingInput: CreatePendingInput = {
        ...ref,
        baseVersion,
        ...(input.passwordPolicy ? { passwordPolicy: input.passwordPolicy } : {}),
        ...(input.restoreVersion ? { restoreVersion: input.restoreVersion } : {}),
      };
      // The undo goes in before the step: a write that lands but reports failure is undone too.
      saga.add('create-pending', () => act.rotationDiscardPending(ref));
      await vaultStep('create-pending', () => act.rotationCreatePending(pendingInput));
      saga.add('set', () => act.rotationRevertTarget(pendingInput));
      await vaultStep('set', () => act.rotationSet(pendingInput));
      await vaultStep('test', () => act.rotationTest(ref));
      const promoted = await vaultStep('promote', () => act.rotationPromote(pendingInput));
      // Promoted: the new credential is current. Nothing is undone from here; the lock is released
      // whatever happens, even on cancellation (which keeps both credentials valid: nothing is retired).
      await saga.commit();
      let result: SecretRotationResult = {
        outcome: 'rotated',
        current: promoted.current,
        previous: promoted.previous,
        waitedFor: [],
      };
      if (promoted.previous !== null) {
        const previous = promoted.previous;
        // No grace asked for: no timer either (a zero timer still costs a round trip to the server).
        const rollback =
          input.graceMs > 0 &&
          (await steps.run('grace', () => condition(() => rollbackRequested !== undefined, input.graceMs), {
            as: 'running',
          }));
        if (input.graceMs === 0) steps.set('grace', 'done', 'no grace period asked for');
        if (rollback) {
          steps.enter('rolling-back');
          steps.set('grace', 'running', `rollback requested by ${rollbackRequested?.as}`);
          try {
            rollbackDone = await sealAware(
              'rollback',
              () => act.rotationRollback({ ...pendingInput, previous, current: promoted.current }),
              {
                cluster,
                onQueued: () => steps.set('grace', 'queued-sealed', 'rollback queued until the unseal'),
                onReleased: () => steps.set('grace', 'running', 'rolling back'),
              },
            );
          } catch (err) {
            rollbackError = failureDetail(err);
            steps.set('grace', 'failed', `rollback failed: ${rollbackError}`);
            throw err;
          }
          steps.set(
            'grace',
            'compensated',
            `rolled back by ${rollbackRequested?.as}${rollbackRequested?.reason ? `: ${rollbackRequested.reason}` : ''}`,
          );
          steps.set('retire', 'compensated', 'rolled back');
          result = { outcome: 'rolled-back', ...rollbackDone, waitedFor: [] };
        } else {
          const waitedFor = await steps.run('retire', () =>
            retireWhenUnused(
              ref,
              previous,
              promoted.current,
              input.sessionRecheckMs ?? 60_000,
              (state, detail) => steps.set('retire', state, detail),
            ),
          );
          result = { ...result, waitedFor };
        }
      } else {
        steps.set('grace', 'done', 'no previous credential');
        steps.set('retire', 'done', 'no previous credential');
      }
      await CancellationScope.nonCancellable(() => vaultStep('unlock', () => act.rotationUnlock(ref)));
      steps.enter('done');
      await announce(result.outcome, { current: result.current, previous: result.previous });
      return result;
    });
  } catch (err) {
    if (saga.committed) {
      await CancellationScope.nonCancellable(() => vaultStep('unlock', () => act.rotationUnlock(ref)));
    }
    const outcome = isCancellation(err) ? 'cancelled' : 'failed';
    steps.enter(outcome);
    await announce(outcome, { error: failureDetail(err) });
    throw err;
  }
}

function checkInput(input: SecretRotationInput, rotationId: string): void {
  const bad = (message: string) =>
    ApplicationFailure.create({ type: 'RotationBadInput', nonRetryable: true, message });
  if (!(input.graceMs >= 0)) throw bad('graceMs must be >= 0');
  if (!isRotationId(rotationId))
    throw bad(`rotation id ${JSON.stringify(rotationId)} has characters outside A-Z a-z 0-9 . _ : @ / -`);
  if (
    input.restoreVersion !== undefined &&
    !(Number.isInteger(input.restoreVersion) && input.restoreVersion >= 1)
  )
    throw bad('restoreVersion must be a KV version number (1 or more)');
  if (input.noticeMs !== undefined && !(input.noticeMs >= 0)) throw bad('noticeMs must be >= 0');
  // Alternating needs a pair of accounts; a KV value or the engine's root credential has one.
  if (
    input.strategy === 'alternating' &&
    (input.target.kind === 'kv' || input.target.kind === 'database-root')
  )
    throw bad(`the ${input.target.kind} target rotates one credential: use the single-user strategy`);
  if (input.webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(input.webhookUrl))
    throw bad('webhookUrl must be an http:// or https:// URL');
}

/**
 * Retires the previous credential once no live session uses it; while some do, looks again every
 * `recheckMs` and says who. Returns the sessions it waited for, as last seen.
 */
async function retireWhenUnused(
  ref: RotationRef,
  previous: number,
  current: number,
  recheckMs: number,
  say: (state: 'running' | 'queued-sealed', detail?: string) => void,
): Promise<LiveSession[]> {
  const sealed = {
    cluster: ref.cluster ?? 'default',
    onQueued: () => say('queued-sealed'),
    onReleased: () => say('running'),
  };
  let seen: LiveSession[] = [];
  for (;;) {
    const { sessions } = await sealAware(
      'retire',
      () => act.rotationSessions({ ...ref, previous, current }),
      sealed,
    );
    if (sessions.length === 0) break;
    seen = sessions;
    say(
      'running',
      `waiting for ${sessions.length} live session(s) of the previous credential: ${sessions
        .map((s) => `${s.user} pid ${s.pid} from ${s.client}${s.application ? ` (${s.application})` : ''}`)
        .join(', ')}`,
    );
    await sleep(recheckMs);
  }
  await sealAware('retire', () => act.rotationRetire({ ...ref, previous, current }), sealed);
  return seen;
}
