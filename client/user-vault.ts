// The user's own Vault, as `vault` and `bao` reach it: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE,
// VAULT_CACERT, VAULT_SKIP_VERIFY. The CLI holds no worker credentials; where it talks to Vault
// itself (secret metadata, a wrapped token, transit-wrapped codec keys), it does so as the user.
import type { VaultClient } from '../vault/client.js';

/** A client for VAULT_ADDR with the user's TLS settings and no token (callers set one, or pass it per call). */
export async function userVaultClient(address: string): Promise<VaultClient> {
  const { VaultClient } = await import('../vault/client.js');
  return new VaultClient({
    address,
    namespace: process.env.VAULT_NAMESPACE || undefined,
    timeoutMs: 10_000,
    retry: { maxRetries: 2, waitMinMs: 500, waitMaxMs: 2000 },
    tls: {
      caCertPath: process.env.VAULT_CACERT || undefined,
      skipVerify: /^(1|true)$/i.test(process.env.VAULT_SKIP_VERIFY ?? ''),
    },
  });
}

/**
 * Runs `fn` with the user's Vault and VAULT_TOKEN, and closes it. `missing` is the error to throw
 * when VAULT_ADDR or VAULT_TOKEN is not set (it says what the token must be allowed to do).
 */
export async function withUserVault<T>(
  missing: () => Error,
  fn: (vault: VaultClient) => Promise<T>,
): Promise<T> {
  const address = process.env.VAULT_ADDR;
  const token = process.env.VAULT_TOKEN;
  if (!address || !token) throw missing();
  const vault = await userVaultClient(address);
  vault.tokens.set(token);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}
