// `vaultops migrate run`: a namespace moved, as a runbook. Plan (refused on a conflict or a
// blocking gap) -> approval -> target namespace -> mounts -> policies -> auth roles -> identity
// (entities, groups, aliases) -> KV in batches (continue-as-new between them keeps the history
// small) -> KV v1 -> transit keys -> PKI roles -> database connections and roles -> verification
// by digest -> freeze (the operator confirms writes stopped) -> delta copy -> cutover
// record -> the source's API lock where it has one -> grace period -> second approval -> retire
// the source (delete with retireSource, else mark). Until cutover, a failure, a rejection or a
// cancellation rolls back: what the ledger says this migration created is removed, newest first.
// History: names, counts and digests only.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { MigrateRunActivities } from '../../activities/migrate/run.js';
import type { VerifyReport } from '../../activities/migrate/verify.js';
import {
  emptyTotals,
  type KvTotals,
  ledgerLocation,
  type MigrateCarry,
  type MigrateContext,
  type MigrateRunInput,
  type StepReport,
} from '../../common/migrate/run.js';
import { presets } from '../lib/activity-presets.js';
import { approvalGate } from '../lib/approval.js';
import { createSaga } from '../lib/saga.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { trackSteps } from '../lib/status.js';
import { confirmFreezeUpdate, type MigrationProgress, migrationProgressQuery } from './messages.js';

// The KV batches heartbeat with their cursor: a worker that dies is noticed and the retry resumes.
const act = proxyActivities<MigrateRunActivities>({
  ...presets.vaultStep,
  startToCloseTimeout: '15 minutes',
});
/** Rollback keeps trying longer: leaving half a migration behind is worse than waiting. */
const undo = proxyActivities<MigrateRunActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export const MIGRATE_STEPS = [
  'plan',
  'approve',
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
  'freeze',
  'delta',
  'rollback',
  'cutover',
  'lock',
  'grace',
  'approve-retire',
  'retire',
] as const;

/** The copy steps make one phase for the reader of the progress; the source's lock is part of the cutover. */
const MIGRATE_PHASES: Partial<Record<(typeof MIGRATE_STEPS)[number], string>> = {
  namespace: 'copy',
  mounts: 'copy',
  policies: 'copy',
  auth: 'copy',
  identity: 'copy',
  kv: 'copy',
  'kv-v1': 'copy',
  transit: 'copy',
  pki: 'copy',
  database: 'copy',
  lock: 'cutover',
};

const PRE_KV = ['plan', 'approve', 'namespace', 'mounts', 'policies', 'auth', 'identity'] as const;

/** Identity, database connections and roles, and KV v1 data: added while migrations may run. */
const MORE_ITEMS = 'migrate-identity-database-kv1';

export interface MigrateResult {
  id: string;
  from: string;
  to: string;
  kv: KvTotals;
  delta: { changed: number; goneAtSource: number; versionsWritten: number };
  verify: Pick<
    VerifyReport,
    'mounts' | 'policies' | 'transitKeys' | 'recreatedKeys' | 'identity' | 'database'
  >;
  /** Every caveat the steps reported: the operator's to-do list (names, never values). */
  caveats: string[];
  cutover: { at: string; record: string; locked: boolean; lockNote: string | null };
  retired: 'deleted' | 'marked' | 'refused';
  runs: number;
}

const fail = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

export const migrateContext = (input: MigrateRunInput): MigrateContext => ({
  id: input.id,
  sourceCluster: input.sourceCluster,
  targetCluster: input.targetCluster,
  mapping: {
    from: input.from,
    to: input.to,
    prefix: input.prefix ?? '',
    ...(input.only ? { only: input.only } : {}),
  },
  ledger: ledgerLocation(input.id, input.targetCluster, input.ledgerMount),
});

export async function migrateWorkflow(
  input: MigrateRunInput,
  carried?: MigrateCarry,
): Promise<MigrateResult> {
  const steps = trackSteps(MIGRATE_STEPS, { phase: 'plan', phaseOf: MIGRATE_PHASES });
  const gate = approvalGate(input.approval); // first: a bad policy is refused before anything
  const ctx = migrateContext(input);
  // Queued with the target's seal guard, or the source's when the failure names the source (the
  // migrate activities name the cluster in every sealed failure: activities/migrate/sides.ts).
  const vaultStep = sealAwareSteps(steps, input.targetCluster ?? 'default');
  const carry: MigrateCarry = carried ?? {
    kvMounts: [],
    mountIndex: 0,
    after: null,
    totals: emptyTotals(),
    reports: {},
    approvals: [],
    runs: 0,
  };
  carry.runs++;
  const moreItems = patched(MORE_ITEMS);
  let frozenBy: string | null = carry.frozenBy ?? null;
  setHandler(
    migrationProgressQuery,
    (): MigrationProgress => ({
      phase: steps.phase,
      reports: carry.reports,
      kv: carry.totals,
      cursor: { mount: carry.kvMounts[carry.mountIndex] ?? null, after: carry.after },
      runs: carry.runs,
      frozenBy,
    }),
  );
  setHandler(
    confirmFreezeUpdate,
    ({ operator, reason }) => {
      frozenBy = operator.trim();
      return `writes to ${input.from || '(root)'} stopped, says ${frozenBy}${reason ? `: ${reason}` : ''}`;
    },
    {
      validator: ({ operator }) => {
        if (typeof operator !== 'string' || operator.trim() === '')
          throw fail('FreezeRefused', 'say who confirms the freeze: { operator }');
      },
      description: 'confirm that writes to the source have stopped: { operator, reason? }',
    },
  );
  const record = (name: string, report: StepReport) => {
    carry.reports[name] = report;
    steps.set(
      name as (typeof MIGRATE_STEPS)[number],
      'done',
      `${report.created.length} created, ${report.skipped.length} already there`,
    );
    return report;
  };

  const saga = createSaga({ steps });
  return saga.run(async () => {
    if (carried) {
      for (const name of PRE_KV) steps.set(name, 'done', 'an earlier run of this migration');
    } else {
      // 1. The plan: nothing is written when the target conflicts or lacks what the source needs.
      const plan = await vaultStep('plan', () => act.migratePlanCheck(ctx));
      if (plan.conflicts.length > 0 || plan.blockingGaps.length > 0) {
        const why = [...plan.conflicts, ...plan.blockingGaps].join('; ');
        steps.set('plan', 'failed', why);
        throw fail('MigrationConflict', `the target is not ready: ${why}`);
      }
      carry.kvMounts = plan.kvMounts;
      carry.reports.plan = {
        created: [],
        skipped: [],
        caveats: [
          ...plan.caveats,
          ...plan.notMigratable.map((n) => `not migrated: ${n}`),
          ...(moreItems
            ? []
            : plan.kvV1Mounts.map((m) => `${m}/: KV v1, the mount is created but its data is not copied`)),
        ],
      };
      steps.set(
        'plan',
        'done',
        `${plan.summary.exact} exact, ${plan.summary.caveat} caveats, ${plan.secrets} secrets`,
      );
      // 2. Nothing is written at the target without the approvers.
      const approved = await steps.run('approve', () => gate.approved(), { as: 'waiting-approval' });
      carry.approvals = approved.approvals.map((a) => a.approver);
    }

    // Until cutover a failure, a rejection or a cancellation undoes what the ledger says this
    // migration created, newest first; the rollback's own failure is the migration's failure.
    saga.add(
      'rollback',
      async () => {
        const rolled = await steps.run('rollback', () => undo.migrateRollback(ctx));
        steps.set(
          'rollback',
          rolled.failed.length > 0 ? 'failed' : 'done',
          rolled.failed.length > 0
            ? `left behind: ${rolled.failed.join('; ')}`
            : `${rolled.removed.length} removed (${rolled.withParent} with their mount)`,
        );
      },
      { selfReporting: true },
    );
    let delta = { changed: 0, goneAtSource: 0, versionsWritten: 0 };
    if (!carried) {
      // 3-6. The structure: each step records in the ledger what it creates before creating it.
      record('namespace', await vaultStep('namespace', () => act.migrateTargetNamespace(ctx)));
      record('mounts', await vaultStep('mounts', () => act.migrateMounts(ctx)));
      record('policies', await vaultStep('policies', () => act.migratePolicies(ctx)));
      record('auth', await vaultStep('auth', () => act.migrateAuthRoles(ctx)));
      // Entities, then groups (members by name), then aliases re-linked to the migrated auth mounts.
      if (moreItems) record('identity', await vaultStep('identity', () => act.migrateIdentity(ctx)));
    }
    // 7. KV: one batch per activity; after batchesPerRun batches, continue as new with the cursor.
    let batches = 0;
    while (carry.mountIndex < carry.kvMounts.length) {
      const mount = carry.kvMounts[carry.mountIndex] as string;
      if (batches >= (input.batchesPerRun ?? 20))
        await continueAsNew<typeof migrateWorkflow>(input, { ...carry, frozenBy });
      const batch = await vaultStep('kv', () =>
        act.migrateKvBatch({
          ctx,
          mount,
          after: carry.after,
          limit: input.kvBatchSize ?? 200,
          totals: carry.totals,
        }),
      );
      batches++;
      carry.totals = batch.totals;
      carry.after = batch.next;
      if (batch.next === null) carry.mountIndex++;
    }
    steps.set(
      'kv',
      'done',
      `${carry.totals.paths} secrets, ${carry.totals.versionsWritten} versions written`,
    );
    // KV v1: one value per key, copied and read back in one activity.
    const kvV1Bad: string[] = [];
    if (moreItems) {
      const v1 = await vaultStep('kv-v1', () => act.migrateKvV1({ ctx, delta: false }));
      if (v1.mismatched > 0) kvV1Bad.push(`KV v1: ${v1.mismatchedPaths.join(', ')}`);
      record('kv-v1', { created: v1.created, skipped: v1.skipped, caveats: v1.caveats });
    }
    // 8-9. Transit keys (backup/restore inside one activity) and PKI roles.
    record('transit', await vaultStep('transit', () => act.migrateTransitKeys(ctx)));
    record('pki', await vaultStep('pki', () => act.migratePkiRoles(ctx)));
    // Connections without their password (the caveat), and dynamic roles.
    if (moreItems) record('database', await vaultStep('database', () => act.migrateDatabase(ctx)));
    // 10. Verification: digests of both sides; KV compared version by version by the copy.
    const verify = await vaultStep('verify', () => act.migrateVerify(ctx));
    const kvBad = [
      ...(carry.totals.mismatched > 0 ? [`KV: ${carry.totals.mismatchedPaths.join(', ')}`] : []),
      ...kvV1Bad,
    ];
    if (verify.mismatches.length > 0 || kvBad.length > 0) {
      steps.set('verify', 'failed', [...verify.mismatches, ...kvBad].join('; '));
      throw fail(
        'MigrationMismatch',
        `the target differs from the source: ${[...verify.mismatches, ...kvBad].join('; ')}`,
      );
    }
    steps.set(
      'verify',
      'done',
      `${verify.mounts} mounts, ${verify.policies} policies, ${verify.transitKeys} transit keys, ${carry.totals.paths} secrets match`,
    );
    // 11. Freeze: the operator confirms that writes to the source stopped.
    await steps.run('freeze', () => condition(() => frozenBy !== null), { as: 'waiting-approval' });
    steps.set('freeze', 'done', `confirmed by ${frozenBy}`);
    // 12. Delta: what moved on at the source since its copy.
    let deltaTotals = emptyTotals();
    for (const mount of carry.kvMounts) {
      const d = await vaultStep('delta', () => act.migrateKvDelta({ ctx, mount }));
      delta = {
        changed: delta.changed + d.changed,
        goneAtSource: delta.goneAtSource + d.goneAtSource,
        versionsWritten: delta.versionsWritten + d.totals.versionsWritten,
      };
      deltaTotals = {
        ...d.totals,
        mismatchedPaths: [...deltaTotals.mismatchedPaths, ...d.totals.mismatchedPaths],
      };
      if (d.totals.mismatched > 0)
        throw fail('MigrationMismatch', `the delta copy differs: ${d.totals.mismatchedPaths.join(', ')}`);
    }
    if (moreItems) {
      const v1 = await vaultStep('delta', () => act.migrateKvV1({ ctx, delta: true }));
      if (v1.mismatched > 0)
        throw fail('MigrationMismatch', `the KV v1 delta copy differs: ${v1.mismatchedPaths.join(', ')}`);
      delta = {
        changed: delta.changed + v1.written,
        goneAtSource: delta.goneAtSource + v1.removed,
        versionsWritten: delta.versionsWritten + v1.written,
      };
    }
    steps.set(
      'delta',
      'done',
      `${delta.changed} secrets changed since the copy, ${delta.versionsWritten} versions written`,
    );
    // Cutover: from here the migration stays, whatever happens.
    await saga.commit();

    // 13. Cutover: recorded at the target; the source locked where it can be.
    const at = new Date().toISOString();
    const cut = await vaultStep('cutover', () => act.migrateRecordCutover({ ctx, at }));
    const lock = await vaultStep('lock', () => act.migrateLockSource(ctx));
    steps.set('lock', 'done', lock.locked ? 'source namespace API locked' : (lock.reason ?? 'not locked'));
    // 14. Grace: a durable timer; apps move to the target meanwhile.
    await steps.run('grace', () => sleep(input.graceMs));
    // 15. Nothing is retired without a second approval.
    const retireGate = approvalGate(input.approval);
    let retired: MigrateResult['retired'];
    try {
      await steps.run('approve-retire', () => retireGate.approved(), { as: 'waiting-approval' });
      await vaultStep('retire', async () => {
        await act.migrateUnlockSource(ctx);
        return act.migrateRetireSource({ ctx, remove: input.retireSource === true });
      });
      retired = input.retireSource ? 'deleted' : 'marked';
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || !/^Approval(Rejected|Expired)$/.test(err.type ?? ''))
        throw err;
      // The source stays as it was, reachable again.
      await act.migrateUnlockSource(ctx);
      retired = 'refused';
    }
    steps.enter('done');
    return {
      id: input.id,
      from: input.from,
      to: input.to,
      kv: carry.totals,
      delta,
      verify: {
        mounts: verify.mounts,
        policies: verify.policies,
        transitKeys: verify.transitKeys,
        recreatedKeys: verify.recreatedKeys,
        identity: verify.identity ?? 0,
        database: verify.database ?? 0,
      },
      caveats: Object.values(carry.reports).flatMap((r) => r.caveats),
      cutover: { at, record: cut.path, locked: lock.locked, lockNote: lock.reason },
      retired,
      runs: carry.runs,
    };
  });
}
