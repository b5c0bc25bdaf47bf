// The ledger of one migration: what it CREATED at the target, by kind and name, in a KV v2 secret
// of the target's root namespace (secret/vaultops/migrations/<id>). An item is recorded before it
// is created (write-ahead), so a step that fails halfway still leaves its creations on record;
// rollback removes the recorded items newest first, and never touches what was there before.
// Names only: the ledger holds no value, secret ID, password or key.
import type { LedgerEntry, LedgerLocation } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { readSecret, writeSecret } from '../../vault/kv.js';

export interface Ledger {
  entries(): Promise<LedgerEntry[]>;
  /** Records `entry` (once) before the caller creates it. */
  record(entry: LedgerEntry): Promise<void>;
  /**
   * Records several entries (each once) in one write, before the caller creates any of them: a KV
   * batch lists the paths it may create, so the ledger costs one write per batch, not one per path.
   */
  recordAll(entries: readonly LedgerEntry[]): Promise<void>;
}

export function ledgerAt(root: VaultClient, at: LedgerLocation): Ledger {
  let cache: { version: number; entries: LedgerEntry[] } | undefined;
  const load = async () => {
    try {
      const { data, metadata } = await readSecret(root, at.mount, at.path, { consistent: true });
      cache = { version: metadata.version, entries: JSON.parse(String(data.entries ?? '[]')) };
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
      cache = { version: 0, entries: [] };
    }
    return cache;
  };
  return {
    async entries() {
      return (await load()).entries;
    },
    async record(entry) {
      await this.recordAll([entry]);
    },
    async recordAll(wanted) {
      const now = cache ?? (await load());
      const known = new Set(now.entries.map((e) => `${e.kind}:${e.name}`));
      const fresh = wanted.filter((e) => {
        const key = `${e.kind}:${e.name}`;
        if (known.has(key)) return false;
        known.add(key);
        return true;
      });
      if (fresh.length === 0) return;
      const entries = [...now.entries, ...fresh];
      try {
        const landed = await writeSecret(
          root,
          at.mount,
          at.path,
          { entries: JSON.stringify(entries) },
          { cas: now.version },
        );
        cache = { version: landed.version, entries };
      } catch (err) {
        // Another attempt of this step wrote meanwhile: read it and record again.
        if (!isVaultFailure(err, VaultErrorType.CasMismatch)) throw err;
        cache = undefined;
        await this.recordAll(wanted);
      }
    },
  };
}
