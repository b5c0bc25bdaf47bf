// A cluster's DR fingerprint (common/dr/snapshots.ts): mount table, auth methods, policy digests, KV key
// counts, the canary's id and the keyring's active key (term, install time), read through the
// client's namespace. Only names, types, digests and counts leave this file; secret values are
// never read (the canary holds none).
import { createHash } from 'node:crypto';
import type { DrFingerprint } from '../../common/dr/snapshots.js';
import { heartbeatWith } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { readSecret } from '../../vault/kv.js';
import { vaultPath } from '../../vault/paths.js';
import { listAuthMethods, listPolicies, listSecretsEngines, readPolicy } from '../../vault/sys.js';
import { readKeyring } from './keyring.js';

/** Where protect writes its canary; drills look for it there. */
export const CANARY = { mount: 'secret', path: 'vaultops/dr/canary' } as const;

/** Keys counted per KV mount before the walk stops (and says so): a drill is not a full audit. */
export const DEFAULT_KV_KEY_CAP = 10_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Counts the keys under a KV mount by walking LIST, depth first, up to `cap`. */
async function countKvKeys(
  vault: VaultClient,
  mount: string,
  kvVersion: string,
  cap: number,
): Promise<{ count: number; capped: boolean }> {
  const listPath = (folder: string) =>
    kvVersion === '2'
      ? folder
        ? vaultPath`${mount}/metadata/${folder}`
        : vaultPath`${mount}/metadata/`
      : folder
        ? vaultPath`${mount}/${folder}`
        : vaultPath`${mount}/`;
  const folders: string[] = [''];
  let count = 0;
  while (folders.length > 0) {
    const folder = folders.pop() as string;
    let keys: string[];
    try {
      const body = (await vault.list(listPath(folder))) as { data?: { keys?: string[] } };
      keys = body.data?.keys ?? [];
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.NotFound)) continue;
      throw err;
    }
    for (const key of keys) {
      if (key.endsWith('/')) folders.push(`${folder}${key}`);
      else if (++count >= cap) return { count, capped: true };
    }
    heartbeatIfInActivity({ mount, counted: count });
  }
  return { count, capped: false };
}

function heartbeatIfInActivity(details: unknown): void {
  try {
    heartbeatWith(details);
  } catch {
    // outside an activity (a test calling it directly): nothing to heartbeat
  }
}

export async function readCanaryId(vault: VaultClient): Promise<string | null> {
  try {
    const { data } = await readSecret(vault, CANARY.mount, CANARY.path, { consistent: true });
    return typeof data.id === 'string' ? data.id : null;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return null;
    throw err;
  }
}

export async function readFingerprint(
  vault: VaultClient,
  options: { kvKeyCap?: number } = {},
): Promise<DrFingerprint> {
  const cap = options.kvKeyCap ?? DEFAULT_KV_KEY_CAP;
  const engines = await listSecretsEngines(vault);
  const auth = await listAuthMethods(vault);
  const policies: Record<string, string> = {};
  for (const name of (await listPolicies(vault)).sort())
    policies[name] = sha256(await readPolicy(vault, name));
  const kvKeyCounts: DrFingerprint['kvKeyCounts'] = {};
  for (const m of engines.filter((e) => e.type === 'kv')) {
    const mount = m.path.replace(/\/$/, '');
    kvKeyCounts[mount] = await countKvKeys(vault, mount, m.kvVersion ?? '1', cap);
  }
  const canaryMountIsKv2 = engines.some((e) => e.path === `${CANARY.mount}/` && e.kvVersion === '2');
  return {
    mounts: engines.map((m) => `${m.path} ${m.type}${m.kvVersion ? ` v${m.kvVersion}` : ''}`),
    authMethods: auth.map((m) => `${m.path} ${m.type}`),
    policies,
    kvKeyCounts,
    canaryId: canaryMountIsKv2 ? await readCanaryId(vault) : null,
    // What a failover later compares a restored standby's keyring with (dr/keyring.ts).
    keyring: await readKeyring(vault),
  };
}
