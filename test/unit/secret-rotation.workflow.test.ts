// The secret rotation workflow in the time-skipping environment, with stand-in activities that
// keep the secret's versions, the lock and the target's password in memory: every branch of the
// protocol (happy path, failure at set and at test, rollback during grace, a concurrent rotation
// refused, retirement waiting for sessions), and no credential in the history.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { RotationRef } from '../../activities/rotation.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../workers/worker.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  rollbackUpdate,
  rotationPhaseQuery,
  type SecretRotationInput,
  secretRotationWorkflow,
} from '../../workflows/secret-rotation.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { createTimeSkippingEnv } from '../harness/temporal.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
});
afterAll(async () => {
  await env?.teardown();
});

const secret = () => {
  const value = randomBytes(18).toString('hex');
  rememberSecret(value, 'stand-in credential');
  return value;
};

/** A secret, its lock and its target, in memory. */
function standIn(options: { failAt?: 'set' | 'test'; lockedBy?: string; busySessions?: number } = {}) {
  const initial = secret();
  const state = {
    versions: [initial] as string[], // KV versions of the secret, oldest first
    lock: options.lockedBy as string | undefined,
    pending: undefined as string | undefined,
    target: initial, // the password in force on the target
    calls: [] as string[],
    busy: options.busySessions ?? 0,
  };
  const fail = (step: string) =>
    ApplicationFailure.create({ type: 'StandInFailure', message: `${step} failed`, nonRetryable: true });
  const activities: Partial<Activities> = {
    async rotationLock(ref: RotationRef) {
      state.calls.push('lock');
      if (state.lock && state.lock !== ref.rotationId) {
        throw ApplicationFailure.create({
          type: 'RotationInProgress',
          nonRetryable: true,
          message: `secret ${ref.mount}/${ref.path} is being rotated by ${state.lock}`,
        });
      }
      state.lock = ref.rotationId;
      return { baseVersion: state.versions.length, labels: {} };
    },
    async rotationCreatePending() {
      state.calls.push('create-pending');
      state.pending ??= secret();
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
    },
    async rotationPromote() {
      state.calls.push('promote');
      if (!state.pending) throw fail('promote');
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
      if (state.lock === ref.rotationId) state.lock = undefined;
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

async function withWorker<T>(
  activities: Partial<Activities>,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = `rotation-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities,
    workflowBundle: bundle,
  });
  return worker.runUntil(() => fn(taskQueue));
}

const ran: string[] = [];

async function failureOf(promise: Promise<unknown>): Promise<{ message: string; type: string | undefined }> {
  const err = await promise.then(
    () => {
      throw new Error('expected the workflow to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause = (err as WorkflowFailedError).cause as (Error & { cause?: unknown; type?: string }) | undefined;
  while (cause?.cause) cause = cause.cause as typeof cause;
  return { message: cause?.message ?? '', type: cause?.type };
}

describe('secretRotationWorkflow (time-skipping, stand-in activities)', () => {
  it('rotates: lock, pending, set, test, promote, grace, retire, unlock', async () => {
    const { state, activities } = standIn();
    const result = await withWorker(activities, async (taskQueue) => {
      const id = `${taskQueue}-happy`;
      ran.push(id);
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      const r = await handle.result();
      const status = await handle.query(workflowStatusQuery);
      expect(status.steps.map((s) => s.state)).toEqual(Array(8).fill('done'));
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

  for (const failAt of ['set', 'test'] as const) {
    it(`fails at ${failAt}: the target is reverted, the pending removed, nothing promoted`, async () => {
      const { state, activities } = standIn({ failAt });
      const before = state.target;
      const failure = await withWorker(activities, async (taskQueue) => {
        const id = `${taskQueue}-fail-${failAt}`;
        ran.push(id);
        const handle = await env.client.workflow.start(secretRotationWorkflow, {
          taskQueue,
          workflowId: id,
          args: [input(id)],
        });
        const f = await failureOf(handle.result());
        const status = await handle.query(workflowStatusQuery);
        const byName = Object.fromEntries(status.steps.map((s) => [s.name, s.state]));
        expect(byName[failAt]).toBe(failAt === 'set' ? 'compensated' : 'failed');
        expect(byName.promote).toBe('pending');
        expect(byName.lock).toBe('compensated');
        return f;
      });
      expect(failure.message).toBe(`${failAt} failed`);
      expect(state.calls).not.toContain('promote');
      expect(state.calls.slice(-3)).toEqual(['revert', 'discard', 'unlock']);
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
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
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
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
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
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
        taskQueue,
        workflowId: id,
        args: [input(id)],
      });
      return failureOf(handle.result());
    });
    expect(failure.type).toBe('RotationInProgress');
    expect(failure.message).toMatch(/being rotated by rotation-of-someone-else/);
    expect(state.calls).toEqual(['lock']);
    expect(state.lock).toBe('rotation-of-someone-else');

    const again = standIn({ lockedBy: 'same-rotation' });
    await withWorker(again.activities, async (taskQueue) => {
      ran.push(`${taskQueue}-same`);
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
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
      const handle = await env.client.workflow.start(secretRotationWorkflow, {
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

  it('leaves no credential in the history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
