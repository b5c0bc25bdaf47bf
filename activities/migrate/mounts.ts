// Secrets engines and auth methods with their tuning. A mount the target already has with the
// same digest (type, description, options, tuning) is skipped; one with other content is a
// conflict (the plan refuses those before anything is written). KV v2 mounts also get their
// max_versions, cas_required and delete_version_after.
import { type StepReport, type TargetMapping, targetMount } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { vaultPath } from '../../vault/paths.js';
import type { Ledger } from './ledger.js';
import { type MountTable, mountItem, type RawMount, readMounts } from './mount-table.js';
import { newReport, targetConflict } from './sides.js';

/** Mounts every namespace has of its own, and per-token storage: never copied. */
const NOT_COPIED = new Set([
  'system',
  'ns_system',
  'identity',
  'ns_identity',
  'token',
  'ns_token',
  'cubbyhole',
  'ns_cubbyhole',
]);

/** Tuning fields Vault accepts back when a mount is enabled. */
const TUNING = [
  'default_lease_ttl',
  'max_lease_ttl',
  'force_no_cache',
  'audit_non_hmac_request_keys',
  'audit_non_hmac_response_keys',
  'listing_visibility',
  'passthrough_request_headers',
  'allowed_response_headers',
  'token_type',
] as const;

/** The source's mounts this migration moves (with a prefix, not the copies an earlier run made). */
export function migratedMounts(
  mounts: Record<string, RawMount>,
  mapping: TargetMapping,
  table: MountTable,
): [string, RawMount][] {
  const name = (path: string) => (table === 'sys/auth' ? `auth/${path}` : path);
  return Object.entries(mounts)
    .filter(([, m]) => !NOT_COPIED.has(m.type))
    .filter(([path]) => !(mapping.prefix !== '' && path.startsWith(mapping.prefix)))
    .filter(([path]) => !mapping.only || mapping.only.mounts.includes(name(path)))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/** A migrated mount by name at each side, without the trailing slash (as Vault paths use it). */
export interface MountPair {
  from: string;
  to: string;
}

export const mountPair = (mapping: TargetMapping, path: string): MountPair => ({
  from: path.replace(/\/$/, ''),
  to: targetMount(mapping, path).replace(/\/$/, ''),
});

/** The source's secrets engines this migration moves that `accept` picks, by name at each side. */
export async function migratedEngines(
  source: VaultClient,
  mapping: TargetMapping,
  accept: (mount: RawMount) => boolean,
): Promise<MountPair[]> {
  return migratedMounts(await readMounts(source, 'sys/mounts'), mapping, 'sys/mounts')
    .filter(([, m]) => accept(m))
    .map(([path]) => mountPair(mapping, path));
}

export async function copyMounts(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
  table: MountTable,
): Promise<StepReport> {
  const report = newReport();
  const there = await readMounts(target, table);
  for (const [path, m] of migratedMounts(await readMounts(source, table), mapping, table)) {
    const to = targetMount(mapping, path);
    const existing = there[to];
    const label = table === 'sys/auth' ? `auth/${to}` : to;
    if (existing) {
      if (mountItem(to, existing).digest !== mountItem(to, m).digest)
        throw targetConflict(`${label} exists at the target with other type or tuning`);
      report.skipped.push(label);
      continue;
    }
    await ledger.record({ kind: table === 'sys/auth' ? 'auth' : 'mount', name: to });
    const config = Object.fromEntries(
      TUNING.flatMap((k) => (m.config?.[k] === undefined ? [] : [[k, m.config[k]]])),
    );
    await target.put(vaultPath`${table}/${to.replace(/\/$/, '')}`, {
      type: m.type,
      description: m.description ?? '',
      config,
      ...(m.options ? { options: m.options } : {}),
      local: m.local ?? false,
      seal_wrap: m.seal_wrap ?? false,
      ...(m.external_entropy_access ? { external_entropy_access: true } : {}),
    });
    if (m.type === 'kv' && m.options?.version === '2') await copyKvConfig(source, target, path, to);
    report.created.push(label);
  }
  return report;
}

async function copyKvConfig(source: VaultClient, target: VaultClient, from: string, to: string) {
  const { data } = (await source.read(vaultPath`${from.replace(/\/$/, '')}/config`)) as {
    data: { max_versions?: number; cas_required?: boolean; delete_version_after?: string };
  };
  const write = () =>
    target.put(vaultPath`${to.replace(/\/$/, '')}/config`, {
      max_versions: data.max_versions ?? 0,
      cas_required: data.cas_required ?? false,
      delete_version_after: data.delete_version_after ?? '0s',
    });
  // A KV v2 mount just created upgrades its storage first and refuses calls meanwhile (a 400
  // saying so, which is not retried as such): wait for it, briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= 50 || !/Upgrading from non-versioned to versioned data/.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
