// What `vaultops secret status|history|rollback --to-version` read from Vault: a secret's KV
// metadata (versions and the rotation labels in custom_metadata), never its data, so no secret
// value can reach the terminal. They read with the user's own VAULT_ADDR and VAULT_TOKEN, as
// `break-glass collect` unwraps: the CLI holds no worker credentials.

import { parseRotationLabels, type RotationLabels } from '../../../common/rotation/labels.js';
import type { VaultClient } from '../../../vault/client.js';
import type { KvMetadata } from '../../../vault/kv.js';
import { withUserVault as withVault } from '../../user-vault.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import type { SecretRef } from './args.js';

export interface SecretMetadata {
  meta: KvMetadata;
  labels: RotationLabels;
}

/** The user's Vault for reading `ref`'s metadata (client/user-vault.ts). */
export function withUserVault<T>(ref: SecretRef, fn: (vault: VaultClient) => Promise<T>): Promise<T> {
  return withVault(
    () =>
      new UsageError(
        `export VAULT_ADDR and VAULT_TOKEN (a token that may read ${ref.mount}/metadata/${ref.path}): ` +
          'the secret metadata is read with your own token',
      ),
    fn,
  );
}

/** The secret's metadata and rotation labels; a missing secret or a refused read says so plainly. */
export async function readSecretMetadata(ref: SecretRef): Promise<SecretMetadata> {
  const [{ readMetadata }, { isVaultFailure, VaultErrorType }] = await Promise.all([
    import('../../../vault/kv.js'),
    import('../../../vault/errors.js'),
  ]);
  return withUserVault(ref, async (vault) => {
    let meta: KvMetadata;
    try {
      meta = await readMetadata(vault, ref.mount, ref.path, { consistent: true });
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.NotFound))
        throw new Error(`no secret at ${ref.mount}/${ref.path} (KV v2 metadata not found)`);
      if (isVaultFailure(err, VaultErrorType.PermissionDenied))
        throw new Error(`VAULT_TOKEN may not read ${ref.mount}/metadata/${ref.path}`);
      throw err;
    }
    return { meta, labels: parseRotationLabels(meta.custom_metadata) };
  });
}

/** A deletion time in the past: deleted. One in the future is delete_version_after's plan. */
function isDeleted(deletionTime: string): boolean {
  return deletionTime !== '' && Date.parse(deletionTime) <= Date.now();
}

export interface VersionRow {
  version: number;
  createdTime: string;
  deleted: boolean;
  deletionTime: string | null;
  destroyed: boolean;
  /** current, previous, pending (at the .pending sibling, so never one of these rows), or none. */
  label: 'current' | 'previous' | null;
}

/** Every retained version, oldest first, marked current/previous from the labels. */
export function versionRows(m: SecretMetadata): VersionRow[] {
  return Object.entries(m.meta.versions)
    .map(([n, v]) => {
      const version = Number(n);
      return {
        version,
        createdTime: v.created_time,
        deleted: isDeleted(v.deletion_time) && !v.destroyed,
        deletionTime: v.deletion_time || null,
        destroyed: v.destroyed,
        label:
          m.labels.current === version
            ? ('current' as const)
            : m.labels.previous === version
              ? ('previous' as const)
              : null,
      };
    })
    .sort((a, b) => a.version - b.version);
}

/** Why `version` cannot be restored, or undefined when it can. */
export function restoreProblem(m: SecretMetadata, ref: SecretRef, version: number): string | undefined {
  const v = m.meta.versions[String(version)];
  const where = `${ref.mount}/${ref.path}`;
  if (!v)
    return `version ${version} of ${where} is not retained (versions ${m.meta.oldest_version || 1}-${m.meta.current_version} exist); \`${VAULTOPS} secret history ${where}\` lists them`;
  if (v.destroyed) return `version ${version} of ${where} was destroyed; pick a retained version`;
  if (isDeleted(v.deletion_time))
    return `version ${version} of ${where} is deleted; undelete it first (vault kv undelete -versions=${version} ${where})`;
  if (version === m.meta.current_version)
    return `version ${version} is the current version of ${where} already`;
  return undefined;
}
