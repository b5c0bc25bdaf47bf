// The activities of `vaultops migrate run` (workflows/migrate/migrate.ts), one per step, over the files of
// this folder. Each takes the MigrateContext (ids, clusters, mapping, ledger) and returns names,
// counts and digests only: values, role IDs, passwords and transit backups stay inside them.
import type { KvTotals, MigrateContext, StepReport } from '../../common/migrate/run.js';
import { keptAlive } from '../../vault/activity-scope.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { copyAuthRoles } from './auth-roles.js';
import { lockSource, recordCutover, retireSource, unlockSource } from './cutover.js';
import { copyDatabase } from './database.js';
import { copyIdentity } from './identity.js';
import { copyKvDelta, copyKvMountBatch } from './kv-batches.js';
import { copyKvV1 } from './kv-v1.js';
import { copyMounts } from './mounts.js';
import { copyPkiRoles } from './pki-roles.js';
import { checkPlan } from './plan-check.js';
import { copyPolicies } from './policies.js';
import { rollbackMigration } from './rollback.js';
import { type CopyStep, clusterOf, sidesOf } from './sides.js';
import { ensureTargetNamespace } from './target-namespace.js';
import { copyTransitKeys } from './transit-keys.js';
import { verifyStructure } from './verify.js';

export function createMigrateRunActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);
  const sides = (ctx: MigrateContext) => sidesOf(clusters, ctx);
  const ledgerRoot = (ctx: MigrateContext) =>
    clusterOf(clusters, ctx.ledger.cluster ?? ctx.targetCluster).withNamespace('');
  const sourceRoot = (ctx: MigrateContext) => clusterOf(clusters, ctx.sourceCluster).withNamespace('');
  /** The activity for a copy step: the step over the context's two sides and its ledger. */
  const copyStep =
    (copy: CopyStep) =>
    async (ctx: MigrateContext): Promise<StepReport> => {
      const s = sides(ctx);
      return copy(s.source, s.target, s.ledger, ctx.mapping);
    };
  return keptAlive({
    async migratePlanCheck(ctx: MigrateContext) {
      const s = sides(ctx);
      return checkPlan(s.source, s.target, ctx.mapping);
    },
    async migrateTargetNamespace(ctx: MigrateContext): Promise<StepReport> {
      const s = sides(ctx);
      return ensureTargetNamespace(s.targetRoot, s.ledger, ctx.mapping.to);
    },
    async migrateMounts(ctx: MigrateContext): Promise<StepReport> {
      const s = sides(ctx);
      const engines = await copyMounts(s.source, s.target, s.ledger, ctx.mapping, 'sys/mounts');
      const auth = await copyMounts(s.source, s.target, s.ledger, ctx.mapping, 'sys/auth');
      return {
        created: [...engines.created, ...auth.created],
        skipped: [...engines.skipped, ...auth.skipped],
        caveats: [...engines.caveats, ...auth.caveats],
      };
    },
    migratePolicies: copyStep(copyPolicies),
    migrateAuthRoles: copyStep(copyAuthRoles),
    migrateIdentity: copyStep(copyIdentity),
    migrateDatabase: copyStep(copyDatabase),
    /** KV v1 mounts whole (small by nature: one value per key); again after the freeze with delta. */
    async migrateKvV1(input: { ctx: MigrateContext; delta: boolean }) {
      const s = sides(input.ctx);
      return copyKvV1(s.source, s.target, s.ledger, input.ctx.mapping, { delta: input.delta });
    },
    async migrateKvBatch(input: {
      ctx: MigrateContext;
      mount: string;
      after: string | null;
      limit: number;
      totals: KvTotals;
    }) {
      const s = sides(input.ctx);
      return copyKvMountBatch(s.source, s.target, s.ledger, input.ctx.mapping, input);
    },
    async migrateKvDelta(input: { ctx: MigrateContext; mount: string }) {
      const s = sides(input.ctx);
      return copyKvDelta(s.source, s.target, s.ledger, input.ctx.mapping, input);
    },
    migrateTransitKeys: copyStep(copyTransitKeys),
    migratePkiRoles: copyStep(copyPkiRoles),
    async migrateVerify(ctx: MigrateContext) {
      const s = sides(ctx);
      return verifyStructure(s.source, s.target, ctx.mapping);
    },
    async migrateRecordCutover(input: { ctx: MigrateContext; at: string }) {
      return recordCutover(ledgerRoot(input.ctx), input.ctx, input.at);
    },
    async migrateLockSource(ctx: MigrateContext) {
      return lockSource(sourceRoot(ctx), ledgerRoot(ctx), ctx);
    },
    async migrateUnlockSource(ctx: MigrateContext) {
      return unlockSource(sourceRoot(ctx), ledgerRoot(ctx), ctx);
    },
    async migrateRetireSource(input: { ctx: MigrateContext; remove: boolean }) {
      return retireSource(sides(input.ctx).source, input.ctx, input.remove);
    },
    async migrateRollback(ctx: MigrateContext) {
      const s = sides(ctx);
      return rollbackMigration(s.target, s.targetRoot, s.ledger, ledgerRoot(ctx), ctx);
    },
  });
}

export type MigrateRunActivities = ReturnType<typeof createMigrateRunActivities>;
