// Rollback: removes what the ledger says this migration created at the target, newest first, and
// nothing else. Items inside a mount or auth method the migration created go with it (one delete);
// an item already gone counts as removed, so a rollback may run again. One removal that fails does
// not stop the others: it is reported by name for a human.
import type { LedgerEntry, MigrateContext } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { identityContainer, removeIdentityEntry } from './identity.js';
import type { Ledger } from './ledger.js';

export interface RollbackReport {
  removed: string[];
  /** Removed along with a mount or namespace this migration created. */
  withParent: number;
  failed: string[];
}

/**
 * What an item goes with: its mount ("transit/keys/k" -> "transit/", "auth/approle/role/r" ->
 * "approle/", "db/config/pg" -> "db/"), or an alias's entity or group.
 */
function containerOf(e: LedgerEntry): LedgerEntry | undefined {
  if (e.kind === 'auth-role') return { kind: 'auth', name: `${e.name.split('/')[1]}/` };
  if (e.kind === 'database-connection' || e.kind === 'database-role')
    return { kind: 'mount', name: e.name.replace(/\/(config|roles)\/[^/]+$/, '/') };
  if (e.kind === 'transit-key' || e.kind === 'pki-role' || e.kind === 'kv-secret' || e.kind === 'kv1-secret')
    return { kind: 'mount', name: `${e.name.split('/')[0]}/` };
  return identityContainer(e);
}

/** Waits (up to 30 s) until `read` answers not-found. */
async function gone(read: () => Promise<unknown>): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 250) {
    try {
      await read();
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.NotFound)) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('still there after 30 s');
}

async function remove(target: VaultClient, targetRoot: VaultClient, e: LedgerEntry): Promise<void> {
  if (await removeIdentityEntry(target, e)) return;
  switch (e.kind) {
    case 'namespace': {
      const at = e.name.lastIndexOf('/');
      const parent = at < 0 ? '' : e.name.slice(0, at);
      const where = vaultPath`sys/namespaces/${segment(e.name.slice(at + 1))}`;
      await targetRoot.withNamespace(parent).delete(where);
      // OpenBao deletes a namespace in the background; its parent cannot go before it is gone.
      await gone(() => targetRoot.withNamespace(parent).read(where));
      return;
    }
    case 'mount':
      await target.delete(vaultPath`sys/mounts/${e.name.replace(/\/$/, '')}`);
      return;
    case 'auth':
      await target.delete(vaultPath`sys/auth/${e.name.replace(/\/$/, '')}`);
      return;
    case 'policy':
      await target.delete(vaultPath`sys/policies/acl/${segment(e.name)}`);
      return;
    case 'transit-key': {
      const [mount, , name] = e.name.split('/') as [string, string, string];
      await target.put(vaultPath`${mount}/keys/${segment(name)}/config`, { deletion_allowed: true });
      await target.delete(vaultPath`${mount}/keys/${segment(name)}`);
      return;
    }
    case 'kv-secret': {
      const [mount, ...rest] = e.name.split('/');
      await target.delete(vaultPath`${mount as string}/metadata/${rest.join('/')}`);
      return;
    }
    default:
      await target.delete(e.name); // auth-role, pki-role, database-*, kv1-secret: the item's own path
  }
}

export async function rollbackMigration(
  target: VaultClient,
  targetRoot: VaultClient,
  ledger: Ledger,
  ledgerRoot: VaultClient,
  ctx: MigrateContext,
): Promise<RollbackReport> {
  const entries = await ledger.entries();
  const created = new Set(entries.map((e) => `${e.kind}:${e.name}`));
  const report: RollbackReport = { removed: [], withParent: 0, failed: [] };
  for (const e of [...entries].reverse()) {
    const container = containerOf(e);
    if (container && created.has(`${container.kind}:${container.name}`)) {
      report.withParent++;
      continue;
    }
    try {
      await remove(target, targetRoot, e);
      report.removed.push(`${e.kind} ${e.name}`);
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.NotFound)) report.removed.push(`${e.kind} ${e.name}`);
      else report.failed.push(`${e.kind} ${e.name}: ${(err as Error).message}`);
    }
  }
  // The ledger says it was rolled back (names only), so a later run starts from an empty ledger.
  if (report.failed.length === 0 && entries.length > 0)
    await ledgerRoot.put(vaultPath`${ctx.ledger.mount}/data/${ctx.ledger.path}`, {
      data: { entries: '[]', rolledBack: JSON.stringify(report.removed) },
    });
  return report;
}
