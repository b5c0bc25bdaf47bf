// drReplicationFailoverWorkflow in the time-skipping environment, with named stand-in activities
// for every branch: a primary that answers is not failed over; a standby that is no DR secondary
// stops the run before anyone is asked; a refused approval demotes nothing; an answering old
// primary that refuses the demotion stops the run before any promotion; an unreachable old primary
// is recorded, watched and demoted when it answers, then pointed at the new primary; a refused
// promotion (a bad DR operation token) fails clearly with nothing switched; and the success path
// with the approver's word reports the RTO per phase.

import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { NodeHealth } from '../../common/dr/detect.js';
import type { DemoteRecord, DrReplicationStatus } from '../../common/dr/replication.js';
import {
  type DrReplicationFailoverInput,
  drReplicationFailoverWorkflow,
} from '../../workflows/dr/replication-failover.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { outcomeOf, stepsOf, useWorkflowBed, waitForStep } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'dr-replication-unit' });

const OLD_NODE = 'http://10.0.0.1:8200';
const NEW_NODE = 'http://10.0.1.1:8200';

const status = (mode: DrReplicationStatus['mode']): DrReplicationStatus => ({
  mode,
  rawMode: mode,
  state: mode === 'secondary' ? 'stream-wals' : 'running',
  clusterId: 'c-1',
  knownSecondaries: [],
  primaries: [],
  primaryClusterAddr: null,
});
const demoteOf = (outcome: DemoteRecord['outcome'], detail = ''): DemoteRecord => ({
  address: OLD_NODE,
  outcome,
  detail,
  at: new Date().toISOString(),
});

/** Stand-ins for the DR-replication and switch activities; `calls` records what ran, in order. */
function standInReplication(
  o: {
    probes?: NodeHealth[];
    standbyMode?: DrReplicationStatus['mode'];
    demote?: DemoteRecord;
    watch?: DemoteRecord;
    promoteRefused?: boolean;
  } = {},
) {
  const calls: string[] = [];
  let round = 0;
  const activities: Partial<Activities> = {
    async drProbeCluster() {
      const health = o.probes?.[round++] ?? 'active';
      calls.push(`probe:${health}`);
      return {
        at: new Date().toISOString(),
        nodes: [
          {
            address: OLD_NODE,
            health,
            latencyMs: health === 'no-answer' ? null : 4,
            ...(health === 'no-answer' ? { error: 'connection refused' } : {}),
          },
        ],
      };
    },
    async drReplicationPreflight(input) {
      calls.push(`check:${input.toCluster}`);
      const mode = o.standbyMode ?? 'secondary';
      if (mode !== 'secondary' && mode !== 'primary')
        throw ApplicationFailure.create({
          type: 'DrNotReplicating',
          nonRetryable: true,
          message: `${input.toCluster} is not a DR secondary (DR mode ${mode})`,
        });
      return { standby: status(mode), tokenSource: 'file /run/dr-token' };
    },
    async drReplicationDemote(input) {
      calls.push(`demote:${input.cluster}`);
      return [o.demote ?? demoteOf('demoted')];
    },
    async drReplicationWatch(input) {
      calls.push(`watch:${input.addresses.join(',')}`);
      return [o.watch ?? demoteOf('demoted', 'when it answered again')];
    },
    async drReplicationPromote(input) {
      calls.push(`promote:${input.cluster}`);
      if (o.promoteRefused)
        throw ApplicationFailure.create({
          type: 'DrPromoteRefused',
          nonRetryable: true,
          message: `${input.cluster} refused the promotion (invalid DR operation token): check the DR operation token from file /run/dr-token`,
        });
      return {
        cluster: input.cluster,
        alreadyPrimary: false,
        clusterId: 'c-1',
        tokenSource: 'file /run/dr-token',
      };
    },
    async drReplicationAwaitPrimary(input) {
      calls.push(`await-primary:${input.cluster}`);
      return {
        cluster: input.cluster,
        mode: 'primary' as const,
        state: 'running',
        clusterId: 'c-1',
        activeNode: NEW_NODE,
        waitedMs: 600,
      };
    },
    async drSwitchPrimary(input) {
      calls.push(`switch:${input.newPrimary}`);
      return {
        recordFile: '/store/current-primary.json',
        kv: 'secret/vaultops/dr/current-primary',
        kvVersion: 1,
      };
    },
    async drRunHook(input) {
      calls.push(`hook:${input.newPrimary}`);
      return { exitCode: 0, signal: null, ms: 12 };
    },
    async drReplicationRepoint(input) {
      calls.push(`repoint:${input.oldPrimary}->${input.newPrimary}`);
      return {
        outcome: 'repointed' as const,
        oldPrimary: input.oldPrimary,
        newPrimary: input.newPrimary,
        primaryApiAddr: NEW_NODE,
        secondaryId: input.secondaryId,
      };
    },
  };
  return { activities, calls };
}

const base = { fromCluster: 'primary', toCluster: 'standby', drOperationTokenFile: '/run/dr-token' } as const;
const approval = { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' };

async function failover(
  activities: Partial<Activities>,
  input: Partial<DrReplicationFailoverInput>,
  during?: (h: {
    handle: WorkflowHandleWithFirstExecutionRunId<typeof drReplicationFailoverWorkflow>;
    step: (n: string, s: string[]) => Promise<unknown>;
  }) => Promise<void>,
) {
  const args = { ...base, ...input } as DrReplicationFailoverInput;
  return bed.start(drReplicationFailoverWorkflow, [args], activities, async (handle) => {
    await during?.({ handle, step: (name, states) => waitForStep(handle, name, states) });
    return { ...(await outcomeOf(handle)), steps: await stepsOf(handle), handle };
  });
}

describe('drReplicationFailoverWorkflow', () => {
  it('a primary that answers is not failed over: nothing is checked, asked, demoted or promoted', async () => {
    const dr = standInReplication({ probes: ['active', 'no-answer', 'active', 'active'] });
    const { result, steps } = await failover(dr.activities, { autoApprove: { by: 'policy' } });
    expect(result).toMatchObject({
      outcome: 'not-needed',
      path: 'replication',
      detection: { forced: false, decision: 'alive', rounds: 4 },
      fencing: [],
    });
    expect(dr.calls).toEqual(['probe:active', 'probe:no-answer', 'probe:active', 'probe:active']);
    expect(steps.fence?.state).toBe('pending');
    expect(steps.promote?.state).toBe('pending');
  });

  it('a standby that is no DR secondary stops the run before anyone is asked or anything demoted', async () => {
    const dr = standInReplication({ standbyMode: 'disabled' });
    const { failure, steps } = await failover(dr.activities, { force: true, approval });
    expect(failure?.message).toMatch(/standby is not a DR secondary \(DR mode disabled\)/);
    expect(dr.calls).toEqual(['check:standby']);
    expect(steps.check?.state).toBe('failed');
    expect(steps.approve?.state).toBe('pending');
  });

  it('a refused approval demotes nothing', async () => {
    const dr = standInReplication({ probes: ['no-answer', 'no-answer', 'no-answer'] });
    const { failure, steps } = await failover(dr.activities, { approval }, async ({ handle, step }) => {
      await step('approve', ['waiting-approval']);
      await handle.executeUpdate(rejectUpdate, {
        args: [{ approver: 'bob', reason: 'the primary is back' }],
      });
    });
    expect(failure?.message).toMatch(/rejected by bob/);
    expect(dr.calls).toEqual(['probe:no-answer', 'probe:no-answer', 'probe:no-answer', 'check:standby']);
    expect(steps.fence?.state).toBe('pending');
  });

  it('an answering old primary that refuses the demotion stops the run before any promotion', async () => {
    const dr = standInReplication({
      demote: demoteOf(
        'failed',
        'the token may not demote (it needs update on sys/replication/dr/primary/demote)',
      ),
    });
    const { failure, steps } = await failover(dr.activities, { force: true, autoApprove: { by: 'policy' } });
    expect(failure?.type).toBe('DrFenceFailed');
    expect(failure?.message).toMatch(/primary answers but was not demoted .*standby was NOT promoted/);
    expect(dr.calls).toEqual(['check:standby', 'demote:primary']);
    expect(steps.fence?.state).toBe('failed');
    expect(steps.promote?.state).toBe('pending');
  });

  it('an unreachable old primary is watched, demoted when it answers, then pointed at the new primary', async () => {
    const dr = standInReplication({ demote: demoteOf('unreachable', 'connection refused') });
    const { result, steps } = await failover(dr.activities, {
      force: true,
      autoApprove: { by: 'policy' },
      fenceWatchMs: 60_000,
    });
    expect(result).toMatchObject({
      outcome: 'failed-over',
      fencing: [{ address: OLD_NODE, outcome: 'unreachable' }],
      fenceWatch: [{ address: OLD_NODE, outcome: 'demoted', detail: 'when it answered again' }],
      repoint: { outcome: 'repointed', oldPrimary: 'primary', newPrimary: 'standby' },
    });
    // The watch runs beside the promotion; the repoint waits for it.
    expect(dr.calls.indexOf(`watch:${OLD_NODE}`)).toBeGreaterThan(dr.calls.indexOf('demote:primary'));
    expect(dr.calls.indexOf('repoint:primary->standby')).toBe(dr.calls.length - 1);
    expect(steps['fence-watch']?.detail).toMatch(/demoted \(when it answered again\)/);
  });

  it('a refused promotion (bad DR operation token) fails clearly: nothing switched, the old primary stays demoted', async () => {
    const dr = standInReplication({ promoteRefused: true });
    const { failure, steps } = await failover(dr.activities, {
      force: true,
      autoApprove: { by: 'policy' },
      hook: 'true',
    });
    expect(failure?.type).toBe('DrFailoverStopped');
    expect(failure?.message).toMatch(
      /failover stopped after demoting primary: standby refused the promotion \(invalid DR operation token\).*primary stays a DR secondary/,
    );
    expect(dr.calls).toEqual(['check:standby', 'demote:primary', 'promote:standby']);
    expect(steps.promote?.state).toBe('failed');
    for (const later of ['verify', 'switch', 'repoint']) expect(steps[later]?.state).toBe('pending');
  });

  it('the success path: detected, approved, demoted, promoted, verified, switched, repointed; RTO per phase', async () => {
    const dr = standInReplication({ probes: ['no-answer', 'no-answer', 'no-answer'] });
    const { result, steps, handle } = await failover(
      dr.activities,
      { approval, hook: './switch-dns.sh' },
      async ({ handle, step }) => {
        await step('approve', ['waiting-approval']);
        await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'site A is gone' }] });
      },
    );
    expect(result).toMatchObject({
      outcome: 'failed-over',
      path: 'replication',
      detection: { decision: 'down', rounds: 3 },
      approval: 'approved by bob',
      fencing: [{ outcome: 'demoted' }],
      fenceWatch: [],
      promotion: { cluster: 'standby', alreadyPrimary: false, tokenSource: 'file /run/dr-token' },
      verification: { mode: 'primary', activeNode: NEW_NODE },
      switch: { recordFile: '/store/current-primary.json', hook: { exitCode: 0 } },
      repoint: { outcome: 'repointed' },
    });
    expect(dr.calls).toEqual([
      'probe:no-answer',
      'probe:no-answer',
      'probe:no-answer',
      'check:standby',
      'demote:primary',
      'promote:standby',
      'await-primary:standby',
      'switch:standby',
      'hook:standby',
      'repoint:primary->standby',
    ]);
    const phases = result?.rto.phases ?? {};
    expect(Object.keys(phases).sort()).toEqual(
      ['approval', 'detection', 'fencing', 'promotion', 'switch', 'verification'].sort(),
    );
    expect(result?.rto.totalMs).toBe(Object.values(phases).reduce((a, b) => a + b, 0));
    expect(Object.values(steps).every((s) => s.state === 'done')).toBe(true);
    await keepHistory('dr-replication-failover-demoted-promoted', handle);
  });
});
