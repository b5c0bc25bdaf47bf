// Secret rotation on KV v2 (issue 9, first slice): lock the secret, create a pending credential,
// set it on the target, test it, promote it to current, keep the previous one valid for the grace
// period (a durable timer, during which a `rollback` update puts the previous one back), retire
// the previous one once no live session uses it, unlock. A failure or cancellation before the
// promotion reverts the target and removes the pending credential. The workflow handles
// references only (paths, versions); the credentials stay inside the activities.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { LiveSession, RotationStrategy } from '../activities/rotation/target.js';
import type {
  CreatePendingInput,
  RotationActivities,
  RotationRef,
  RotationTargetSpec,
} from '../activities/rotation.js';
import { createSaga } from './lib/saga.js';
import { SEAL_AWARE_RETRY, sealAware } from './lib/seal-aware.js';
import { failureDetail, trackSteps } from './lib/status.js';

const act = proxyActivities<RotationActivities>({
  startToCloseTimeout: '2 minutes',
  retry: SEAL_AWARE_RETRY,
});

export interface SecretRotationInput {
  /** The configured cluster ("default" when unset). */
  cluster?: string;
  mount: string;
  path: string;
  target: RotationTargetSpec;
  strategy: RotationStrategy;
  /** How long the previous credential stays valid after the promotion. */
  graceMs: number;
  /** Locks the secret; the same id again is the same rotation (idempotent). */
  rotationId: string;
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

export interface RollbackRequest {
  as: string;
  reason?: string;
}

export const rollbackUpdate = defineUpdate<{ current: number; previous: number }, [RollbackRequest]>(
  'rollback',
);
export const rotationPhaseQuery = defineQuery<string>('rotationPhase');

export const ROTATION_STEPS = [
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
  const ref: RotationRef = {
    cluster,
    mount: input.mount,
    path: input.path,
    rotationId: input.rotationId,
    target: input.target,
    strategy: input.strategy,
  };
  const vaultStep = <T>(name: (typeof ROTATION_STEPS)[number], run: () => Promise<T>) =>
    steps.run(name, () =>
      sealAware(name, run, {
        cluster,
        onQueued: () => steps.set(name, 'queued-sealed'),
        onReleased: () => steps.set(name, 'running'),
      }),
    );

  let phase = 'starting';
  let rollbackRequested: RollbackRequest | undefined;
  let rollbackDone: { current: number; previous: number } | undefined;
  let rollbackError: string | undefined;
  setHandler(rotationPhaseQuery, () => phase);
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
        if (phase !== 'grace')
          throw new Error(`a rollback is taken during the grace period only; the rotation is at "${phase}"`);
        if (rollbackRequested) throw new Error('a rollback was already requested');
      },
    },
  );

  if (!(input.graceMs >= 0)) {
    throw ApplicationFailure.create({
      type: 'RotationBadInput',
      nonRetryable: true,
      message: 'graceMs must be >= 0',
    });
  }

  phase = 'lock';
  const { promoted, pendingInput } = await saga.run(async () => {
    const { baseVersion } = await vaultStep('lock', () => act.rotationLock(ref));
    saga.add('lock', () => act.rotationUnlock(ref));
    const pendingInput: CreatePendingInput = {
      ...ref,
      baseVersion,
      ...(input.passwordPolicy ? { passwordPolicy: input.passwordPolicy } : {}),
    };
    phase = 'create-pending';
    // The undo goes in before the step: a write that lands but reports failure is undone too.
    saga.add('create-pending', () => act.rotationDiscardPending(ref));
    await vaultStep('create-pending', () => act.rotationCreatePending(pendingInput));
    phase = 'set';
    saga.add('set', () => act.rotationRevertTarget(pendingInput));
    await vaultStep('set', () => act.rotationSet(pendingInput));
    phase = 'test';
    await vaultStep('test', () => act.rotationTest(ref));
    phase = 'promote';
    const promoted = await vaultStep('promote', () => act.rotationPromote(pendingInput));
    return { promoted, pendingInput };
  });

  // Promoted: the new credential is current. From here the lock is released whatever happens,
  // even on cancellation.
  try {
    let result: SecretRotationResult = {
      outcome: 'rotated',
      current: promoted.current,
      previous: promoted.previous,
      waitedFor: [],
    };
    if (promoted.previous !== null) {
      const previous = promoted.previous;
      phase = 'grace';
      const rollback = await steps.run(
        'grace',
        () => condition(() => rollbackRequested !== undefined, input.graceMs),
        { as: 'running' },
      );
      if (rollback) {
        phase = 'rolling-back';
        steps.set('grace', 'running', `rollback requested by ${rollbackRequested?.as}`);
        try {
          rollbackDone = await sealAware(
            'rollback',
            () => act.rotationRollback({ ...pendingInput, previous, current: promoted.current }),
            { cluster },
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
        phase = 'retire';
        const waitedFor = await steps.run('retire', async () => {
          let seen: LiveSession[] = [];
          for (;;) {
            const { sessions } = await sealAware(
              'retire',
              () => act.rotationSessions({ ...ref, previous, current: promoted.current }),
              { cluster },
            );
            if (sessions.length === 0) break;
            seen = sessions;
            steps.set(
              'retire',
              'running',
              `waiting for ${sessions.length} live session(s) of the previous credential: ${sessions
                .map(
                  (s) =>
                    `${s.user} pid ${s.pid} from ${s.client}${s.application ? ` (${s.application})` : ''}`,
                )
                .join(', ')}`,
            );
            await sleep(input.sessionRecheckMs ?? 60_000);
          }
          await sealAware(
            'retire',
            () => act.rotationRetire({ ...ref, previous, current: promoted.current }),
            { cluster },
          );
          return seen;
        });
        result = { ...result, waitedFor };
      }
    } else {
      steps.set('grace', 'done', 'no previous credential');
      steps.set('retire', 'done', 'no previous credential');
    }
    phase = 'unlock';
    await CancellationScope.nonCancellable(() => vaultStep('unlock', () => act.rotationUnlock(ref)));
    phase = 'done';
    return result;
  } catch (err) {
    await CancellationScope.nonCancellable(() => vaultStep('unlock', () => act.rotationUnlock(ref)));
    phase = 'failed';
    throw err;
  }
}
