// The secret rotation workflow in the time-skipping environment, with stand-in activities that
// keep the secret's versions, the lock and the target's password in memory: every branch of the
// protocol (happy path, failure at set and at test, rollback during grace, a concurrent rotation
// refused, retirement waiting for sessions), and no credential in the history.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { RotationRef } from '../../activities/rotation/inputs.js';
import { createRotationActivities } from '../../activities/rotation/protocol.js';
import { formatRotationLabels, parseRotationLabels } from '../../common/rotation/labels.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  rollbackUpdate,
  rotationPhaseQuery,
  type SecretRotationInput,
  secretRotationWorkflow,
} from '../../workflows/rotation/secret-rotation.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { kvStandIn } from '../harness/kv-stand-in.js';
import { failureOf, useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'rotation' });

const secret = () => {
  const value = randomBytes(18).toString('hex');
  rememberSecret(value, 'stand-in credential');
  return value;
};

/** A secret, its lock and its target, in memory. */
type FailAt = 'create-pending' | 'set' | 'test' | 'promote' | 'retire';

function standIn(
  options: {
    failAt?: FailAt;
    /** The test step runs until it is cancelled (heartbeating, as a real long step does). */
    blockAtTest?: boolean;
    lockedBy?: string;
    busySessions?: number;
    webhookDown?: boolean;
  } = {},
) {
  const initial = secret();
  // The lock is the real one: rotationLock and rotationUnlock over the secret's labels in an
  // in-memory KV, so a refusal is the product's, not this stand-in's.
  const kv = kvStandIn();
  kv.put('secret', 'app/db', { password: 'stand-in' });
  if (options.lockedBy)
    kv.setCustomMetadata(
      'secret',
      'app/db',
      formatRotationLabels({ rotation: options.lockedBy, state: 'locked', current: 1 }),
    );
  const realLock = createRotationActivities({ vault: kv.vault });
  const state = {
    versions: [initial] as string[], // KV versions of the secret, oldest first
    /** The rotation the secret's labels name as holding it. */
    get lock(): string | undefined {
      return parseRotationLabels(kv.customMetadata('secret', 'app/db')).rotation;
    },
    pending: undefined as string | undefined,
    target: initial, // the password in force on the target
    calls: [] as string[],
    busy: options.busySessions ?? 0,
    events: [] as string[],
    lockedAs: [] as string[],
    restoreVersion: undefined as number | undefined,
  };
  const fail = (step: string) =>
    ApplicationFailure.create({ type: 'StandInFailure', message: `${step} failed`, nonRetryable: true });
  const activities: Partial<Activities> = {
    async rotationLock(ref: RotationRef) {
      state.calls.push('lock');
      const locked = await realLock.rotationLock(ref);
      state.lockedAs.push(ref.rotationId);
      return locked;
    },
    async rotationCreatePending(input) {
      state.calls.push('create-pending');
      state.restoreVersion = input.restoreVersion;
      state.pending ??= input.restoreVersion ? state.versions[input.restoreVersion - 1] : secret();
      if (options.failAt === 'create-pending') throw fail('create-pending');
      return { pendingPath: 'app/db.pending', pendingVersion: 1 };
    },
    async rotationSet() {
      state.calls.push('set');
      if (state.pending) state.target = state.pending;
      if (options.failAt === 'set') throw fail('set');
    },
    async rotationTest() {
      state.calls.push('test');
      if (options.failAt === 'test') throw fail('test');
      if (options.blockAtTest) {
        const ctx = Context.current();
        while (!ctx.cancellationSignal.aborted) {
          ctx.heartbeat();
          await sleep(50);
        }
        throw new CancelledFailure('the stand-in test step was cancelled');
      }
    },
    async rotationPromote() {
      state.calls.push('promote');
      if (!state.pending) throw fail('promote');
      if (options.failAt === 'promote') throw fail('promote');
      state.versions.push(state.pending);
      state.pending = undefined;
      return { current: state.versions.length, previous: state.versions.length - 1 };
    },
    async rotationSessions() {
      state.calls.push('sessions');
      if (state.busy <= 0) return { sessions: [] };
      state.busy -= 1;
      return {
        sessions: [
          {
            pid: 4242,
            user: 'app_a',
            application: 'billing',
            client: '10.0.0.7',
            since: '2026-01-01T00:00:00Z',
          },
        ],
      };
    },
    async rotationRetire() {
      state.calls.push('retire');
      if (options.failAt === 'retire') throw fail('retire');
    },
    async rotationRevertTarget() {
      state.calls.push('revert');
      state.target = state.versions.at(-1) ?? '';
    },
    async rotationDiscardPending() {
      state.calls.push('discard');
      state.pending = undefined;
    },
    async rotationRollback(input) {
      state.calls.push('rollback');
      const previous = state.versions[input.previous - 1] ?? '';
      state.target = previous;
      state.versions.push(previous);
      return { current: state.versions.length, previous: input.current };
    },
    async rotationUnlock(ref: RotationRef) {
      state.calls.push('unlock');
      await realLock.rotationUnlock(ref);
    },
    async rotationNotify(event) {
      state.events.push(event.event);
      state.calls.push(`notify:${event.event}`);
      if (options.webhookDown) throw new Error('stand-in webhook answered HTTP 503');
    },
  };
  return { state, activities };
}

const input = (rotationId: string): SecretRotationInput => ({
  mount: 'secret',
  path: 'app/db',
  target: { kind: 'postgres', admin: { path: 'admin/pg' }, role: 'app' },
  strategy: 'alternating',
  graceMs: 60 * 60_000,
  rotationId,
  sessionRecheckMs: 60_000,
});

const { withWorker } = bed;

const ran: string[] = [];

describe('secretRotationWorkflow (time-skipping, stand-in activities)', () => {
  it('rotates: lock, pending, set, test, promote, grace, retire, unlock', async () => {
    const { state, activities } = standIn();
    const result = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-happy`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      const r = await handle.result();
      const status = await handle.query(workflowStatusQuery);
      expect(status.steps.map((s) => s.state)).toEqual(Array(9).fill('done'));
      await keepHistory('secret-rotation-rotated', handle);
      return r;
    });
    expect(result).toEqual({ outcome: 'rotated', current: 2, previous: 1, waitedFor: [] });
    expect(state.calls).toEqual([
      'lock',
      'create-pending',
      'set',
      'test',
      'promote',
      'sessions',
      'retire',
      'unlock',
    ]);
    expect(state.target).toBe(state.versions[1]);
    expect(state.lock).toBeUndefined();
  });

  for (const failAt of ['create-pending', 'set', 'test', 'promote'] as const) {
    it(`fails at ${failAt}: the target is reverted, the pending removed, nothing promoted`, async () => {
      const { state, activities } = standIn({ failAt });
      const before = state.target;
      const failure = await withWorker(activities, async (taskQueue) => {
        const id = `${taskQueue}-fail-${failAt}`;
        ran.push(id);
        const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
          taskQueue,
          workflowId: id,
          args: [input(id)],
        });
        const f = await failureOf(handle.result());
        const status = await handle.query(workflowStatusQuery);
        const byName = Object.fromEntries(status.steps.map((s) => [s.name, s.state]));
        // A step with an undo is marked compensated; test and promote change nothing to undo.
        expect(byName[failAt]).toBe(failAt === 'test' || failAt === 'promote' ? 'failed' : 'compensated');
        if (failAt !== 'promote') expect(byName.promote).toBe('pending');
        expect(byName.lock).toBe('compensated');
        return f;
      });
      expect(failure.message).toBe(`${failAt} failed`);
      if (failAt !== 'promote') expect(state.calls).not.toContain('promote');
      // The undo of a step is registered before it runs (its write may land though it fails).
      const undone = failAt === 'create-pending' ? ['discard', 'unlock'] : ['revert', 'discard', 'unlock'];
      expect(state.calls.slice(-undone.length)).toEqual(undone);
      expect(state.calls.filter((c) => c === 'unlock')).toHaveLength(1);
      expect(state.versions).toHaveLength(1);
      expect(state.target).toBe(before);
      expect(state.pending).toBeUndefined();
      expect(state.lock).toBeUndefined();
    });
  }

  it('rolls back on request during the grace period: target and KV back to the previous credential', async () => {
    const { state, activities } = standIn();
    const first = state.versions[0];
    const result = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-rollback`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      for (let waited = 0; (await handle.query(rotationPhaseQuery)) !== 'grace'; waited += 50) {
        if (waited > 20_000) throw new Error('the rotation did not reach its grace period');
        await sleep(50);
      }
      const rolled = await handle.executeUpdate(rollbackUpdate, {
        args: [{ as: 'alice', reason: 'errors in billing' }],
      });
      expect(rolled).toEqual({ current: 3, previous: 2 });
      // A second rollback is refused by the validator.
      await expect(handle.executeUpdate(rollbackUpdate, { args: [{ as: 'bob' }] })).rejects.toThrow();
      const r = await handle.result();
      const status = await handle.query(workflowStatusQuery);
      const grace = status.steps.find((s) => s.name === 'grace');
      expect(grace?.state).toBe('compensated');
      expect(grace?.detail).toBe('rolled back by alice: errors in billing');
      return r;
    });
    expect(result.outcome).toBe('rolled-back');
    expect(state.calls).not.toContain('retire');
    expect(state.versions).toEqual([first, state.versions[1], first]);
    expect(state.target).toBe(first);
    expect(state.lock).toBeUndefined();
  });

  it('refuses a rollback outside the grace period', async () => {
    const { activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-late-rollback`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      await handle.result();
      await expect(handle.executeUpdate(rollbackUpdate, { args: [{ as: 'alice' }] })).rejects.toThrow();
    });
  });

  it('refuses a concurrent rotation of the same secret; the same rotation id again goes on', async () => {
    const { state, activities } = standIn({ lockedBy: 'rotation-of-someone-else' });
    const failure = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-concurrent`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      return failureOf(handle.result());
    });
    // The real lock's refusal, from the labels the other rotation left on the secret; the
    // workflow undoes nothing it did not do (no unlock of a lock it never held).
    expect(failure.type).toBe('RotationInProgress');
    expect(failure.message).toBe(
      'secret secret/app/db is being rotated by rotation-of-someone-else; wait for it to finish or roll it back',
    );
    expect(state.calls).toEqual(['lock']);
    expect(state.lock).toBe('rotation-of-someone-else');

    const again = standIn({ lockedBy: 'same-rotation' });
    await withWorker(again.activities, async (taskQueue) => {
      ran.push(`${taskQueue}-same`);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: `${taskQueue}-same`,
        args: [input('same-rotation')],
      });
      expect((await handle.result()).outcome).toBe('rotated');
    });
  });

  it('after the grace period, retirement waits while sessions use the previous credential, saying who', async () => {
    const { state, activities } = standIn({ busySessions: 3 });
    const result = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-sessions`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      return handle.result();
    });
    expect(state.calls.filter((c) => c === 'sessions')).toHaveLength(4);
    expect(result.waitedFor).toEqual([
      expect.objectContaining({ pid: 4242, user: 'app_a', client: '10.0.0.7' }),
    ]);
    expect(state.calls.slice(-2)).toEqual(['retire', 'unlock']);
  });

  it('fails at retire (after the promotion): the new credential stays current, the lock is released, a failure event is sent', async () => {
    const { state, activities } = standIn({ failAt: 'retire' });
    const failure = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-fail-retire`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [{ ...input(id), webhookUrl: 'http://127.0.0.1:9/stand-in-hook' }],
      });
      return failureOf(handle.result());
    });
    expect(failure.message).toBe('retire failed');
    expect(state.versions).toHaveLength(2);
    expect(state.target).toBe(state.versions[1]);
    expect(state.calls.slice(-3)).toEqual(['retire', 'unlock', 'notify:failed']);
    expect(state.lock).toBeUndefined();
  });

  it('announces the rotation a lead time before it begins, then reports the outcome to the webhook', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-notice`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [{ ...input(id), noticeMs: 24 * 60 * 60_000, webhookUrl: 'http://127.0.0.1:9/stand-in-hook' }],
      });
      const started = await bed.env.currentTimeMs();
      expect((await handle.result()).outcome).toBe('rotated');
      const status = await handle.query(workflowStatusQuery);
      expect(status.steps[0]).toMatchObject({ name: 'notice', state: 'done' });
      // The lock came a day after the notice (durable timer), and the rotation after that.
      expect((await bed.env.currentTimeMs()) - started).toBeGreaterThanOrEqual(24 * 60 * 60_000);
    });
    expect(state.calls[0]).toBe('notify:notice');
    expect(state.calls[1]).toBe('lock');
    expect(state.calls.at(-1)).toBe('notify:rotated');
  });

  it('a webhook that stays down does not hold or undo the rotation', async () => {
    const { state, activities } = standIn({ webhookDown: true });
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-webhook-down`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [{ ...input(id), webhookUrl: 'http://127.0.0.1:9/stand-in-hook' }],
      });
      expect((await handle.result()).outcome).toBe('rotated');
    });
    expect(state.events.filter((e) => e === 'rotated')).toHaveLength(5); // five tries, then given up
    expect(state.versions).toHaveLength(2);
  });

  it('cancelled during the notice: nothing was touched', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-cancel-notice`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [{ ...input(id), noticeMs: 60 * 60_000 }],
      });
      for (let waited = 0; (await handle.query(rotationPhaseQuery)) !== 'notice'; waited += 50) {
        if (waited > 20_000) throw new Error('the rotation did not reach its notice');
        await sleep(50);
      }
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect(await handle.query(rotationPhaseQuery)).toBe('cancelled');
    });
    expect(state.calls).toEqual(['notify:notice', 'notify:cancelled']);
    expect(state.lock).toBeUndefined();
  });

  it('cancelled mid-step (test): the target is reverted, the pending removed, the lock released', async () => {
    const { state, activities } = standIn({ blockAtTest: true });
    const before = state.target;
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-cancel-test`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      for (let waited = 0; (await handle.query(rotationPhaseQuery)) !== 'test'; waited += 50) {
        if (waited > 20_000) throw new Error('the rotation did not reach its test');
        await sleep(50);
      }
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      const status = await handle.query(workflowStatusQuery);
      const byName = Object.fromEntries(status.steps.map((s) => [s.name, s.state]));
      expect(byName).toMatchObject({ lock: 'compensated', set: 'compensated', promote: 'pending' });
    });
    expect(state.calls.slice(-3)).toEqual(['revert', 'discard', 'unlock']);
    expect(state.versions).toHaveLength(1);
    expect(state.target).toBe(before);
    expect(state.lock).toBeUndefined();
  });

  it('cancelled during the grace period: the new credential stays current, the old one is not retired, the lock is released', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-cancel-grace`;
      ran.push(id);
      const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      for (let waited = 0; (await handle.query(rotationPhaseQuery)) !== 'grace'; waited += 50) {
        if (waited > 20_000) throw new Error('the rotation did not reach its grace period');
        await sleep(50);
      }
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
    });
    expect(state.calls).not.toContain('retire');
    expect(state.calls).not.toContain('rollback');
    expect(state.calls.at(-1)).toBe('unlock');
    expect(state.versions).toHaveLength(2);
    expect(state.target).toBe(state.versions[1]);
    expect(state.lock).toBeUndefined();
  });

  it('restores a retained version: its credential is set, tested and promoted as the new current one', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const first = `${taskQueue}-restore-1`;
      const second = `${taskQueue}-restore-2`;
      ran.push(first, second);
      await bed.env.client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: first,
        args: [input(first)],
      });
      const result = await bed.env.client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: second,
        args: [{ ...input(second), restoreVersion: 1 }],
      });
      expect(result).toMatchObject({ outcome: 'rotated', current: 3, previous: 2 });
    });
    expect(state.restoreVersion).toBe(1);
    expect(state.versions[2]).toBe(state.versions[0]);
    expect(state.target).toBe(state.versions[0]);
  });

  it('takes the workflow id as the rotation id when none is given (scheduled runs)', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-default-id`;
      ran.push(id);
      const { rotationId: _, ...withoutId } = input(id);
      await bed.env.client.workflow.execute(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [withoutId],
      });
      expect(state.lockedAs).toEqual([id]);
    });
  });

  it('refuses bad input before touching anything', async () => {
    const { state, activities } = standIn();
    await withWorker(activities, async (taskQueue) => {
      for (const [n, bad] of [
        { restoreVersion: 0 },
        { graceMs: -1 },
        { webhookUrl: 'ftp://example' },
        { rotationId: 'has spaces in it' },
        { target: { kind: 'kv' as const } }, // alternating (the input's strategy) with one credential
      ].entries()) {
        const id = `${taskQueue}-bad-${n}`;
        ran.push(id);
        const handle = await bed.env.client.workflow.start(secretRotationWorkflow, {
          taskQueue,
          workflowId: id,
          args: [{ ...input(id), ...bad }],
        });
        expect((await failureOf(handle.result())).type).toBe('RotationBadInput');
      }
    });
    expect(state.calls).toEqual([]);
  });

  it('leaves no credential in the history', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
