// Logging in with each auth method: the token goes into the client's in-memory holder; what is
// returned describes the token (accessor, TTL, policies) and never contains it.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { VaultAuthConfig } from '../../common/config/auth-schema.js';
import type { VaultClient } from '../client.js';
import { segment, vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';
import { identityOf } from '../tokens.js';

const authBlockSchema = z.object({
  auth: z.object({
    client_token: z.string().min(1),
    accessor: z.string().optional(),
    lease_duration: z.number(),
    renewable: z.boolean(),
    policies: z.array(z.string()).nullish(),
    entity_id: z.string().nullish(),
  }),
});

const lookupSelfSchema = z.object({
  data: z.object({
    accessor: z.string().optional(),
    ttl: z.number(),
    renewable: z.boolean().optional(),
    policies: z.array(z.string()).nullish(),
    entity_id: z.string().nullish(),
  }),
});

export interface LoginResult {
  method: VaultAuthConfig['method'];
  accessor: string | null;
  ttlSeconds: number;
  renewable: boolean;
  policies: string[];
}

/** The login request each method makes: where, and with what. The token method has none. */
async function loginRequest(
  auth: Exclude<VaultAuthConfig, { method: 'token' }>,
): Promise<{ path: string; body: object }> {
  switch (auth.method) {
    case 'approle':
      return {
        path: vaultPath`auth/${auth.mount_path}/login`,
        body: { role_id: auth.role_id, secret_id: auth.secret_id },
      };
    case 'jwt': {
      // Read the file at every login: projected service account tokens and CI tokens rotate.
      const jwt = auth.jwt ?? (await readFile(auth.jwt_file as string, 'utf8')).trim();
      return { path: vaultPath`auth/${auth.mount_path}/login`, body: { role: auth.role, jwt } };
    }
    case 'cert':
      // The client certificate is presented by the TLS connection itself (tls.client_cert).
      return { path: vaultPath`auth/${auth.mount_path}/login`, body: auth.name ? { name: auth.name } : {} };
    case 'userpass':
    case 'ldap':
      return {
        path: vaultPath`auth/${auth.mount_path}/login/${segment(auth.username)}`,
        body: { password: auth.password },
      };
    case 'kubernetes':
      return {
        path: vaultPath`auth/${auth.mount_path}/login`,
        body: { role: auth.role, jwt: (await readFile(auth.jwt_file, 'utf8')).trim() },
      };
  }
}

/**
 * Logs in and puts the new token in use in one step: requests in flight keep the token they were
 * sent with, and until the login succeeds every request still gets the current one. A failed
 * login leaves the current token in place.
 */
export async function login(vault: VaultClient, auth: VaultAuthConfig): Promise<LoginResult> {
  if (auth.method === 'token') {
    // Vault answers 403 alike for a bad token and for one that may not look itself up, so a
    // token must be able to (the default policy grants it); that is how we know it is valid.
    const self = parseResponse(
      lookupSelfSchema,
      await vault.read('auth/token/lookup-self', { token: auth.token }),
      'token lookup-self',
    );
    const policies = self.data.policies ?? [];
    // The user's own token: used, never revoked by us.
    vault.tokens.set(auth.token, { identity: identityOf(policies, self.data.entity_id), owned: false });
    return {
      method: 'token',
      accessor: self.data.accessor ?? null,
      ttlSeconds: self.data.ttl,
      renewable: self.data.renewable ?? false,
      policies,
    };
  }
  const { path, body } = await loginRequest(auth);
  // Logins are unauthenticated: sent without any token. Repeating one after a lost reply only
  // mints a token nobody holds, which its TTL ends, so a login may be retried.
  const { auth: result } = parseResponse(
    authBlockSchema,
    await vault.write(path, body, { token: null, idempotent: true }),
    path,
  );
  const policies = result.policies ?? [];
  vault.tokens.set(result.client_token, { identity: identityOf(policies, result.entity_id), owned: true });
  return {
    method: auth.method,
    accessor: result.accessor ?? null,
    ttlSeconds: result.lease_duration,
    renewable: result.renewable,
    policies,
  };
}
