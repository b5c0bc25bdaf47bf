// An in-memory KV v2 behind a VaultClient's read and write: versions with check-and-set, and
// metadata with custom_metadata. Enough for the real activities whose logic lives in KV records
// (the rotation lock's labels, the CA rotation lock), so a unit test runs that logic itself
// instead of a stand-in that imitates it. Mounts are one path segment (`secret`, `pki_meta`).

import type { VaultClient } from '../../vault/client.js';
import { VaultErrorType, vaultFailure } from '../../vault/errors.js';

interface Secret {
  versions: Record<string, unknown>[];
  custom: Record<string, string>;
}

export interface KvStandIn {
  /** Give to the activities' factory as their Vault. */
  vault: VaultClient;
  /** Writes a version as a client would, e.g. the state a test starts from. */
  put(mount: string, path: string, data: Record<string, unknown>): void;
  setCustomMetadata(mount: string, path: string, custom: Record<string, string>): void;
  latest(mount: string, path: string): Record<string, unknown> | undefined;
  customMetadata(mount: string, path: string): Record<string, string> | undefined;
}

const at = '2026-01-01T00:00:00Z';

export function kvStandIn(): KvStandIn {
  const secrets = new Map<string, Secret>();
  const key = (mount: string, path: string) => `${mount}/${path}`;
  const secret = (k: string) => {
    const found = secrets.get(k);
    if (found) return found;
    const fresh: Secret = { versions: [], custom: {} };
    secrets.set(k, fresh);
    return fresh;
  };
  /** `mount/data/path?version=n` or `mount/metadata/path` to its parts. */
  const parse = (where: string) => {
    const [pathPart, query] = where.split('?') as [string, string | undefined];
    const [mount, kind, ...rest] = pathPart.split('/');
    if (kind !== 'data' && kind !== 'metadata') throw new Error(`kv stand-in: no KV v2 path: ${where}`);
    const version = query?.match(/version=(\d+)/)?.[1];
    return { k: key(mount as string, rest.join('/')), kind, version: version ? Number(version) : undefined };
  };
  const notFound = (where: string, method: string) =>
    vaultFailure(VaultErrorType.NotFound, `no secret at ${where}`, {
      method,
      path: where,
      status: 404,
      namespace: null,
    });
  const versionMeta = (s: Secret, version: number) => ({
    version,
    created_time: at,
    deletion_time: '',
    destroyed: false,
    custom_metadata: s.custom,
  });

  const vault = {
    async read(where: string) {
      const { k, kind, version } = parse(where);
      const s = secrets.get(k);
      if (!s) throw notFound(where, 'GET');
      if (kind === 'metadata') {
        return {
          data: {
            cas_required: false,
            created_time: at,
            current_version: s.versions.length,
            custom_metadata: s.custom,
            delete_version_after: '0s',
            max_versions: 0,
            oldest_version: s.versions.length > 0 ? 1 : 0,
            updated_time: at,
            versions: Object.fromEntries(
              s.versions.map((_, i) => [
                String(i + 1),
                { created_time: at, deletion_time: '', destroyed: false },
              ]),
            ),
          },
        };
      }
      const n = version ?? s.versions.length;
      const data = s.versions[n - 1];
      if (!data) throw notFound(where, 'GET');
      return { data: { data, metadata: versionMeta(s, n) } };
    },
    async write(where: string, body: Record<string, unknown>) {
      const { k, kind } = parse(where);
      const s = secret(k);
      if (kind === 'metadata') {
        const custom = body.custom_metadata as Record<string, string> | undefined;
        if (custom !== undefined) s.custom = { ...custom };
        return {};
      }
      const cas = (body.options as { cas?: number } | undefined)?.cas;
      if (cas !== undefined && cas !== s.versions.length) {
        throw vaultFailure(
          VaultErrorType.CasMismatch,
          `check-and-set parameter did not match the current version (${s.versions.length})`,
          { method: 'POST', path: where, status: 400, namespace: null },
        );
      }
      s.versions.push(body.data as Record<string, unknown>);
      return { data: versionMeta(s, s.versions.length) };
    },
  } as unknown as VaultClient;

  return {
    vault,
    put: (mount, path, data) => void secret(key(mount, path)).versions.push(data),
    setCustomMetadata: (mount, path, custom) => {
      secret(key(mount, path)).custom = { ...custom };
    },
    latest: (mount, path) => secrets.get(key(mount, path))?.versions.at(-1),
    customMetadata: (mount, path) => secrets.get(key(mount, path))?.custom,
  };
}
