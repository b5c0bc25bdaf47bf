// The approved-change example in the time-skipping environment: a worker per test with stand-in
// marker activities that record what they were asked to do, and helpers to follow the workflow.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll } from 'vitest';
import type { ApprovalPolicy } from '../../common/approval.js';
import { type StepState, workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  type ApprovedChangeInput,
  approvedChangeWorkflow,
  type ChangeMarkerActivities,
} from '../fixtures/workflows/approved-change.js';
import { TEST_WORKFLOWS_PATH } from '../fixtures/workflows/index.js';
import { startWorkflowBed, waitForStep as waitForStepOf } from './workflow-bed.js';

/** Two of three; carol asks, so alice and bob are the two who can approve. */
export const POLICY: ApprovalPolicy = {
  requester: 'carol',
  approvers: ['alice', 'bob', 'carol'],
  quorum: 2,
  timeout: '1h',
};

export const changeInput = (approval: Partial<ApprovalPolicy> = {}): ApprovedChangeInput => ({
  path: 'changes/demo',
  approval: { ...POLICY, ...approval },
});

export type MarkerStandIns = ChangeMarkerActivities & { calls: string[] };

/** Stand-ins that record `write <name>` / `delete <name>` (the marker's last path segment). */
export function markerStandIns(overrides: Partial<ChangeMarkerActivities> = {}): MarkerStandIns {
  const calls: string[] = [];
  const name = (path: string) => path.split('/').at(-1);
  return {
    calls,
    async writeChangeMarker(input) {
      calls.push(`write ${name(input.path)}`);
      await overrides.writeChangeMarker?.(input);
    },
    async deleteChangeMarker(input) {
      calls.push(`delete ${name(input.path)}`);
      await overrides.deleteChangeMarker?.(input);
    },
  };
}

export interface ApprovalTestBed {
  env: TestWorkflowEnvironment;
  /** Starts the example on a fresh task queue and runs `fn` while a worker with `activities` serves it. */
  withChange<T>(
    activities: ChangeMarkerActivities,
    input: ApprovedChangeInput,
    fn: (workflowId: string) => Promise<T>,
  ): Promise<T>;
  /** Runs `fn` while a worker with `activities` serves a fresh task queue (any workflow). */
  withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T>;
  teardown(): Promise<void>;
}

export async function startApprovalTestBed(): Promise<ApprovalTestBed> {
  // The example's activities are stand-ins only: the worker has no real ones by these names.
  const bed = await startWorkflowBed({ workflowsPath: TEST_WORKFLOWS_PATH, prefix: 'approved-change' });
  return {
    env: bed.env,
    withWorker: bed.withWorker,
    withChange: (activities, input, fn) =>
      bed.start(approvedChangeWorkflow, [input], activities, (handle) => fn(handle.workflowId)),
    teardown: bed.teardown,
  };
}

/** Registers the file's beforeAll/afterAll around startApprovalTestBed and returns that bed. */
export function useApprovalTestBed(): ApprovalTestBed {
  let started: ApprovalTestBed | undefined;
  beforeAll(async () => {
    started = await startApprovalTestBed();
  });
  afterAll(async () => {
    await started?.teardown();
  });
  const ready = () => {
    if (!started) throw new Error('the approval test bed is used before its beforeAll ran');
    return started;
  };
  return {
    get env() {
      return ready().env;
    },
    withWorker: (activities, fn) => ready().withWorker(activities, fn),
    withChange: (activities, input, fn) => ready().withChange(activities, input, fn),
    teardown: async () => {}, // afterAll does it
  };
}

/** Waits (in real time; workflow time stays put) until the workflow's step reaches `state`. */
export async function waitForStep(
  env: TestWorkflowEnvironment,
  workflowId: string,
  step: string,
  state: StepState,
): Promise<void> {
  await waitForStepOf(env.client.workflow.getHandle(workflowId), step, state);
}

/** Step name → state, the way a reader compares them. */
export async function stepStates(env: TestWorkflowEnvironment, workflowId: string) {
  const { steps } = await env.client.workflow.getHandle(workflowId).query(workflowStatusQuery);
  return Object.fromEntries(steps.map((s) => [s.name, s.state]));
}
