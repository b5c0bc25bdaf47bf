// A namespace's mount tables (secrets engines and auth methods) as Vault lists them, and the digest
// of a mount's tuning that the inventory, the copy and the verify step all compare by.
import type { MountItem } from '../../common/migrate/inventory.js';
import type { VaultClient } from '../../vault/client.js';
import { digestOf } from './digest.js';

export interface RawMount {
  type: string;
  description?: string;
  local?: boolean;
  seal_wrap?: boolean;
  external_entropy_access?: boolean;
  options?: Record<string, string> | null;
  config?: Record<string, unknown>;
  running_plugin_version?: string;
}

export type MountTable = 'sys/mounts' | 'sys/auth';

export async function readMounts(vault: VaultClient, table: MountTable): Promise<Record<string, RawMount>> {
  const body = (await vault.read(table)) as { data?: Record<string, RawMount> };
  return body.data ?? {};
}

/** Tuning as Vault reports it, minus what is per-mount identity (accessor, uuid) or per-build. */
export function mountItem(path: string, m: RawMount): MountItem {
  const kvVersion = m.type === 'kv' ? (m.options?.version ?? '1') : null;
  return {
    path,
    type: m.type,
    kvVersion,
    local: m.local ?? false,
    sealWrap: m.seal_wrap ?? false,
    digest: digestOf(
      withoutDefaults({
        type: m.type,
        description: m.description,
        options: { ...(m.options ?? {}), ...(kvVersion ? { version: kvVersion } : {}) },
        config: m.config,
        seal_wrap: m.seal_wrap,
        external_entropy_access: m.external_entropy_access,
      }),
    ),
  };
}

/**
 * Drops false, 0, "", [], {} and null at every level: servers differ in which defaults they list,
 * and a default listed is the same mount as a default left out.
 */
function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(withoutDefaults);
  if (value !== null && typeof value === 'object') {
    const kept = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, withoutDefaults(v)] as const)
      .filter(([, v]) => v !== undefined);
    return kept.length === 0 ? undefined : Object.fromEntries(kept);
  }
  return value === false || value === 0 || value === '' || value === null ? undefined : value;
}
