// Token creation, exactly once. A created token's value exists only in Vault's reply, so a lost
// reply cannot be settled by finding the token: it is found by the request id put in its
// metadata, revoked (nobody holds it), and the token is created again. One usable token results.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { inBatches } from './batch.js';
import type { VaultClient } from './client.js';
import { isVaultFailure, VaultErrorType } from './errors.js';
import { exactlyOnce } from './exactly-once.js';
import { parseResponse } from './response.js';

export interface TokenRequest {
  policies: string[];
  ttl: string;
  explicitMaxTtl?: string;
  numUses?: number;
  /** No parent: the token outlives the creator's token (break-glass tokens are orphans). */
  orphan?: boolean;
  renewable?: boolean;
  displayName?: string;
  meta?: Record<string, string>;
  /** Leave out Vault's `default` policy: the token has exactly `policies` (break-glass). */
  noDefaultPolicy?: boolean;
}

export interface CreatedToken {
  /** The secret itself: deliver it (wrapped, or to a 0600 file) and never put it in a workflow. */
  token: string;
  accessor: string;
  ttlSeconds: number;
  policies: string[];
  /** The id in the token's metadata (vaultops_request) that tells this creation apart. */
  requestId: string;
}

/** The metadata key that marks which creation request a token came from. */
export const REQUEST_META_KEY = 'vaultops_request';

const createdSchema = z.object({
  auth: z.object({
    client_token: z.string().min(1),
    accessor: z.string(),
    lease_duration: z.number(),
    policies: z.array(z.string()).nullish(),
  }),
});

const accessorsSchema = z.object({ data: z.object({ keys: z.array(z.string()) }) });
const lookupSchema = z.object({ data: z.object({ meta: z.record(z.string(), z.string()).nullish() }) });

export async function createToken(vault: VaultClient, request: TokenRequest): Promise<CreatedToken> {
  const requestId = randomUUID();
  const body = {
    policies: request.policies,
    ttl: request.ttl,
    ...(request.explicitMaxTtl ? { explicit_max_ttl: request.explicitMaxTtl } : {}),
    ...(request.numUses !== undefined ? { num_uses: request.numUses } : {}),
    ...(request.orphan ? { no_parent: true } : {}),
    ...(request.renewable !== undefined ? { renewable: request.renewable } : {}),
    ...(request.displayName ? { display_name: request.displayName } : {}),
    ...(request.noDefaultPolicy ? { no_default_policy: true } : {}),
    meta: { ...request.meta, [REQUEST_META_KEY]: requestId },
  };
  return exactlyOnce<CreatedToken>(
    async () => {
      const { auth } = parseResponse(
        createdSchema,
        await vault.write('auth/token/create', body),
        'auth/token/create',
      );
      return {
        token: auth.client_token,
        accessor: auth.accessor,
        ttlSeconds: auth.lease_duration,
        policies: auth.policies ?? [],
        requestId,
      };
    },
    async () => {
      // The stray token, if Vault made one, is held by nobody: revoke it, then create anew.
      for (const accessor of await accessorsWithRequestId(vault, requestId)) {
        await revokeAccessor(vault, accessor);
      }
      return { done: false };
    },
  );
}

/** Accessors of live tokens created by request `requestId` (needs sudo on auth/token/accessors). */
export function accessorsWithRequestId(vault: VaultClient, requestId: string): Promise<string[]> {
  return accessorsWithMeta(vault, REQUEST_META_KEY, requestId);
}

/**
 * Accessors of live tokens whose metadata has `key` = `value`: every accessor is looked up, so
 * this is for settling a lost reply, not for a hot path (needs sudo on auth/token/accessors).
 */
export async function accessorsWithMeta(vault: VaultClient, key: string, value: string): Promise<string[]> {
  const { data } = parseResponse(
    accessorsSchema,
    await vault.list('auth/token/accessors', { consistent: true }),
    'auth/token/accessors',
  );
  const outcomes = await inBatches(data.keys, 16, async (accessor) => {
    try {
      const found = parseResponse(
        lookupSchema,
        await vault.put('auth/token/lookup-accessor', { accessor }, { consistent: true }),
        'auth/token/lookup-accessor',
      );
      return found.data.meta?.[key] === value ? accessor : undefined;
    } catch (err) {
      if (unknownAccessor(err)) return undefined; // revoked or expired between the list and the lookup
      throw err;
    }
  });
  return outcomes.flatMap((o) => {
    if (!o.ok) throw o.error;
    return o.value ? [o.value] : [];
  });
}

const unknownAccessor = (err: unknown) =>
  isVaultFailure(err, VaultErrorType.InvalidRequest) || isVaultFailure(err, VaultErrorType.NotFound);

/**
 * Revokes the token (and, were it a parent, its children) by accessor. Idempotent: an accessor Vault
 * no longer knows (expired, revoked) answers false.
 */
export async function revokeAccessor(vault: VaultClient, accessor: string): Promise<boolean> {
  // Asked first, because revoke-accessor answers alike for a live token and a gone one (OpenBao 204s
  // both). A token that expires between the two calls is still revoked: no harm.
  try {
    await vault.put('auth/token/lookup-accessor', { accessor }, { consistent: true });
  } catch (err) {
    if (unknownAccessor(err)) return false;
    // Not allowed to look up (or another failure): revoke all the same.
    if (!isVaultFailure(err, VaultErrorType.PermissionDenied)) throw err;
  }
  try {
    await vault.put('auth/token/revoke-accessor', { accessor });
    return true;
  } catch (err) {
    if (unknownAccessor(err)) return false;
    throw err;
  }
}
