// `vaultops migrate plan --from <ns> --to <ns>`: the inventory of the source namespace, checked
// against the target's, as a table or JSON (common/migrate/plan.ts). Read with the user's own
// VAULT_ADDR/VAULT_TOKEN: the CLI holds no worker credentials. Only metadata and settings are
// read, and only names, counts and digests are printed: no secret value can reach the terminal.

import type { NamespaceInventory } from '../../../common/migrate/inventory.js';
import {
  buildMigrationPlan,
  type MigrationPlan,
  planFooter,
  planHeadline,
  planJson,
  planRows,
} from '../../../common/migrate/plan.js';
import type { VaultClient } from '../../../vault/client.js';
import { printTable } from '../../format.js';
import { withUserVault } from '../../user-vault.js';
import { UsageError } from '../usage-error.js';

type Out = (line: string) => void;

export const PLAN_FORMATS = ['table', 'json'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface MigratePlanOptions {
  from?: string | undefined;
  to?: string | undefined;
  format?: string | undefined;
}

export interface MigratePlanRequest {
  /** Absolute namespace paths; "" is the root namespace. */
  from: string;
  to: string;
  format: PlanFormat;
}

const NAMESPACE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A namespace path as given ("admin/team-a", "/" or "" for the root), checked and normalised. */
export function parseNamespace(flag: string, value: string | undefined): string {
  if (value === undefined)
    throw new UsageError(`give ${flag} <namespace>, e.g. admin/team-a ("/" for the root)`);
  const clean = value.trim().replace(/^\/+|\/+$/g, '');
  if (clean === '') return '';
  for (const segment of clean.split('/'))
    if (!NAMESPACE_SEGMENT.test(segment))
      throw new UsageError(
        `${flag} "${value}" is not a namespace path: each part is letters, digits, "_", "-" or "." (e.g. admin/team-a; "/" for the root)`,
      );
  return clean;
}

export function parseMigratePlan(opts: MigratePlanOptions): MigratePlanRequest {
  const format = (opts.format ?? 'table') as PlanFormat;
  if (!PLAN_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${PLAN_FORMATS.join(', ')}, not "${opts.format}"`);
  const from = parseNamespace('--from', opts.from);
  const to = parseNamespace('--to', opts.to);
  if (from === to)
    throw new UsageError(
      `--from and --to are the same namespace (${from || 'the root'}); name the namespace to migrate into`,
    );
  return { from, to, format };
}

/** The source and target inventories; a refused read says what the token needs. */
export async function readPlanInventories(
  vault: VaultClient,
  request: Pick<MigratePlanRequest, 'from' | 'to'>,
): Promise<{ source: NamespaceInventory; target: NamespaceInventory }> {
  const [{ readInventory }, { isVaultFailure, VaultErrorType }] = await Promise.all([
    import('../../../activities/migrate/inventory.js'),
    import('../../../vault/errors.js'),
  ]);
  const read = async (namespace: string, which: string) => {
    try {
      return await readInventory(vault.withNamespace(namespace), { walkKv: true });
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.PermissionDenied))
        throw new Error(
          `VAULT_TOKEN may not read the ${which} namespace ${namespace || '(root)'}: it needs read and list on sys/mounts, ` +
            "sys/auth, sys/policies/acl, identity/, and the engines' metadata and config paths",
        );
      throw err;
    }
  };
  const source = await read(request.from, 'source');
  if (!source.exists)
    throw new UsageError(
      source.server.namespaces
        ? `the source namespace ${request.from} does not exist`
        : `the server (${source.server.flavour} ${source.server.version}) has no namespaces: use --from / for its root namespace`,
    );
  return { source, target: await read(request.to, 'target') };
}

export function printPlan(plan: MigrationPlan, format: PlanFormat, out: Out): void {
  if (format === 'json') {
    out(planJson(plan));
    return;
  }
  for (const line of planHeadline(plan)) out(line);
  out('');
  if (plan.items.length === 0) out('The source namespace holds nothing to migrate.');
  else printTable(planRows(plan), out);
  out('');
  for (const line of planFooter(plan)) out(line);
}

export async function migratePlanCommand(opts: MigratePlanOptions, out: Out): Promise<MigrationPlan> {
  const request = parseMigratePlan(opts);
  const plan = await withUserVault(
    () =>
      new UsageError(
        'export VAULT_ADDR and VAULT_TOKEN (a token that may read both namespaces): the plan is read with your own token',
      ),
    async (vault) => {
      const { source, target } = await readPlanInventories(vault, request);
      return buildMigrationPlan(source, target);
    },
  );
  printPlan(plan, request.format, out);
  return plan;
}
