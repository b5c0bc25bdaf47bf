// Break-glass activities: create the emergency token and hand it over without it ever reaching
// Temporal, and revoke it by its accessor. The token exists in this process only between its
// creation and `sys/wrapping/wrap`; what leaves is the wrapping token, sealed to the requester's
// X25519 key (common/sealed-box.ts), and the accessor.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  BREAK_GLASS_META_KEY,
  type BreakGlassDelivery,
  BreakGlassFailureType,
  vaultSeconds,
} from '../../common/break-glass/break-glass.js';
import { logger } from '../../common/logger.js';
import { checkRecipientKey, seal } from '../../common/sealed-box.js';
import type { VaultClient } from '../../vault/client.js';
import { parseResponse } from '../../vault/response.js';
import { accessorsWithMeta, createToken, revokeAccessor } from '../../vault/token.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';

export interface CreateBreakGlassTokenInput {
  /** The workflow asking: put in the token's metadata, so a retried attempt finds an earlier one's token. */
  workflowId: string;
  policy: string;
  ttl: string;
  numUses: number;
  requester: string;
  /** X25519 SPKI, base64. */
  recipientPublicKey: string;
  wrapTtl: string;
  /** The configured cluster; default "default" (vault_integration). */
  cluster?: string | undefined;
}

export interface RevokeBreakGlassTokenInput {
  accessor: string;
  cluster?: string | undefined;
}

export interface RevokeBreakGlassTokenResult {
  /** False when Vault no longer knew the accessor: the token had expired or was revoked already. */
  revoked: boolean;
}

const wrapSchema = z.object({
  wrap_info: z.object({
    token: z.string().min(1),
    accessor: z.string(),
    ttl: z.number(),
    creation_time: z.string(),
  }),
});

export function createBreakGlassActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);
  return {
    async createBreakGlassToken(input: CreateBreakGlassTokenInput): Promise<BreakGlassDelivery> {
      const vault = clusters.get(input.cluster);
      // Checked before anything is created: a bad key must not leave a token behind.
      try {
        checkRecipientKey(input.recipientPublicKey);
      } catch (err) {
        throw ApplicationFailure.create({
          type: BreakGlassFailureType.InvalidRequest,
          message: `the requester's public key: ${(err as Error).message}`,
          nonRetryable: true,
        });
      }
      // An earlier attempt may have created a token whose reply (or whose result) was lost: its
      // wrapping token never reached anyone, so nobody can use it; revoke it all the same.
      if (activityAttempt() > 1) await revokeEarlierAttempts(vault, input.workflowId);

      const ttl = vaultSeconds(input.ttl);
      const created = await createToken(vault, {
        policies: [input.policy],
        noDefaultPolicy: true, // that policy only: not even Vault's `default`
        ttl,
        explicitMaxTtl: ttl, // not renewable past the time box, whatever the policy allows
        renewable: false,
        numUses: input.numUses,
        orphan: true, // outlives the worker's own token (and its re-logins)
        displayName: 'break-glass',
        meta: { [BREAK_GLASS_META_KEY]: input.workflowId, requester: input.requester },
      });
      try {
        const { wrap_info: wrap } = parseResponse(
          wrapSchema,
          await vault.write(
            'sys/wrapping/wrap',
            { token: created.token },
            { wrapTtl: vaultSeconds(input.wrapTtl) },
          ),
          'sys/wrapping/wrap',
        );
        const createdAtMs = Date.now();
        const wrapCreatedMs = Date.parse(wrap.creation_time);
        return {
          accessor: created.accessor,
          policies: created.policies,
          ttlSeconds: created.ttlSeconds,
          numUses: input.numUses,
          createdAt: new Date(createdAtMs).toISOString(),
          expiresAt: new Date(createdAtMs + created.ttlSeconds * 1000).toISOString(),
          wrapAccessor: wrap.accessor,
          wrapExpiresAt: new Date(
            (Number.isNaN(wrapCreatedMs) ? createdAtMs : wrapCreatedMs) + wrap.ttl * 1000,
          ).toISOString(),
          sealedWrappingToken: seal(input.recipientPublicKey, wrap.token),
        };
      } catch (err) {
        // Nobody will ever hold this token: revoke it now rather than let it live out its TTL.
        await revokeAccessor(vault, created.accessor).catch((revokeErr: unknown) => {
          logger.warn(
            { accessor: created.accessor, error: (revokeErr as Error).message },
            'break-glass: could not revoke a token that was never delivered; its TTL bounds it',
          );
        });
        throw err;
      }
    },

    async revokeBreakGlassToken(input: RevokeBreakGlassTokenInput): Promise<RevokeBreakGlassTokenResult> {
      return { revoked: await revokeAccessor(clusters.get(input.cluster), input.accessor) };
    },
  };
}

export type BreakGlassActivities = ReturnType<typeof createBreakGlassActivities>;

function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (tests)
  }
}

/** Revokes live tokens made for `workflowId` by earlier attempts (needs sudo on auth/token/accessors). */
async function revokeEarlierAttempts(vault: VaultClient, workflowId: string): Promise<void> {
  try {
    for (const accessor of await accessorsWithMeta(vault, BREAK_GLASS_META_KEY, workflowId)) {
      await revokeAccessor(vault, accessor);
    }
  } catch (err) {
    // A stray is unusable (its wrapping token reached nobody) and its TTL bounds it: go on.
    logger.warn(
      { workflowId, error: (err as Error).message },
      'break-glass: cannot look through token accessors to revoke an earlier attempt’s token',
    );
  }
}
