// Logging in: turns the configured auth method into a token held in memory by the client.
// Token and AppRole for now; the other methods, fallback chains and renewal build on this.
import { z } from 'zod';
import type { VaultAuthConfig } from '../../common/config.js';
import { parseResponse, type VaultClient } from './client.js';

const loginSchema = z.object({
  auth: z.object({
    client_token: z.string().min(1),
    accessor: z.string().optional(),
    lease_duration: z.number(),
    renewable: z.boolean(),
    policies: z.array(z.string()).nullish(),
  }),
});

const lookupSelfSchema = z.object({
  data: z.object({
    accessor: z.string().optional(),
    ttl: z.number(),
    renewable: z.boolean().optional(),
    policies: z.array(z.string()).nullish(),
    display_name: z.string().optional(),
  }),
});

/** What a login produced, minus the token itself (which only the client holds). */
export interface LoginResult {
  method: VaultAuthConfig['method'];
  accessor: string | null;
  ttlSeconds: number;
  renewable: boolean;
  policies: string[];
}

export async function login(vault: VaultClient, auth: VaultAuthConfig): Promise<LoginResult> {
  switch (auth.method) {
    case 'token': {
      // Vault answers 403 alike for a bad token and for one that may not look itself up, so a
      // token must be able to (the default policy grants it); that is how we know it is valid.
      vault.tokens.set(auth.token);
      const self = parseResponse(
        lookupSelfSchema,
        await vault.read('auth/token/lookup-self'),
        'token lookup-self',
      );
      return {
        method: 'token',
        accessor: self.data.accessor ?? null,
        ttlSeconds: self.data.ttl,
        renewable: self.data.renewable ?? false,
        policies: self.data.policies ?? [],
      };
    }
    case 'approle': {
      const body = await vault.write(`auth/${auth.mount_path}/login`, {
        role_id: auth.role_id,
        secret_id: auth.secret_id,
      });
      const { auth: result } = parseResponse(loginSchema, body, `auth/${auth.mount_path}/login`);
      vault.tokens.set(result.client_token);
      return {
        method: 'approle',
        accessor: result.accessor ?? null,
        ttlSeconds: result.lease_duration,
        renewable: result.renewable,
        policies: result.policies ?? [],
      };
    }
  }
}
