// The migration workflow in the time-skipping environment, over a named stand-in of the migrate
// activities (standInMigration): an in-memory source and target, a write-ahead ledger, KV paths
// with current versions. Every branch: a conflict refused before anything is written; an approval
// refused; a failure at each step rolled back (only what the ledger says this migration created
// is removed, what the target had before stays); a cancellation before cutover rolled back; the
// delta copy picking up a write made during the copy; continue-as-new carrying the KV cursor; the
// grace period, the second approval, and the retirement (marked or deleted); a step failing on
// the SOURCE cluster's seal queued with the source's guard, not the target's.
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { Ledger } from '../../activities/migrate/ledger.js';
import { rollbackMigration } from '../../activities/migrate/rollback.js';
import { createSealActivities, type SealWatchInput } from '../../activities/seal/watch.js';
import {
  emptyTotals,
  type KvTotals,
  type LedgerEntry,
  type MigrateContext,
  type MigrateRunInput,
  type StepReport,
} from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { VaultErrorType, vaultFailure } from '../../vault/errors.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { sealGuardId, sealGuardStateQuery } from '../../workflows/lib/seal-signals.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import { confirmFreezeUpdate, migrationProgressQuery } from '../../workflows/migrate/messages.js';
import { migrateWorkflow } from '../../workflows/migrate/migrate.js';
import { rootCause, useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'migrate' });

type Step =
  | 'namespace'
  | 'mounts'
  | 'policies'
  | 'auth'
  | 'identity'
  | 'kv'
  | 'kv-v1'
  | 'transit'
  | 'pki'
  | 'database'
  | 'verify'
  | 'delta';

/** What each structure step would create at the target (some of it is there already). */
const WANTED: Record<string, string[]> = {
  namespace: ['namespace admin/team-b'],
  mounts: ['mount secret/', 'mount transit/', 'mount pki/', 'auth approle/'],
  policies: ['policy app-read', 'policy shared'],
  auth: ['auth-role auth/approle/role/web'],
  identity: ['identity-entity svc-web', 'identity-entity alice', 'identity-group ops'],
  'kv-v1': ['kv1-secret legacy/a'],
  database: ['database-connection db/config/pg', 'database-role db/roles/readonly'],
  transit: ['transit-key transit/keys/orders'],
  pki: ['pki-role pki/roles/web'],
};
/** At the target before the migration, identical to the source's: skipped, and never removed. */
const PREEXISTING = ['mount pki/', 'policy shared', 'identity-entity alice'];

const kvV1Report = {
  mounts: 1,
  paths: 1,
  written: 1,
  removed: 0,
  mismatched: 0,
  mismatchedPaths: [],
  sourceDigest: 'sha256:v1',
  targetDigest: 'sha256:v1',
};

const refuse = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

/** Stand-ins for the migrate activities over an in-memory source and target. */
function standInMigration(
  options: {
    failAt?: Step;
    conflict?: boolean;
    paths?: number;
    writeDuringCopy?: string;
    /** The source cluster seals before the second KV batch (until the test unseals it). */
    sealSource?: boolean;
  } = {},
) {
  const calls: string[] = [];
  const target = new Set(PREEXISTING);
  const ledger: string[] = [];
  const removed: string[] = [];
  const source = new Map<string, number>();
  for (let i = 0; i < (options.paths ?? 5); i++) source.set(`app/s${String(i).padStart(3, '0')}`, 2);
  const targetKv = new Map<string, number>();
  /** Sealed clusters by name, and the KV batch attempts that met the seal. */
  const seal = { sealed: new Set<string>(), sealedAttempts: 0, sealedOnce: false };
  const createAll = (step: Step): StepReport => {
    calls.push(step);
    const report: StepReport = { created: [], skipped: [], caveats: [] };
    for (const item of WANTED[step] ?? []) {
      if (target.has(item)) {
        report.skipped.push(item);
        continue;
      }
      ledger.push(item); // write-ahead, as the real ledger
      target.add(item);
      report.created.push(item);
      // Fails after its first creation: the ledger still knows it.
      if (options.failAt === step) throw refuse('VaultInvalidRequest', `stand-in: ${step} failed halfway`);
    }
    if (step === 'auth') report.caveats.push('auth/approle/role/web: secret IDs are not copied');
    return report;
  };
  const copy = (paths: string[], totals: KvTotals): KvTotals => {
    for (const p of paths) {
      if (!targetKv.has(p)) ledger.push(`kv-secret secret/${p}`);
      targetKv.set(p, source.get(p) as number);
      target.add(`kv-secret secret/${p}`);
    }
    return {
      ...totals,
      paths: totals.paths + paths.length,
      versionsWritten: totals.versionsWritten + paths.length * 2,
    };
  };
  const vault = targetVault(target);
  const activities: Partial<Activities> = {
    async migratePlanCheck() {
      calls.push('plan');
      return {
        summary: {
          exact: 8,
          caveat: 1,
          notMigratable: 0,
          conflicts: options.conflict ? 1 : 0,
          gaps: 0,
          ready: !options.conflict,
        },
        conflicts: options.conflict ? ["policy app-read: the target's policy app-read has other rules"] : [],
        blockingGaps: [],
        caveats: ['auth/approle/role/web: AppRole secret IDs are reissued'],
        notMigratable: [],
        kvMounts: ['secret'],
        kvV1Mounts: [],
        secrets: source.size,
        versions: source.size * 2,
      };
    },
    async migrateTargetNamespace() {
      return createAll('namespace');
    },
    async migrateMounts() {
      return createAll('mounts');
    },
    async migratePolicies() {
      return createAll('policies');
    },
    async migrateAuthRoles() {
      return createAll('auth');
    },
    async migrateIdentity() {
      return createAll('identity');
    },
    async migrateDatabase() {
      return createAll('database');
    },
    async migrateKvV1(input) {
      if (input.delta) {
        calls.push('delta kv-v1');
        return { ...kvV1Report, written: 0, created: [], skipped: [], caveats: [] };
      }
      return { ...kvV1Report, ...createAll('kv-v1') };
    },
    async migrateKvBatch(input) {
      const sourceCluster = input.ctx.sourceCluster ?? 'default';
      if (options.sealSource && input.after !== null && !seal.sealedOnce) {
        seal.sealedOnce = true;
        seal.sealed.add(sourceCluster);
      }
      if (seal.sealed.has(sourceCluster)) {
        seal.sealedAttempts++;
        // As the migrate activities name the source's seal (activities/migrate/sides.ts).
        throw ApplicationFailure.create({
          type: 'VaultSealed',
          message: `sealed: cluster ${sourceCluster}: Vault is sealed`,
          details: [{ method: 'LIST', path: 'secret/metadata/app', cluster: sourceCluster }],
        });
      }
      calls.push(`kv after=${input.after ?? '-'}`);
      const all = [...source.keys()].sort();
      const pending = all.filter((p) => input.after === null || p > input.after);
      const batch = pending.slice(0, input.limit);
      const totals = copy(batch, input.totals);
      if (options.failAt === 'kv') throw refuse('VaultInvalidRequest', 'stand-in: kv batch failed');
      // A write at the source while the copy runs: the delta copy must pick it up.
      if (options.writeDuringCopy && input.after === null)
        source.set(options.writeDuringCopy, (source.get(options.writeDuringCopy) as number) + 1);
      return { totals, next: pending.length > batch.length ? (batch.at(-1) ?? null) : null };
    },
    async migrateTransitKeys() {
      return createAll('transit');
    },
    async migratePkiRoles() {
      return createAll('pki');
    },
    async migrateVerify() {
      calls.push('verify');
      return {
        mounts: 4,
        policies: 2,
        transitKeys: 1,
        recreatedKeys: [],
        identity: 3,
        database: 2,
        mismatches: options.failAt === 'verify' ? ['policy app-read: rules differ'] : [],
        sourceDigest: 'sha256:a',
        targetDigest: 'sha256:a',
      };
    },
    async migrateKvDelta() {
      calls.push('delta');
      if (options.failAt === 'delta') throw refuse('VaultInvalidRequest', 'stand-in: delta failed');
      const changed = [...source.keys()].filter((p) => source.get(p) !== targetKv.get(p));
      return { totals: copy(changed, emptyTotals()), changed: changed.length, goneAtSource: 0 };
    },
    async migrateRecordCutover(input) {
      calls.push('cutover');
      return { path: `secret/vaultops/migrations/${input.ctx.id}/cutover` };
    },
    async migrateLockSource() {
      calls.push('lock');
      return { locked: true, reason: null };
    },
    async migrateUnlockSource() {
      calls.push('unlock');
      return { unlocked: true };
    },
    async migrateRetireSource(input) {
      calls.push(`retire remove=${input.remove}`);
      return { mounts: 3, authMethods: 1, policies: 2, removed: input.remove };
    },
    // The real rollback (what to remove, in which order, what goes with its mount) over the
    // stand-in ledger, against a target that takes each delete the way Vault would.
    async migrateRollback(ctx: MigrateContext) {
      calls.push('rollback');
      const report = await rollbackMigration(vault, vault, ledgerOf(ledger), vault, ctx);
      removed.push(...report.removed);
      return report;
    },
  };
  // The seal guard's side: the real enqueue (it talks to Temporal), a watch of the stand-in seals.
  const real = createSealActivities({ vault: {} as VaultClient, notifier: { notify: async () => {} } });
  Object.assign(activities, {
    enqueueForUnseal: real.enqueueForUnseal,
    async notifySealEvent() {},
    async watchSealStatus(watch: SealWatchInput) {
      const until = Date.now() + (watch.maxWaitMs ?? 60_000);
      const context = Context.current();
      while (seal.sealed.has(watch.cluster) === watch.knownSealed && Date.now() < until) {
        context.heartbeat();
        await sleep(20);
        if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      }
      return {
        sealed: seal.sealed.has(watch.cluster),
        reachable: true,
        observedAt: new Date().toISOString(),
      };
    },
  } satisfies Partial<Activities>);
  return { activities, calls, target, ledger, removed, deletes: vault.deletes, source, targetKv, seal };
}

/** The stand-in's ledger items (`<kind> <name>`) as the real ledger reads them. */
function ledgerOf(items: string[]): Ledger {
  return {
    entries: async () =>
      items.map((item) => {
        const [kind, name] = item.split(' ') as [LedgerEntry['kind'], string];
        return { kind, name } as LedgerEntry;
      }),
    record: async () => {},
    recordAll: async () => {},
  };
}

/**
 * The target as a VaultClient for the real rollback: each delete is recorded (`<namespace>:<path>`)
 * and takes from `target` what Vault would remove with it (a mount or auth method with all it
 * holds). Reads answer not found: what was deleted is gone.
 */
function targetVault(target: Set<string>) {
  const deletes: string[] = [];
  const take = (matches: (kind: string, name: string) => boolean) => {
    for (const item of [...target]) {
      const [kind = '', name = ''] = item.split(' ');
      if (matches(kind, name)) target.delete(item);
    }
  };
  const client = (namespace: string) => ({
    withNamespace: (ns: string) => client(ns),
    async read(path: string) {
      throw vaultFailure(VaultErrorType.NotFound, `nothing at ${path}`, {
        method: 'GET',
        path,
        status: 404,
        namespace,
      });
    },
    async put() {
      return {};
    },
    async delete(path: string) {
      deletes.push(`${namespace}:${path}`);
      const [, rest = ''] = path.match(/^[^/]+\/[^/]+\/(.*)$/) ?? [];
      if (path.startsWith('sys/namespaces/'))
        take((k, n) => k === 'namespace' && n === `${namespace}/${rest}`);
      else if (path.startsWith('sys/mounts/'))
        take(
          (k, n) =>
            (k === 'mount' && n === `${rest}/`) ||
            (k !== 'auth' && k !== 'mount' && n.startsWith(`${rest}/`)),
        );
      else if (path.startsWith('sys/auth/'))
        take((k, n) => (k === 'auth' && n === `${rest}/`) || n.startsWith(`auth/${rest}/`));
      else if (path.startsWith('sys/policies/acl/')) take((k, n) => k === 'policy' && `acl/${n}` === rest);
      else if (path.startsWith('identity/entity/name/'))
        take((k, n) => k === 'identity-entity' && path.endsWith(`/${n}`));
      else if (path.startsWith('identity/group/name/'))
        take((k, n) => k === 'identity-group' && path.endsWith(`/${n}`));
      else if (path.includes('/metadata/'))
        take((k, n) => k === 'kv-secret' && n === path.replace('/metadata/', '/'));
      else take((_, n) => n === path);
    },
  });
  return Object.assign(client('') as unknown as VaultClient, { deletes });
}

const input = (over: Partial<MigrateRunInput> = {}): MigrateRunInput => ({
  id: `t${Math.random().toString(36).slice(2, 8)}`,
  from: 'admin/team-a',
  to: 'admin/team-b',
  approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
  graceMs: 1000,
  kvBatchSize: 2,
  ...over,
});

type Script = {
  approve?: 'approve' | 'reject';
  freeze?: boolean;
  cancelAtFreeze?: boolean;
  retire?: 'approve' | 'reject';
  cancelInGrace?: boolean;
  /** Runs once the approval is given, before the freeze. */
  meanwhile?: (handle: WorkflowHandle, waitFor: WaitFor) => Promise<void>;
};

type WaitFor = (
  name: string,
  states: string[],
) => Promise<{ state: string; detail: string | null } | undefined>;

async function migrate(m: ReturnType<typeof standInMigration>, args: MigrateRunInput, script: Script) {
  return bed.start(migrateWorkflow, [args], m.activities, async (handle) => {
    const waitFor = async (name: string, states: string[]) => {
      for (let waited = 0; waited < 30_000; waited += 50) {
        // A query racing a continue-as-new may wait long: bounded, and asked again.
        const steps = await bed.env.client
          .withDeadline(Date.now() + 3000, () => handle.query(workflowStatusQuery))
          .catch(() => ({ steps: [] }));
        const step = steps.steps.find((s) => s.name === name);
        if (step && states.includes(step.state)) return step;
        if (steps.steps.some((s) => s.state === 'failed' || s.state === 'compensated')) return undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`step ${name} never reached ${states.join('/')}`);
    };
    const decide = async (step: string, how: 'approve' | 'reject') => {
      if (!(await waitFor(step, ['waiting-approval']))) return;
      await handle.executeUpdate(how === 'reject' ? rejectUpdate : approveUpdate, {
        args: [{ approver: 'bob', reason: 'stand-in test' }],
      });
    };
    if (script.approve) await decide('approve', script.approve);
    await script.meanwhile?.(handle, waitFor);
    if (script.freeze || script.cancelAtFreeze) {
      if (await waitFor('freeze', ['waiting-approval'])) {
        if (script.cancelAtFreeze) await handle.cancel();
        else
          await handle.executeUpdate(confirmFreezeUpdate, {
            args: [{ operator: 'carol', reason: 'writes stopped' }],
          });
      }
    }
    if (script.cancelInGrace && (await waitFor('grace', ['running']))) await handle.cancel();
    // The grace period runs in real time here (a second): time-skipping's sleep would race the
    // retirement's approval deadline.
    if (script.retire) await decide('approve-retire', script.retire);
    // The result once the workflow has closed: awaiting a running chain of continued-as-new runs
    // in the time-skipping server now and then never returns.
    for (let waited = 0; waited < 30_000; waited += 50) {
      const { status } = await bed.env.client
        .withDeadline(Date.now() + 3000, () => handle.describe())
        .catch(() => ({ status: { name: 'RUNNING' } }));
      if (status.name !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const outcome = await bed.env.client.workflow
      .getHandle(handle.workflowId)
      .result()
      .then(
        (result) => ({ result, failure: undefined }),
        (err: unknown) => ({ result: undefined, failure: rootCause(err) }),
      );
    const status = Object.fromEntries(
      (await handle.query(workflowStatusQuery)).steps.map((s) => [s.name, s]),
    );
    const progress = await handle.query(migrationProgressQuery);
    return { ...outcome, status, progress, handle };
  });
}

/** After a rollback the target is as it was: what was there before stays, nothing else. */
function expectRolledBack(m: ReturnType<typeof standInMigration>) {
  expect([...m.target].sort()).toEqual([...PREEXISTING].sort());
  for (const item of PREEXISTING) expect(m.removed).not.toContain(item);
  // Newest first: each removal was recorded in the ledger before the one removed after it.
  const at = m.removed.map((item) => m.ledger.indexOf(item));
  expect(at.every((i) => i >= 0)).toBe(true);
  expect(at).toEqual([...at].sort((a, b) => b - a));
}

describe('migrateWorkflow', () => {
  it('migrates: copy, verify, freeze, delta (picking up a write made during the copy), cutover, grace, retirement', async () => {
    const m = standInMigration({ paths: 5, writeDuringCopy: 'app/s000' });
    const { result, failure, status, handle } = await migrate(m, input(), {
      approve: 'approve',
      freeze: true,
      retire: 'approve',
    });
    expect(failure).toBeUndefined();
    await keepHistory('migrate-copied-cut-over-retired', handle);
    expect(m.calls).toEqual([
      'plan',
      'namespace',
      'mounts',
      'policies',
      'auth',
      'identity',
      'kv after=-',
      'kv after=app/s001',
      'kv after=app/s003',
      'kv-v1',
      'transit',
      'pki',
      'database',
      'verify',
      'delta',
      'delta kv-v1',
      'cutover',
      'lock',
      'unlock',
      'retire remove=false',
    ]);
    expect(result?.kv.paths).toBe(5);
    // s000 moved on to version 3 at the source during the copy: the delta copied it, and only it.
    expect(result?.delta.changed).toBe(1);
    expect(m.targetKv.get('app/s000')).toBe(3);
    expect(result?.retired).toBe('marked');
    expect(result?.cutover).toMatchObject({ locked: true, record: expect.stringMatching(/\/cutover$/) });
    expect(result?.caveats).toContain('auth/approle/role/web: secret IDs are not copied');
    expect(m.calls).not.toContain('rollback');
    expect(status.mounts?.detail).toBe('3 created, 1 already there');
    // The entity the target had before is kept (skipped), the others created.
    expect(status.identity?.detail).toBe('2 created, 1 already there');
    expect(result?.verify).toMatchObject({ identity: 3, database: 2 });
    expect(status.freeze?.detail).toBe('confirmed by carol');
  });

  it('deletes at the source only with retireSource, after the second approval', async () => {
    const m = standInMigration({ paths: 1 });
    const { result } = await migrate(m, input({ retireSource: true }), {
      approve: 'approve',
      freeze: true,
      retire: 'approve',
    });
    expect(result?.retired).toBe('deleted');
    expect(m.calls.at(-1)).toBe('retire remove=true');
  });

  it('a refused retirement keeps the source, unlocked; the target stays (no rollback after cutover)', async () => {
    const m = standInMigration({ paths: 1 });
    const { result } = await migrate(m, input({ retireSource: true }), {
      approve: 'approve',
      freeze: true,
      retire: 'reject',
    });
    expect(result?.retired).toBe('refused');
    expect(m.calls.slice(-2)).toEqual(['lock', 'unlock']);
    expect(m.calls).not.toContain('rollback');
    expect(m.target.has('mount secret/')).toBe(true);
  });

  it('refuses a plan with conflicts before anything is written', async () => {
    const m = standInMigration({ conflict: true });
    const { failure, status } = await migrate(m, input(), {});
    expect(failure?.type).toBe('MigrationConflict');
    expect(failure?.message).toMatch(/policy app-read/);
    expect(m.calls).toEqual(['plan']);
    expect(m.ledger).toEqual([]);
    expect(status.approve?.state).toBe('pending');
  });

  it('an approval refused writes nothing', async () => {
    const m = standInMigration();
    const { failure } = await migrate(m, input(), { approve: 'reject' });
    expect(failure?.type).toBe('ApprovalRejected');
    expect(m.calls).toEqual(['plan']);
    expect([...m.target].sort()).toEqual([...PREEXISTING].sort());
  });

  for (const step of [
    'namespace',
    'mounts',
    'policies',
    'auth',
    'identity',
    'kv',
    'kv-v1',
    'transit',
    'pki',
    'database',
    'verify',
    'delta',
  ] as Step[]) {
    it(`a failure at ${step} rolls back only what this migration created, newest first`, async () => {
      const m = standInMigration({ failAt: step, paths: 3 });
      const { failure, status } = await migrate(m, input(), { approve: 'approve', freeze: true });
      expect(failure?.message).toMatch(step === 'verify' ? /differs/ : /stand-in/);
      expect(m.calls.at(-1)).toBe('rollback');
      expect(m.ledger.length).toBeGreaterThan(0);
      expectRolledBack(m);
      expect(status.rollback?.state).toBe('done');
      expect(m.calls).not.toContain('cutover');
    });
  }

  it('rolls back in the order the real rollback takes: newest first, what a created mount holds goes with it', async () => {
    const m = standInMigration({ failAt: 'pki', paths: 2 });
    const { status } = await migrate(m, input(), { approve: 'approve', freeze: true });
    expect(m.deletes).toEqual([
      ':pki/roles/web', // in pki/, which the target had before: removed by itself
      ':legacy/a',
      ':identity/group/name/ops',
      ':identity/entity/name/svc-web',
      ':sys/policies/acl/app-read',
      ':sys/auth/approle', // with its role
      ':sys/mounts/transit', // with its key
      ':sys/mounts/secret', // with the copied secrets
      'admin:sys/namespaces/team-b',
    ]);
    expect(status.rollback?.detail).toBe('9 removed (4 with their mount)');
    expectRolledBack(m);
  });

  it('a cancellation before cutover (waiting for the freeze) rolls back', async () => {
    const m = standInMigration({ paths: 2 });
    const { failure } = await migrate(m, input(), { approve: 'approve', cancelAtFreeze: true });
    expect(failure?.cancelled).toBe(true);
    expect(m.calls.at(-1)).toBe('rollback');
    expectRolledBack(m);
  });

  it('a cancellation in the grace period (after cutover) keeps the migration: no rollback', async () => {
    const m = standInMigration({ paths: 1 });
    const { failure, status } = await migrate(m, input({ graceMs: 30 * 86_400_000 }), {
      approve: 'approve',
      freeze: true,
      cancelInGrace: true,
    });
    expect(failure?.cancelled).toBe(true);
    expect(m.calls.slice(-2)).toEqual(['cutover', 'lock']);
    expect(m.calls).not.toContain('rollback');
    expect(m.target.has('mount secret/')).toBe(true);
    expect(status.grace?.state).toBe('failed');
  });

  it("a step failing on the SOURCE cluster's seal queues with the source's guard, and runs after its unseal", async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const [sourceCluster, targetCluster] = [`source-${tag}`, `target-${tag}`];
    const m = standInMigration({ paths: 5, sealSource: true });
    const args = input({ sourceCluster, targetCluster });
    let queuedDetail: string | null | undefined;
    let attemptsWhileSealed: number[] = [];
    const { result, failure } = await migrate(m, args, {
      approve: 'approve',
      freeze: true,
      retire: 'approve',
      meanwhile: async (handle, waitFor) => {
        queuedDetail = (await waitFor('kv', ['queued-sealed']))?.detail;
        const guard = bed.env.client.workflow.getHandle(sealGuardId(sourceCluster));
        // Started by the enqueue, the guard learns of the seal from its first watch.
        for (let waited = 0; !(await guard.query(sealGuardStateQuery)).sealed; waited += 50) {
          if (waited > 20_000) throw new Error("the source's guard never saw the seal");
          await sleep(50);
        }
        const state = await guard.query(sealGuardStateQuery);
        expect(state.queue.map((q) => `${q.workflowId}:${q.step}`)).toEqual([`${handle.workflowId}:kv`]);
        // The target's guard is not involved: it was never started.
        await expect(
          bed.env.client.workflow.getHandle(sealGuardId(targetCluster)).describe(),
        ).rejects.toThrow();
        // While the source stays sealed the step waits; nobody releases it to fail again.
        const attempts = m.seal.sealedAttempts;
        await sleep(1500);
        attemptsWhileSealed = [attempts, m.seal.sealedAttempts];
        m.seal.sealed.delete(sourceCluster);
      },
    });
    await bed.env.client.workflow.getHandle(sealGuardId(sourceCluster)).terminate('test done');
    expect(failure).toBeUndefined();
    expect(queuedDetail).toBe(`waiting for ${sourceCluster} to be unsealed`);
    expect(attemptsWhileSealed[0]).toBeGreaterThan(0);
    expect(attemptsWhileSealed[1]).toBe(attemptsWhileSealed[0]);
    expect(result?.kv.paths).toBe(5);
    expect(m.calls.filter((c) => c.startsWith('kv after'))).toEqual([
      'kv after=-',
      'kv after=app/s001',
      'kv after=app/s003',
    ]);
  });

  it('continues as new between KV batches, carrying the cursor and the totals', async () => {
    const m = standInMigration({ paths: 7 });
    const { result, progress, handle } = await migrate(m, input({ kvBatchSize: 2, batchesPerRun: 2 }), {
      approve: 'approve',
      freeze: true,
      retire: 'approve',
    });
    // The first run: the structure and two KV batches, then the continue-as-new.
    await keepHistory(
      'migrate-continued-between-batches',
      bed.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId),
    );
    // Four batches over three runs: each run goes on after the last path the previous one copied.
    expect(m.calls.filter((c) => c.startsWith('kv after'))).toEqual([
      'kv after=-',
      'kv after=app/s001',
      'kv after=app/s003',
      'kv after=app/s005',
    ]);
    expect(m.calls.filter((c) => c === 'plan' || c === 'namespace')).toEqual(['plan', 'namespace']);
    expect(result?.runs).toBe(2);
    expect(result?.kv.paths).toBe(7);
    expect(progress.runs).toBe(2);
  });
});
