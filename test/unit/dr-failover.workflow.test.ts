// drFailoverWorkflow in the time-skipping environment, with named stand-in activities for every
// branch: a flapping primary is not failed over; a refused approval fences nothing; a node that
// cannot be fenced (unreachable) is recorded and watched, and the failover goes on; a restore that
// fails verification seals the standby too and says how to roll forward; the success path waits
// for the key holders (the real `dr unseal-share` CLI function, sending to a stand-in node over
// HTTP), verifies, switches, runs the hook, and reports the RTO per phase; a node refusing a share
// is in unseal-share's result, not in the process's exit status. After the restore, a standby whose
// keyring is the snapshot's is watched for a seal through the reload window only; without a recorded keyring the settle
// time is waited out; a different keyring waits for the seal. The history holds no share.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context } from '@temporalio/activity';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import { drUnsealShareCommand } from '../../client/commands/dr/failover.js';
import type { NodeHealth } from '../../common/dr/detect.js';
import type { FenceRecord, SealProgress } from '../../common/dr/failover.js';
import { type DrFingerprint, fingerprintDifferences, type SnapshotEntry } from '../../common/dr/snapshots.js';
import { type DrFailoverInput, drFailoverWorkflow } from '../../workflows/dr/failover.js';
import { drFailoverStateQuery } from '../../workflows/dr/messages.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { outcomeOf, stepsOf, useWorkflowBed, waitForStep } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'dr-failover-unit' });

const PRIMARY_NODE = 'http://10.0.0.1:8200';
const fingerprint = (over: Partial<DrFingerprint> = {}): DrFingerprint => ({
  mounts: ['secret/ kv v2', 'sys/ system'],
  authMethods: ['token/ token'],
  policies: { default: 'aa'.repeat(32) },
  kvKeyCounts: { secret: { count: 26, capped: false } },
  canaryId: 'canary-1',
  ...over,
});
const entry: SnapshotEntry = {
  id: 'primary-20260101T000000Z-abcd1234',
  file: 'primary-20260101T000000Z-abcd1234.snap',
  sha256: 'ab'.repeat(32),
  size: 4096,
  raftIndex: 70,
  raftIndexSource: 'snapshot-meta',
  takenAt: new Date().toISOString(),
  sourceCluster: 'primary',
  canaryIds: ['canary-1'],
  status: 'verified',
  baseline: { before: fingerprint(), after: fingerprint() },
};

/** A standby node over HTTP: sys/unseal and sys/seal-status as Vault answers them (threshold 2). */
function standInStandbyNode() {
  const state = { sealed: false, progress: 0, threshold: 2, shares: 3, received: [] as string[] };
  const status = () => ({
    type: 'shamir',
    sealed: state.sealed,
    t: state.threshold,
    n: state.shares,
    progress: state.progress,
  });
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
      res.end(JSON.stringify(status()));
    });
  });
  const address = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const progress = (): SealProgress => ({
    cluster: 'standby',
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

type Probe = NodeHealth | 'slow';

/** A standby whose auto-unseal seal keeps it unsealed through the restore. */
const autoUnsealed: SealProgress = {
  cluster: 'standby',
  nodes: [
    { address: 'http://standby:8200', sealed: false, progress: 0, threshold: 1, shares: 1, type: 'transit' },
  ],
};

/** Stand-ins for the DR and failover activities; `calls` records what ran, in order. */
function standInFailover(
  o: {
    probes?: Probe[];
    fencing?: FenceRecord[];
    restored?: DrFingerprint;
    node?: ReturnType<typeof standInStandbyNode>;
    /** The standby was never initialised: the restore initialised it first. */
    fresh?: boolean;
    /** The snapshot chosen (default: `entry`, whose baseline records no keyring). */
    snapshot?: SnapshotEntry;
    /** What sys/key-status on the restored standby says; `differs` seals the node, as a cold standby does. */
    keyring?: 'matches' | 'differs';
  } = {},
) {
  const calls: string[] = [];
  let round = 0;
  const fenceOf = (address: string, outcome: FenceRecord['outcome'], detail = ''): FenceRecord => ({
    address,
    outcome,
    detail,
    at: new Date().toISOString(),
  });
  const abortable = <T>(ms: number, value: () => T) =>
    new Promise<T>((resolve, reject) => {
      const signal = Context.current().cancellationSignal;
      const t = setTimeout(() => resolve(value()), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(signal.reason);
      });
    });
  const activities: Partial<Activities> = {
    async drProbeCluster() {
      const p = o.probes?.[round++] ?? 'active';
      calls.push(`probe:${p}`);
      const health: NodeHealth = p === 'slow' ? 'active' : p;
      return {
        at: new Date().toISOString(),
        nodes: [
          {
            address: PRIMARY_NODE,
            health,
            latencyMs: p === 'no-answer' ? null : p === 'slow' ? 2000 : 4,
            ...(p === 'no-answer' ? { error: 'no answer within 2500 ms' } : {}),
          },
        ],
      };
    },
    async drFenceCluster(input) {
      calls.push(`fence:${input.cluster}`);
      return input.cluster === 'primary'
        ? (o.fencing ?? [fenceOf(PRIMARY_NODE, 'sealed')])
        : [fenceOf('http://standby:8200', 'sealed')];
    },
    async drFenceWatch(input) {
      calls.push(`fence-watch:${input.addresses.join(',')}`);
      return abortable(50, () => input.addresses.map((a) => fenceOf(a, 'sealed', 'when it answered again')));
    },
    async drChooseFailoverSnapshot() {
      calls.push('choose');
      return { entry: o.snapshot ?? entry, choice: 'verified' as const };
    },
    async drRestoreSnapshot() {
      calls.push('restore');
      // As OpenBao and Vault do a few seconds after a forced restore: sealed, the primary's keys needed.
      if (o.node && !o.keyring) o.node.state.sealed = true;
      return { uploadMs: 900, credentials: 'target' as const, initialised: o.fresh === true };
    },
    async drSealProgress() {
      calls.push('seal-progress');
      return o.node?.progress() ?? autoUnsealed;
    },
    async drAwaitSealChange(input) {
      calls.push('await-seal-change');
      const node = o.node;
      if (!node) return abortable(Math.min(input.maxWaitMs, 100), () => autoUnsealed); // never seals
      const signal = Context.current().cancellationSignal;
      const { sealProgressKey } = await import('../../common/dr/failover.js');
      for (let waited = 0; waited < Math.min(input.maxWaitMs, 20_000); waited += 25) {
        if (signal.aborted) throw signal.reason;
        if (sealProgressKey(node.progress()) !== input.knownKey) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      return node.progress();
    },
    async drRestoredKeyring(input) {
      calls.push(`keyring:${o.keyring}`);
      const held = o.keyring === 'matches' ? input.snapshotKeyring : { term: 1, installTime: 'standby-own' };
      // A cold standby seals once it finds it cannot decrypt the restored keyring.
      if (o.keyring === 'differs' && o.node) o.node.state.sealed = true;
      return o.keyring === 'matches'
        ? { verdict: 'matches' as const, detail: `keyring is the snapshot's (term ${held.term})` }
        : { verdict: 'differs' as const, detail: `keyring term ${held.term}, installed ${held.installTime}` };
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
    async drSwitchPrimary() {
      calls.push('switch');
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
  };
  return { activities, calls };
}

const base = { fromCluster: 'primary', toCluster: 'standby', settleMs: 1000 } as const;
const ran: string[] = [];

async function failover(
  activities: Partial<Activities>,
  input: Partial<DrFailoverInput>,
  during?: (h: {
    handle: WorkflowHandleWithFirstExecutionRunId<typeof drFailoverWorkflow>;
    step: (n: string, s: string[]) => Promise<{ detail: string | null }>;
  }) => Promise<void>,
) {
  const args = { ...base, ...input } as DrFailoverInput;
  return bed.start(drFailoverWorkflow, [args], activities, async (handle) => {
    ran.push(handle.workflowId);
    await during?.({ handle, step: (name, states) => waitForStep(handle, name, states) });
    return { ...(await outcomeOf(handle)), steps: await stepsOf(handle), handle };
  });
}

const approval = { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' };

describe('drFailoverWorkflow', () => {
  it('a flapping primary is not failed over: nothing is asked, fenced or restored', async () => {
    const dr = standInFailover({ probes: ['active', 'no-answer', 'slow', 'no-answer', 'active'] });
    const { result, steps } = await failover(dr.activities, { autoApprove: { by: 'policy' } });
    expect(result).toMatchObject({
      outcome: 'not-needed',
      detection: { forced: false, decision: 'alive', rounds: 5 },
      fencing: [],
    });
    expect(result?.detection.reason).toMatch(
      /^alive: 2 of 5 rounds failed .*; 1 slow answers count as answers/,
    );
    expect(dr.calls).toEqual([
      'probe:active',
      'probe:no-answer',
      'probe:slow',
      'probe:no-answer',
      'probe:active',
    ]);
    expect(steps.fence?.state).toBe('pending');
  });

  it('a refused approval fences nothing', async () => {
    const dr = standInFailover({ probes: ['no-answer', 'no-answer', 'no-answer'] });
    const { failure, steps } = await failover(dr.activities, { approval }, async ({ handle, step }) => {
      await step('approve', ['waiting-approval']);
      await handle.executeUpdate(rejectUpdate, {
        args: [{ approver: 'bob', reason: 'the primary is back' }],
      });
    });
    expect(failure?.type).toBe('ApprovalRejected');
    expect(steps.detect?.detail).toMatch(/^down: 3 of 3 rounds failed/);
    expect(dr.calls).toEqual(['probe:no-answer', 'probe:no-answer', 'probe:no-answer']);
    expect(dr.calls.some((c) => c.startsWith('fence'))).toBe(false);
  });

  it('a node that cannot be fenced (unreachable) is recorded, watched, and the failover goes on', async () => {
    const dr = standInFailover({
      fencing: [
        {
          address: PRIMARY_NODE,
          outcome: 'unreachable',
          detail: 'connection refused',
          at: '2026-01-01T00:00:00Z',
        },
      ],
    });
    const { result, steps } = await failover(dr.activities, { force: true, autoApprove: { by: 'policy' } });
    expect(result?.outcome).toBe('failed-over');
    expect(result?.fencing).toEqual([
      expect.objectContaining({ address: PRIMARY_NODE, outcome: 'unreachable' }),
    ]);
    expect(result?.fenceWatch).toEqual([
      expect.objectContaining({ address: PRIMARY_NODE, outcome: 'sealed' }),
    ]);
    expect(dr.calls).toContain(`fence-watch:${PRIMARY_NODE}`);
    expect(steps.fence?.detail).toMatch(/unreachable \(connection refused\)/);
    expect(dr.calls.indexOf('restore')).toBeGreaterThan(dr.calls.indexOf('fence:primary'));
  });

  it('a standby that was never initialised: the restore step and the report say it was initialised first', async () => {
    const dr = standInFailover({ fresh: true });
    const { result, steps } = await failover(dr.activities, { force: true, autoApprove: { by: 'policy' } });
    expect(result).toMatchObject({ outcome: 'failed-over', standbyInitialised: true });
    expect(steps.restore?.detail).toMatch(
      /standby was not initialised: initialised with throwaway keys first$/,
    );
  });

  it('a restore that fails verification seals the standby too and says how to roll forward', async () => {
    const dr = standInFailover({ restored: fingerprint({ canaryId: null }) });
    const { failure, steps } = await failover(dr.activities, { force: true, autoApprove: { by: 'policy' } });
    expect(failure?.type).toBe('DrFailoverStopped');
    expect(failure?.message).toMatch(/canary: absent after restore/);
    expect(failure?.message).toMatch(/primary stays fenced \(never unfenced automatically\)/);
    expect(failure?.message).toMatch(/--force --snapshot <id>/);
    expect(dr.calls).toContain('fence:standby');
    expect(dr.calls).not.toContain('switch');
    expect(steps.verify?.state).toBe('failed');
  });

  it('succeeds: the key holders unseal via unseal-share (progress only in the history), verify, switch, hook, RTO', async () => {
    const node = standInStandbyNode();
    await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
    const shares = ['fake-share-one-0123456789abcdef', 'fake-share-two-0123456789abcdef'];
    for (const s of shares) rememberSecret(s, 'stand-in unseal share');
    rememberSecret('fake-share-refused-0123456789abcdef', 'stand-in unseal share');
    const dr = standInFailover({ probes: ['no-answer', 'no-answer', 'no-answer'], node });
    process.env.TEMPORAL_ADDRESS = bed.env.address;
    const cli = { cluster: 'standby', address: bed.env.address, namespace: bed.env.namespace ?? 'default' };
    let workflowId = '';
    try {
      const { result, steps, handle } = await failover(
        dr.activities,
        { approval, hook: 'true' },
        async ({ handle, step }) => {
          workflowId = handle.workflowId;
          await step('approve', ['waiting-approval']);
          await handle.executeUpdate(approveUpdate, {
            args: [{ approver: 'bob', reason: 'primary is gone' }],
          });
          expect((await step('unseal', ['queued-sealed'])).detail).toMatch(
            /^unseal: 0 of 2 shares; key holders: vaultops dr unseal-share dr-failover-unit-[\d-]+ --cluster standby/,
          );
          const lines: string[] = [];
          const first = await drUnsealShareCommand(
            handle.workflowId,
            cli,
            (l) => lines.push(l),
            async () => shares[0] as string,
          );
          expect(first.progress.nodes[0]).toMatchObject({ sealed: true, progress: 1, threshold: 2 });
          expect(lines).toEqual(['standby: unseal: 1 of 2 shares']);
          // A node that refuses the share: said in the result; the exit status is the CLI action's.
          const exitCodeBefore = process.exitCode;
          const refusedBy = await drUnsealShareCommand(
            handle.workflowId,
            { ...cli, node: ['http://127.0.0.1:9'] },
            () => undefined,
            async () => 'fake-share-refused-0123456789abcdef',
          );
          expect(refusedBy.errors).toEqual([expect.objectContaining({ address: 'http://127.0.0.1:9' })]);
          expect(process.exitCode).toBe(exitCodeBefore);
          await drUnsealShareCommand(
            handle.workflowId,
            cli,
            (l) => lines.push(l),
            async () => shares[1] as string,
          );
          expect(lines[1]).toBe('standby: unseal: unsealed');
          // Refused once the failover no longer waits for shares: nothing is sent.
          await step('unseal', ['done']);
          await expect(
            drUnsealShareCommand(
              workflowId,
              cli,
              () => undefined,
              async () => 'never-sent-share',
            ),
          ).rejects.toThrow(/not waiting for shares/);
          await expect(
            drUnsealShareCommand(
              workflowId,
              { ...cli, cluster: 'primary' },
              () => undefined,
              async () => 'never-sent-share',
            ),
          ).rejects.toThrow(/restores into standby, not primary: no share was sent/);
        },
      );
      expect(node.state.received).toEqual(shares); // straight to the node
      expect(result).toMatchObject({
        outcome: 'failed-over',
        approval: 'approved by bob',
        snapshot: { id: entry.id, choice: 'verified' },
        sealedAfterRestore: true,
        switch: { recordFile: '/store/current-primary.json', hook: { exitCode: 0 } },
        fenceWatch: [],
      });
      expect(Object.keys(result?.rto.phases ?? {}).sort()).toEqual(
        ['approval', 'detection', 'fencing', 'restore', 'switch', 'unseal', 'verification'].sort(),
      );
      expect(result?.rto.totalMs).toBeGreaterThan(0);
      expect(steps.switch?.detail).toMatch(/standby is primary .*; hook exit 0/);
      expect(dr.calls).toEqual(
        expect.arrayContaining([
          'fence:primary',
          'restore',
          'await-restored',
          'compare',
          'switch',
          'hook:standby',
        ]),
      );
      await keepHistory('dr-failover-unsealed-by-shares', handle);
    } finally {
      node.server.close();
    }
  });

  describe('the unseal step after the restore', () => {
    const keyring = { term: 1, installTime: '2026-01-01T00:00:00.123456789Z' };
    const withKeyring: SnapshotEntry = {
      ...entry,
      baseline: { before: fingerprint({ keyring }), after: fingerprint({ keyring }) },
    };
    const forced = { force: true, autoApprove: { by: 'policy' } } as const;
    /** The calls from the restore through the verification, in order, repeats merged. */
    const unsealCalls = (calls: string[]) =>
      calls
        .slice(calls.indexOf('restore'), calls.indexOf('compare') + 1)
        .filter((c, i, all) => c !== all[i - 1]);

    it("watches only the reload window when the standby's keyring is the snapshot's, not the settle time", async () => {
      const settleMs = 30_000;
      const dr = standInFailover({ snapshot: withKeyring, keyring: 'matches' });
      const { result, steps } = await failover(dr.activities, { ...forced, settleMs });
      expect(result).toMatchObject({ outcome: 'failed-over', sealedAfterRestore: false });
      // Asked once the restore is in; then a seal is watched for through the reload window only.
      expect(unsealCalls(dr.calls)).toEqual([
        'restore',
        'seal-progress',
        'keyring:matches',
        'await-seal-change',
        'await-restored',
        'compare',
      ]);
      expect(steps.unseal?.detail).toBe(
        "unsealed; its keyring is the snapshot's (term 1), and no seal came in the 8 s after the restore",
      );
      // The workflow's clock: the step ended before the settle time could have run out.
      expect(result?.rto.phases.unseal).toBeLessThan(settleMs);
    });

    it('a standby that does not answer (the pause after a restore) is waited for, not shown as waiting for shares', async () => {
      const dr = standInFailover({});
      const silent: SealProgress = {
        cluster: 'standby',
        nodes: [
          { address: 'http://standby:8200', sealed: null, progress: 0, threshold: 0, shares: 0, type: null },
        ],
      };
      let answering = false;
      const activities: Partial<Activities> = {
        ...dr.activities,
        drSealProgress: async () => (answering ? autoUnsealed : silent),
        drAwaitSealChange: async () => {
          while (!answering) await new Promise((r) => setTimeout(r, 25));
          return autoUnsealed;
        },
      };
      const { result } = await failover(
        activities,
        { ...forced, settleMs: 1000 },
        async ({ handle, step }) => {
          const unseal = await step('unseal', ['running']);
          expect(unseal.detail).toBe('unseal: no answer; waiting for every node to answer');
          // What `dr unseal-share` reads: not waiting, so a key holder's share is refused, not sent.
          const state = await handle.query(drFailoverStateQuery);
          expect(state.unseal?.waiting).toBe(false);
          answering = true;
        },
      );
      expect(result).toMatchObject({ outcome: 'failed-over', sealedAfterRestore: false });
    });

    it('an older snapshot with no keyring in its baseline: the settle time is waited out, as before', async () => {
      const dr = standInFailover({ keyring: 'matches' });
      const { result, steps } = await failover(dr.activities, { ...forced, settleMs: 1000 });
      expect(result).toMatchObject({ outcome: 'failed-over', sealedAfterRestore: false });
      expect(dr.calls.some((c) => c.startsWith('keyring:'))).toBe(false);
      expect(unsealCalls(dr.calls)).toEqual([
        'restore',
        'seal-progress',
        'await-seal-change',
        'await-restored',
        'compare',
      ]);
      expect(steps.unseal?.detail).toBe('unsealed (no seal followed the restore within 1 s)');
      expect(result?.rto.phases.unseal).toBeGreaterThanOrEqual(1000);
    });

    it('a keyring that differs: the seal is waited for, and the key holders open it', async () => {
      const node = standInStandbyNode();
      await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
      try {
        const dr = standInFailover({ snapshot: withKeyring, keyring: 'differs', node });
        const { result, steps } = await failover(
          dr.activities,
          { ...forced, settleMs: 600_000 },
          async ({ step }) => {
            expect((await step('unseal', ['queued-sealed'])).detail).toMatch(
              /^unseal: 0 of 2 shares; key holders/,
            );
            node.state.sealed = false; // the key holders' shares (unseal-share is the success test's)
          },
        );
        expect(result).toMatchObject({ outcome: 'failed-over', sealedAfterRestore: true });
        expect(unsealCalls(dr.calls)).toEqual([
          'restore',
          'seal-progress',
          'keyring:differs',
          'await-seal-change',
          'await-restored',
          'compare',
        ]);
        expect(steps.unseal?.detail).toBe('unsealed by the key holders');
      } finally {
        node.server.close();
      }
    });
  });

  it('leaves no unseal share in any history', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { workflowIds: ran });
    expect(scan.runs).toBe(ran.length);
  });
});

describe('fingerprintDifferences for a snapshot taken under load', () => {
  it('accepts a KV key count between the readings before and after the snapshot, not beyond', () => {
    const before = fingerprint({ kvKeyCounts: { secret: { count: 73, capped: false } } });
    const after = fingerprint({ kvKeyCounts: { secret: { count: 100, capped: false } } });
    const restored = (count: number) => fingerprint({ kvKeyCounts: { secret: { count, capped: false } } });
    expect(fingerprintDifferences({ before, after }, restored(86))).toEqual([]);
    expect(fingerprintDifferences({ before, after }, restored(101))).toEqual([
      'kv secret: 101 keys after restore, expected 73 or 100',
    ]);
  });
});
