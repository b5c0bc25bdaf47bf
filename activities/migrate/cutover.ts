// After the copy: the cutover record, the source's API lock, and the source's retirement.
//
// The freeze before the delta copy is the operator's word that writes have stopped (an update to
// the workflow): OpenBao's namespace API lock (sys/namespaces/api-lock/lock) blocks every request
// into the namespace, reads included, so the delta copy could not read a locked source. The lock
// is therefore taken at cutover, where the server has it and the source is not the root
// namespace: stragglers still writing to the old namespace fail loudly during the grace period.
// Its unlock key is kept in the target root's KV beside the ledger, never in the history.
import type { MigrateContext } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { ifFound, isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { deleteAll, readSecret, writeSecret } from '../../vault/kv.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { deletePolicy } from '../../vault/sys.js';
import { readMounts } from './mount-table.js';
import { migratedMounts } from './mounts.js';
import { plannedPolicies } from './policies.js';

const parentAndName = (ns: string) => {
  const at = ns.lastIndexOf('/');
  return { parent: at < 0 ? '' : ns.slice(0, at), name: ns.slice(at + 1) };
};

export interface LockResult {
  locked: boolean;
  /** Why not, when not. */
  reason: string | null;
}

/** Whether the namespace is API-locked now (undefined: the server has no such lock). */
async function isLocked(parent: VaultClient, name: string): Promise<boolean | undefined> {
  const info = (await parent.read(vaultPath`sys/namespaces/${segment(name)}`, { consistent: true })) as {
    data?: { locked?: boolean };
  };
  return info.data?.locked;
}

/**
 * Locks the source namespace, once. The lock's reply carries the only copy of its unlock key, and
 * a second lock is refused ("already locked"), so a retry must not take a lost reply for "no such
 * lock". The record is written before the lock (the lock is ours, key or not) and the key after;
 * a lock whose reply was lost, or whose key a dying worker never wrote, is still ours, and
 * unlockSource then unlocks it with the token's sudo instead of the key.
 */
export async function lockSource(
  sourceRoot: VaultClient,
  ledgerRoot: VaultClient,
  ctx: MigrateContext,
): Promise<LockResult> {
  if (ctx.mapping.from === '') return { locked: false, reason: 'the root namespace has no API lock' };
  const { parent, name } = parentAndName(ctx.mapping.from);
  const parentNs = sourceRoot.withNamespace(parent);
  const where = `${ctx.ledger.path}/unlock-key`;
  const locked = await isLocked(parentNs, name);
  if (locked === undefined) return { locked: false, reason: 'the source server has no namespace API lock' };
  const ours = await readLockRecord(ledgerRoot, ctx);
  if (locked)
    return ours
      ? { locked: true, reason: null } // this migration locked it already (a retry)
      : { locked: false, reason: 'the source namespace was locked already, by someone else' };
  await writeSecret(ledgerRoot, ctx.ledger.mount, where, { locked_by: 'this migration' });
  let body: { data?: { unlock_key?: string } };
  try {
    body = (await parentNs.write(
      vaultPath`sys/namespaces/api-lock/lock/${segment(name)}`,
      {},
    )) as typeof body;
  } catch (err) {
    // The lock landed though its reply was lost: ours, its key unknown (sudo unlocks it).
    if (isVaultFailure(err, VaultErrorType.OutcomeUnknown) && (await isLocked(parentNs, name)))
      return { locked: true, reason: null };
    throw err;
  }
  const key = body.data?.unlock_key;
  if (key)
    await writeSecret(ledgerRoot, ctx.ledger.mount, where, { locked_by: 'this migration', unlock_key: key });
  return { locked: true, reason: null };
}

/** What the ledger says of the lock this migration took: none, or its record (with the key, if known). */
async function readLockRecord(ledgerRoot: VaultClient, ctx: MigrateContext) {
  const where = `${ctx.ledger.path}/unlock-key`;
  return (await ifFound(readSecret(ledgerRoot, ctx.ledger.mount, where, { consistent: true }), undefined))
    ?.data;
}

export async function unlockSource(
  sourceRoot: VaultClient,
  ledgerRoot: VaultClient,
  ctx: MigrateContext,
): Promise<{ unlocked: boolean }> {
  if (ctx.mapping.from === '') return { unlocked: false };
  const record = await readLockRecord(ledgerRoot, ctx);
  if (!record) return { unlocked: false }; // never locked by this migration
  const { parent, name } = parentAndName(ctx.mapping.from);
  const parentNs = sourceRoot.withNamespace(parent);
  // Without the key (a lost reply), the token's sudo unlocks it.
  if (await isLocked(parentNs, name))
    await parentNs.put(
      vaultPath`sys/namespaces/api-lock/unlock/${segment(name)}`,
      typeof record.unlock_key === 'string' ? { unlock_key: record.unlock_key } : {},
    );
  await deleteAll(ledgerRoot, ctx.ledger.mount, `${ctx.ledger.path}/unlock-key`);
  return { unlocked: true };
}

export async function recordCutover(
  ledgerRoot: VaultClient,
  ctx: MigrateContext,
  at: string,
): Promise<{ path: string }> {
  const path = `${ctx.ledger.path}/cutover`;
  await ledgerRoot.put(vaultPath`${ctx.ledger.mount}/data/${path}`, {
    data: {
      source: ctx.mapping.from || '(root)',
      target: ctx.mapping.to || '(root)',
      sourceCluster: ctx.sourceCluster ?? 'default',
      targetCluster: ctx.targetCluster ?? 'default',
      prefix: ctx.mapping.prefix,
      at,
    },
  });
  return { path: `${ctx.ledger.mount}/${path}` };
}

/**
 * Retires the source: with `remove`, what was migrated there (mounts, auth methods, policies) is
 * deleted; without, each migrated mount's description says where it went, and nothing is removed.
 */
export async function retireSource(
  source: VaultClient,
  ctx: MigrateContext,
  remove: boolean,
): Promise<{ mounts: number; authMethods: number; policies: number; removed: boolean }> {
  const note = `migrated to ${ctx.mapping.to || '(root)'}${ctx.mapping.prefix ? ` as ${ctx.mapping.prefix}*` : ''} by vaultops (${ctx.id})`;
  const mounts = migratedMounts(await readMounts(source, 'sys/mounts'), ctx.mapping, 'sys/mounts');
  const auth = migratedMounts(await readMounts(source, 'sys/auth'), ctx.mapping, 'sys/auth');
  const policies = remove ? await plannedPolicies(source, ctx.mapping) : [];
  for (const [table, list] of [
    ['sys/mounts', mounts],
    ['sys/auth', auth],
  ] as const) {
    for (const [path] of list) {
      const where = vaultPath`${table}/${path.replace(/\/$/, '')}`;
      if (remove) await source.delete(where);
      else await source.put(`${where}/tune`, { description: note });
    }
  }
  for (const p of policies) await deletePolicy(source, p.source);
  return { mounts: mounts.length, authMethods: auth.length, policies: policies.length, removed: remove };
}
