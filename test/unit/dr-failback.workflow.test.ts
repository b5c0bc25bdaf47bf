// drFailbackWorkflow in the time-skipping environment, with named stand-in activities: refused when
// the current-primary record names another cluster (nothing touched); a refused approval
// snapshots and fences nothing; the success path takes the final snapshot BEFORE sealing the acting
// primary, reports a gap of 0 entries, waits for the key holders before the restore (the repaired
// cluster was fenced, so it is sealed) and again after it (the real `dr unseal-share` CLI function,
// sending to a stand-in node over HTTP), verifies and switches back; a verification failure seals
// the repaired cluster too and rolls forward only. The history holds no share.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context } from '@temporalio/activity';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import { parseDrFailback } from '../../client/commands/dr/failback.js';
import { drUnsealShareCommand } from '../../client/commands/dr/failover.js';
import { type FenceRecord, type SealProgress, sealProgressKey } from '../../common/dr/failover.js';
import {
  type DrFingerprint,
  fingerprintDifferences,
  type KeyringIdentity,
  type SnapshotEntry,
} from '../../common/dr/snapshots.js';
import { type DrFailbackInput, drFailbackWorkflow, measureGap } from '../../workflows/dr/failback.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { outcomeOf, stepsOf, useWorkflowBed, waitForStep } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'dr-failback-unit' });

const fingerprint = (over: Partial<DrFingerprint> = {}): DrFingerprint => ({
  mounts: ['secret/ kv v2', 'sys/ system'],
  authMethods: ['token/ token'],
  policies: { default: 'aa'.repeat(32) },
  kvKeyCounts: { secret: { count: 26, capped: false } },
  canaryId: 'canary-failback',
  ...over,
});

/** The repaired old primary's node over HTTP: sys/unseal and sys/seal-status (threshold 2); fenced, so sealed. */
function standInRepairedNode() {
  const state = { sealed: true, progress: 0, threshold: 2, received: [] as string[] };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += String(c);
    });
    req.on('end', () => {
      if (req.url === '/v1/sys/unseal' && (req.method === 'PUT' || req.method === 'POST')) {
        state.received.push(String(JSON.parse(body).key));
        if (state.sealed && ++state.progress >= state.threshold)
          Object.assign(state, { sealed: false, progress: 0 });
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ type: 'shamir', sealed: state.sealed, t: 2, n: 3, progress: state.progress }));
    });
  });
  const address = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const progress = (): SealProgress => ({
    cluster: 'dr-primary',
    nodes: [
      {
        address: address(),
        sealed: state.sealed,
        progress: state.progress,
        threshold: 2,
        shares: 3,
        type: 'shamir',
      },
    ],
  });
  return { state, server, address, progress };
}

/** Stand-ins for every activity the failback runs; `calls` records what ran, in order. */
function standInFailback(
  o: {
    primary?: string | null;
    fenceIndex?: number;
    restored?: DrFingerprint;
    node?: ReturnType<typeof standInRepairedNode>;
    /** The acting primary's keyring, recorded in the protect step's fingerprints (sys/key-status). */
    keyring?: KeyringIdentity;
  } = {},
) {
  const calls: string[] = [];
  const fenceOf = (address: string): FenceRecord => ({
    address,
    outcome: 'sealed',
    detail: '',
    at: new Date().toISOString(),
  });
  const unsealed: SealProgress = {
    cluster: 'dr-primary',
    nodes: [
      {
        address: 'http://dr-primary:8200',
        sealed: false,
        progress: 0,
        threshold: 2,
        shares: 3,
        type: 'shamir',
      },
    ],
  };
  const activities: Partial<Activities> = {
    async drReadCurrentPrimary() {
      calls.push('read-record');
      const cluster = o.primary === undefined ? 'dr-standby' : o.primary;
      return cluster === null
        ? null
        : {
            cluster,
            previous: 'dr-primary',
            since: '2026-01-01T00:00:00Z',
            snapshotId: 'dr-primary-1',
            workflowId: 'dr-failover:dr-primary:dr-standby',
            addresses: ['http://dr-standby:8200'],
          };
    },
    async drProbeCluster(input) {
      calls.push(`probe:${input.cluster}`);
      return {
        at: new Date().toISOString(),
        nodes: [{ address: 'http://dr-primary:8200', health: 'sealed', latencyMs: 3 }],
      };
    },
    async drWriteCanary(input) {
      calls.push(`canary:${input.cluster}`);
      return { canaryId: 'canary-failback', writtenAt: new Date().toISOString() };
    },
    async drFingerprint(input) {
      calls.push(`fingerprint:${input.cluster}`);
      return fingerprint(o.keyring ? { keyring: o.keyring } : {});
    },
    async drTakeSnapshot(input) {
      calls.push(`snapshot:${input.cluster}`);
      return {
        id: input.id,
        file: `${input.id}.snap`,
        sha256: 'cd'.repeat(32),
        size: 8192,
        raftIndex: 120,
        raftIndexSource: 'snapshot-meta' as const,
        takenAt: new Date().toISOString(),
        sourceCluster: input.cluster,
      };
    },
    async drVerifyStored() {
      calls.push('verify-stored');
      return { ok: true as const };
    },
    async drRecordSnapshot(e: SnapshotEntry) {
      calls.push(`record:${e.status}`);
      return e;
    },
    async drRaftCommittedIndex(input) {
      calls.push(`raft-index:${input.cluster}`);
      return { index: o.fenceIndex ?? 120 };
    },
    async drFenceCluster(input) {
      calls.push(`fence:${input.cluster}`);
      return [fenceOf(`http://${input.cluster}:8200`)];
    },
    async drSealProgress() {
      calls.push('seal-progress');
      return o.node?.progress() ?? unsealed;
    },
    async drAwaitSealChange(input) {
      calls.push('await-seal-change');
      const signal = Context.current().cancellationSignal;
      for (let waited = 0; waited < Math.min(input.maxWaitMs, 20_000); waited += 25) {
        if (signal.aborted) throw signal.reason;
        if (o.node && sealProgressKey(o.node.progress()) !== input.knownKey) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      return o.node?.progress() ?? unsealed;
    },
    async drRestoreSnapshot(input) {
      calls.push(`restore:${input.targetCluster}`);
      if (o.node) o.node.state.sealed = true; // as a forced restore does a few seconds later
      return { uploadMs: 700, credentials: 'target' as const, initialised: false };
    },
    async drRestoredKeyring(input) {
      calls.push(`keyring:${input.targetCluster}:${input.sourceCluster}`);
      // The repaired old primary holds the original keyring, as the acting primary does.
      return {
        verdict: 'matches' as const,
        detail: `keyring is the snapshot's (term ${input.snapshotKeyring.term})`,
      };
    },
    async drAwaitRestored() {
      calls.push('await-restored');
      return { ready: true as const };
    },
    async drCompare(input) {
      calls.push('compare');
      const restored = o.restored ?? fingerprint();
      return { fingerprint: restored, differences: fingerprintDifferences(input.baseline, restored) };
    },
    async drSwitchPrimary(input) {
      calls.push(`switch:${input.newPrimary}`);
      return {
        recordFile: '/store/current-primary.json',
        kv: 'secret/vaultops/dr/current-primary',
        kvVersion: 2,
      };
    },
    async drRunHook(input) {
      calls.push(`hook:${input.newPrimary}`);
      return { exitCode: 0, signal: null, ms: 5 };
    },
  };
  return { activities, calls };
}

const ran: string[] = [];
const approval = { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' };
const base = { fromCluster: 'dr-standby', toCluster: 'dr-primary', approval, settleMs: 1000 } as const;

async function failback(
  activities: Partial<Activities>,
  input: Partial<DrFailbackInput>,
  during?: (h: {
    handle: WorkflowHandleWithFirstExecutionRunId<typeof drFailbackWorkflow>;
    step: (n: string, s: string[]) => Promise<{ detail: string | null }>;
  }) => Promise<void>,
) {
  const args = { ...base, ...input } as DrFailbackInput;
  return bed.start(drFailbackWorkflow, [args], activities, async (handle) => {
    ran.push(handle.workflowId);
    await during?.({ handle, step: (name, states) => waitForStep(handle, name, states) });
    return { ...(await outcomeOf(handle)), steps: await stepsOf(handle), handle };
  });
}

const approve = async ({ handle, step }: Parameters<NonNullable<Parameters<typeof failback>[2]>>[0]) => {
  await step('approve', ['waiting-approval']);
  await handle.executeUpdate(approveUpdate, {
    args: [{ approver: 'bob', reason: 'dr-primary is repaired' }],
  });
};

describe('drFailbackWorkflow', () => {
  it('is refused when the current-primary record names another cluster: nothing is touched', async () => {
    const dr = standInFailback({ primary: 'dr-primary' });
    const { failure, steps } = await failback(dr.activities, {});
    expect(failure?.type).toBe('DrNotPrimary');
    expect(failure?.message).toMatch(/names dr-primary as primary .*, not dr-standby: nothing was touched/);
    expect(dr.calls).toEqual(['read-record']);
    expect(steps.check?.state).toBe('failed');

    const none = standInFailback({ primary: null });
    const refused = await failback(none.activities, {});
    expect(refused.failure?.message).toMatch(/there is no current-primary record/);
  });

  it('a refused approval snapshots and fences nothing', async () => {
    const dr = standInFailback();
    const { failure, steps } = await failback(dr.activities, {}, async ({ handle, step }) => {
      await step('approve', ['waiting-approval']);
      await handle.executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: 'not yet' }] });
    });
    expect(failure?.type).toBe('ApprovalRejected');
    expect(steps.check?.detail).toMatch(
      /dr-primary answers: .* sealed \(sealed, as the failover fenced it\)/,
    );
    expect(dr.calls).toEqual(['read-record', 'probe:dr-primary']);
  });

  it('succeeds: snapshot then seal, gap 0, key holders unseal before and after the restore, verify, switch back', async () => {
    const node = standInRepairedNode();
    await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
    const shares = ['fake-failback-share-1-0123456789', 'fake-failback-share-2-0123456789'];
    for (const s of shares) rememberSecret(s, 'stand-in unseal share');
    const dr = standInFailback({ node });
    process.env.TEMPORAL_ADDRESS = bed.env.address;
    const cli = {
      cluster: 'dr-primary',
      address: bed.env.address,
      namespace: bed.env.namespace ?? 'default',
    };
    const sendBoth = async (workflowId: string) => {
      for (const s of shares)
        await drUnsealShareCommand(
          workflowId,
          cli,
          () => undefined,
          async () => s,
        );
    };
    try {
      const { result, steps, handle } = await failback(dr.activities, { hook: 'true' }, async (h) => {
        await approve(h);
        expect((await h.step('unseal-before-restore', ['queued-sealed'])).detail).toMatch(
          /^unseal: 0 of 2 shares; key holders: vaultops dr unseal-share dr-failback-unit-[\d-]+ --cluster dr-primary/,
        );
        await expect(
          drUnsealShareCommand(
            h.handle.workflowId,
            { ...cli, cluster: 'dr-standby' },
            () => undefined,
            async () => 'x',
          ),
        ).rejects.toThrow(/restores into dr-primary, not dr-standby: no share was sent/);
        await sendBoth(h.handle.workflowId);
        await h.step('unseal-after-restore', ['queued-sealed']);
        await sendBoth(h.handle.workflowId);
      });
      expect(node.state.received).toEqual([...shares, ...shares]);
      expect(result).toMatchObject({
        outcome: 'failed-back',
        approval: 'approved by bob',
        snapshot: { raftIndex: 120 },
        gap: { fenceIndex: 120, snapshotIndex: 120, entries: 0 },
        sealedBeforeRestore: true,
        sealedAfterRestore: true,
        switch: { hook: { exitCode: 0 } },
      });
      expect(result?.snapshot.id).toMatch(/^dr-standby-failback-/);
      expect(steps.fence?.detail).toMatch(
        /0 entries after the snapshot \(raft index 120\): it holds every write/,
      );
      expect(steps.switch?.detail).toMatch(/dr-primary is primary again/);
      // Snapshot, then the index, then the seal; the restore only after the fence.
      const at = (c: string) => dr.calls.indexOf(c);
      expect(at('record:usable')).toBeLessThan(at('raft-index:dr-standby'));
      expect(at('raft-index:dr-standby')).toBeLessThan(at('fence:dr-standby'));
      expect(at('fence:dr-standby')).toBeLessThan(at('restore:dr-primary'));
      expect(dr.calls).toEqual(
        expect.arrayContaining([
          'canary:dr-standby',
          'snapshot:dr-standby',
          'verify-stored',
          'await-restored',
          'compare',
          'switch:dr-primary',
          'hook:dr-primary',
        ]),
      );
      expect(dr.calls).not.toContain('fence:dr-primary');
      // The RTO, phase by phase; the key holders' two turns add up under "unseal".
      expect(Object.keys(result?.rto.phases ?? {}).sort()).toEqual(
        ['approval', 'check', 'fencing', 'protect', 'restore', 'switch', 'unseal', 'verification'].sort(),
      );
      const phases = Object.values(result?.rto.phases ?? {}) as number[];
      expect(result?.rto.totalMs).toBe(phases.reduce((x, y) => x + y, 0));
      await keepHistory('dr-failback-unsealed-by-shares', handle);
    } finally {
      node.server.close();
    }
  });

  it('--auto-approve: no approval gate; the report says who pre-approved', async () => {
    const dr = standInFailback();
    const { result, steps } = await failback(dr.activities, {
      approval: undefined,
      autoApprove: { by: 'alice' },
      settleMs: 100,
    });
    expect(result).toMatchObject({
      outcome: 'failed-back',
      approval: 'pre-approved by the automatic policy of alice',
    });
    expect(steps.approve?.state).toBe('done');
    expect(result?.rto.phases.approval).toBeDefined();
  });

  it("the repaired cluster's keyring is the snapshot's: the unseal after the restore watches the reload window, not the settle time", async () => {
    const settleMs = 30_000;
    const dr = standInFailback({ keyring: { term: 1, installTime: '2026-01-01T00:00:00.5Z' } });
    const { result, steps } = await failback(dr.activities, {
      approval: undefined,
      autoApprove: { by: 'alice' },
      settleMs,
    });
    expect(result).toMatchObject({ outcome: 'failed-back', sealedAfterRestore: false });
    const afterRestore = dr.calls.slice(
      dr.calls.indexOf('restore:dr-primary'),
      dr.calls.indexOf('compare') + 1,
    );
    // Asked with its own token (the failover restored it into the acting primary); then watched
    // for a seal through the reload window only.
    expect(afterRestore).toEqual([
      'restore:dr-primary',
      'seal-progress',
      'keyring:dr-primary:dr-primary',
      'await-seal-change',
      'await-restored',
      'compare',
    ]);
    expect(steps['unseal-after-restore']?.detail).toBe(
      "unsealed; its keyring is the snapshot's (term 1), and no seal came in the 8 s after the restore",
    );
    // The workflow's clock: ended before the settle time could have run out.
    expect(result?.rto.phases.unseal).toBeLessThan(settleMs);
  });

  it('is refused with neither an approval policy nor autoApprove, or with both', async () => {
    const dr = standInFailback();
    const neither = await failback(dr.activities, { approval: undefined });
    expect(neither.failure?.type).toBe('DrBadInput');
    const both = await failback(dr.activities, { autoApprove: { by: 'alice' } });
    expect(both.failure?.message).toMatch(/either an approval policy or autoApprove/);
    expect(dr.calls).toEqual([]);
  });

  it('a verification failure seals the repaired cluster too and rolls forward only', async () => {
    const dr = standInFailback({ restored: fingerprint({ canaryId: null }), fenceIndex: 123 });
    const { failure, steps } = await failback(dr.activities, { settleMs: 100 }, approve);
    expect(failure?.type).toBe('DrFailbackStopped');
    expect(failure?.message).toMatch(/canary: absent after restore/);
    expect(failure?.message).toMatch(
      /dr-standby stays fenced \(never unfenced automatically\) and holds every write/,
    );
    expect(failure?.message).toMatch(/--force --snapshot dr-standby-failback-/);
    expect(steps.fence?.detail).toMatch(
      /3 raft entries after the snapshot \(index 120 -> 123 at the fence\)/,
    );
    expect(dr.calls).toContain('fence:dr-primary');
    expect(dr.calls.filter((c) => c.startsWith('switch'))).toEqual([]);
    expect(steps.verify?.state).toBe('failed');
  });

  it('leaves no unseal share in any history', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});

describe('failback pieces', () => {
  it('measures the gap, and says when it cannot', () => {
    expect(measureGap(50, 50).entries).toBe(0);
    expect(measureGap(52, 50).line).toMatch(/^2 raft entries after the snapshot/);
    expect(measureGap(null, 50)).toMatchObject({
      entries: null,
      line: expect.stringMatching(/^gap unknown/),
    });
  });

  it('parses the CLI options; bad input says what to fix', () => {
    expect(
      parseDrFailback({ from: 'dr-standby', to: 'dr-primary', approver: ['bob'] } as never, 'alice'),
    ).toMatchObject({
      fromCluster: 'dr-standby',
      toCluster: 'dr-primary',
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1 },
    });
    expect(() => parseDrFailback({ from: 'a', to: 'a', approver: ['bob'] } as never, 'alice')).toThrow(
      /another cluster/,
    );
    expect(() => parseDrFailback({ from: 'a', to: 'b' } as never, 'alice')).toThrow(/--approver/);
    expect(parseDrFailback({ from: 'a', to: 'b', autoApprove: true } as never, 'alice')).toEqual({
      fromCluster: 'a',
      toCluster: 'b',
      autoApprove: { by: 'alice' },
    });
    expect(() =>
      parseDrFailback({ from: 'a', to: 'b', autoApprove: true, approver: ['bob'] } as never, 'alice'),
    ).toThrow(/--auto-approve .* or --approver, not both/);
  });
});
