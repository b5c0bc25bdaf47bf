// The target a rotation sets its credential on, chosen by the input's target spec. A new target
// is one file implementing RotationTarget (target.ts) plus its case here.
import { pendingPath } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { readSecret } from '../../vault/kv.js';
import type { ClusterClients } from '../clusters.js';
import { databaseRootTarget, databaseStaticTarget } from './database-engine-target.js';
import type { RotationRef } from './inputs.js';
import { kvTarget } from './kv-target.js';
import { mariaDbTarget, parseMariaDbAdmin } from './mariadb-target.js';
import { parsePostgresAdmin, postgresTarget } from './postgres-target.js';
import type { RotationTarget } from './target.js';

/** The target for this rotation; the caller closes it. */
export async function targetFor(vault: VaultClient, input: RotationRef): Promise<RotationTarget> {
  const spec = input.target;
  if (spec.kind === 'kv') {
    return kvTarget({
      field: spec.field,
      readBack: async () =>
        (await readSecret(vault, input.mount, pendingPath(input.path), { consistent: true })).data,
    });
  }
  if (spec.kind === 'database-static') {
    return databaseStaticTarget({
      vault,
      dbMount: spec.dbMount ?? 'database',
      role: spec.role,
      strategy: input.strategy,
    });
  }
  if (spec.kind === 'database-root') {
    return databaseRootTarget({
      vault,
      dbMount: spec.dbMount ?? 'database',
      connection: spec.connection,
      verifyRole: spec.verifyRole,
      strategy: input.strategy, // alternating is refused there (RotationBadTarget)
    });
  }
  // A database account: its admin connection is read here, inside the activity, from KV.
  const admin = (
    await readSecret(vault, spec.admin.mount ?? input.mount, spec.admin.path, { consistent: true })
  ).data;
  return spec.kind === 'mariadb'
    ? mariaDbTarget({
        admin: parseMariaDbAdmin(admin),
        strategy: input.strategy,
        role: spec.role,
        host: spec.host,
      })
    : postgresTarget({ admin: parsePostgresAdmin(admin), strategy: input.strategy, role: spec.role });
}

/** Runs `fn` with the rotation's cluster client and target, and closes the target after. */
export async function withTarget<T>(
  clusters: ClusterClients,
  input: RotationRef,
  fn: (target: RotationTarget, vault: VaultClient) => Promise<T>,
): Promise<T> {
  const vault = clusters.get(input.cluster);
  const target = await targetFor(vault, input);
  try {
    return await fn(target, vault);
  } finally {
    await target.close();
  }
}
