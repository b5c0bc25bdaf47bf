// Clients for the Vault-API dev server the global setup started for this project.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { VaultClient } from '../../vault/client.js';
import './context.js';

export const server = () => inject('vault');

/** A client holding the dev server's root token. Close it in afterAll. */
export function rootClient(): VaultClient {
  const { address, rootToken } = server();
  const client = new VaultClient({ address, timeoutMs: 10_000 });
  client.tokens.set(rootToken);
  return client;
}

/** A unique path segment, so tests sharing one server never collide. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A token with the default policy plus the given policy document (created by root). */
export async function tokenWithPolicy(
  root: VaultClient,
  policy: string,
): Promise<{ token: string; policy: string }> {
  const name = unique('policy');
  await root.write(`sys/policies/acl/${name}`, { policy });
  const body = (await root.write('auth/token/create', { policies: [name], ttl: '10m' })) as {
    auth: { client_token: string };
  };
  return { token: body.auth.client_token, policy: name };
}
