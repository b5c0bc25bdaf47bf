// The target namespace, nested: each missing level is created (and recorded in the ledger first),
// so "admin/team-b" under a missing "admin" creates both, and rollback removes both.
import type { StepReport } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { createNamespace } from '../../vault/sys.js';
import type { Ledger } from './ledger.js';
import { newReport } from './sides.js';

export async function ensureTargetNamespace(
  targetRoot: VaultClient,
  ledger: Ledger,
  namespace: string,
): Promise<StepReport> {
  const report = newReport();
  if (namespace === '') return report;
  const parts = namespace.split('/');
  for (let i = 0; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    const path = parts.slice(0, i + 1).join('/');
    if (await namespaceExists(targetRoot.withNamespace(parent), parts[i] as string)) {
      report.skipped.push(path);
      continue;
    }
    await ledger.record({ kind: 'namespace', name: path });
    try {
      await createNamespace(targetRoot.withNamespace(parent), parts[i] as string);
    } catch (err) {
      // A lost reply whose create landed: the namespace is there now, and it is ours.
      if (!(await namespaceExists(targetRoot.withNamespace(parent), parts[i] as string))) throw err;
    }
    report.created.push(path);
  }
  return report;
}

async function namespaceExists(parent: VaultClient, name: string): Promise<boolean> {
  try {
    await parent.read(`sys/namespaces/${encodeURIComponent(name)}`);
    return true;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return false;
    throw err;
  }
}
