// KV-only secrets (API keys, configuration): nothing outside Vault to set, test is reading the
// pending version back, and nobody logs in with them, so no session holds one.
import type { Credential, RotationTarget } from './target.js';

export interface KvTargetOptions {
  /** The data field that holds the secret value (default "value"). */
  field?: string | undefined;
  /** Reads the pending credential back from Vault (the test). */
  readBack: () => Promise<Credential>;
}

export function kvTarget(options: KvTargetOptions): RotationTarget {
  const field = options.field ?? 'value';
  return {
    next: (current, password) => ({ ...(current ?? {}), [field]: password }),
    async set() {},
    async test(pending) {
      const back = await options.readBack();
      if (back[field] !== pending[field])
        throw new Error(`the pending version does not read back its ${field}`);
    },
    async retire() {},
    async revert() {},
    sessionsUsing: async () => [],
    async close() {},
  };
}
