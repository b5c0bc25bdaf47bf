// Break-glass: what a request asks for, what the workflow records about it, and the bounds it must
// keep. Pure (no I/O, no clock), so the workflow, the activities and the CLI share one set of rules.
import type { ApprovalPolicy, ApprovalVote } from '../approval.js';
import { MAX_REASON_LENGTH } from '../approval.js';
import { parseDuration } from '../durations.js';

/** The longest an emergency token may live: long enough for an incident, short enough to matter. */
export const MAX_BREAK_GLASS_TTL_MS = 24 * 3_600_000;
/** Uses when the request names none: enough for an incident's commands, bounded all the same. */
export const DEFAULT_BREAK_GLASS_USES = 100;
/** How long the wrapping token that carries the emergency token may wait to be collected. */
export const DEFAULT_WRAP_TTL = '5m';
export const MAX_WRAP_TTL_MS = 3_600_000;
/** The token metadata key naming the workflow that created it (finds strays from retried attempts). */
export const BREAK_GLASS_META_KEY = 'vaultops_break_glass';

export interface BreakGlassInput {
  /** The one Vault policy the emergency token carries (besides Vault's `default`). */
  policy: string;
  /** How long the token lives ("1h"); also its explicit max TTL, so it cannot be renewed past it. */
  ttl: string;
  /** Why: an incident or ticket reference. Recorded in the audit trail and the token's metadata. */
  reason: string;
  /** How many requests the token may make; 0 is refused (unlimited is not break-glass). */
  numUses: number;
  /** Who asks, who may approve, how many must, and how long they have. */
  approval: ApprovalPolicy;
  /**
   * The requester's ephemeral X25519 public key (SPKI, base64). The wrapping token that carries
   * the emergency token is delivered encrypted to it; the private key never leaves the CLI's machine.
   */
  recipientPublicKey: string;
  /** How long the wrapping token lives (default 5m): collect within this. */
  wrapTtl?: string;
  /** The Vault cluster's name ("default" for the one unnamed cluster). */
  cluster?: string;
}

/** An X25519 + HKDF-SHA256 + AES-256-GCM box (common/sealed-box.ts); every field base64. */
export interface SealedBox {
  alg: 'X25519-HKDF-SHA256-A256GCM';
  ephemeralPublicKey: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** What the create activity hands back: facts and ciphertext, never a token. */
export interface BreakGlassDelivery {
  /** The emergency token's accessor: for audit and revocation; it cannot be used as the token. */
  accessor: string;
  policies: string[];
  ttlSeconds: number;
  numUses: number;
  /** Wall-clock time of the creation, ISO 8601. */
  createdAt: string;
  /** createdAt + ttlSeconds: when Vault lets the token expire, ISO 8601. */
  expiresAt: string;
  /** The wrapping token's accessor (Vault's audit log names it at the unwrap). */
  wrapAccessor: string;
  /** When the wrapping token expires unless unwrapped first, ISO 8601. */
  wrapExpiresAt: string;
  /** The single-use wrapping token, encrypted to the requester's public key. */
  sealedWrappingToken: SealedBox;
}

export type BreakGlassStatus =
  | 'awaiting-approval'
  | 'rejected' // rejected, withdrawn, expired or cancelled before a token existed
  | 'creating'
  | 'active'
  | 'revoking'
  | 'revoked'
  | 'failed';

/** The audit trail (`breakGlassAudit` query, `vaultops break-glass status`). */
export interface BreakGlassAudit {
  status: BreakGlassStatus;
  requester: string;
  reason: string;
  policy: string;
  ttl: string;
  numUses: number;
  /** ISO 8601, workflow time. */
  requestedAt: string;
  approvers: string[];
  quorum: number;
  approvals: ApprovalVote[];
  rejections: ApprovalVote[];
  accessor: string | null;
  wrapAccessor: string | null;
  createdAt: string | null;
  expiresAt: string | null;
  wrapExpiresAt: string | null;
  /** When `break-glass collect` reported that it unwrapped the token, and who ran it. */
  collectedAt: string | null;
  collectedBy: string | null;
  revokeRequestedAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  /** "expired" (the time box ended), "on request: <reason>", "cancelled", or why it failed. */
  revokeReason: string | null;
  /** Vault no longer knew the accessor when we revoked: the token had expired or been revoked already. */
  alreadyGone: boolean | null;
  /** Why the request ended without a token, or why the revocation failed. */
  error: string | null;
}

/** What `vaultops break-glass collect` reads (query `breakGlassDelivery`); null until created. */
export interface BreakGlassDeliveryView {
  status: BreakGlassStatus;
  wrapExpiresAt: string | null;
  sealedWrappingToken: SealedBox | null;
}

export interface RevokeRequest {
  by: string;
  reason: string;
}

export interface CollectedReport {
  by: string;
  /**
   * When the collector unwrapped the token (ISO 8601, their clock). Carried in the signal, so the
   * audit says the same thing on every replay of the history.
   */
  at?: string;
}

/** Failure types a break-glass workflow fails with, besides the approval gate's own. */
export const BreakGlassFailureType = {
  InvalidRequest: 'InvalidBreakGlassRequest',
  RevokeRefused: 'BreakGlassRevokeRefused',
} as const;

/** Vault policy names: what `sys/policies/acl/<name>` accepts, without path tricks. */
const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
/** X25519 SPKI DER is 44 bytes: 60 characters of base64 at most, with slack for other encodings. */
const PUBLIC_KEY = /^[A-Za-z0-9+/]{40,120}={0,2}$/;

/** What is wrong with a request (approval policy aside); empty when it may go ahead. */
export function breakGlassProblems(input: BreakGlassInput): string[] {
  const problems: string[] = [];
  if (typeof input.policy !== 'string' || !POLICY_NAME.test(input.policy))
    problems.push('policy: name one Vault ACL policy (letters, digits, _ . @ -)');
  else if (input.policy === 'root') problems.push('policy: a break-glass token never carries root');
  const ttlMs = typeof input.ttl === 'string' ? parseDuration(input.ttl) : undefined;
  if (ttlMs === undefined || ttlMs < 1000) problems.push('ttl: must be a duration of at least 1s, e.g. "1h"');
  else if (ttlMs > MAX_BREAK_GLASS_TTL_MS) problems.push('ttl: at most 24h');
  if (typeof input.reason !== 'string' || input.reason.trim() === '')
    problems.push('reason: say why (an incident or ticket reference)');
  else if (input.reason.trim().length > MAX_REASON_LENGTH)
    problems.push(`reason: at most ${MAX_REASON_LENGTH} characters`);
  if (!Number.isInteger(input.numUses) || input.numUses < 1 || input.numUses > 10_000)
    problems.push('uses: a whole number from 1 to 10000');
  if (typeof input.recipientPublicKey !== 'string' || !PUBLIC_KEY.test(input.recipientPublicKey))
    problems.push("recipientPublicKey: the requester's X25519 public key (SPKI DER, base64)");
  if (input.wrapTtl !== undefined) {
    const wrapMs = typeof input.wrapTtl === 'string' ? parseDuration(input.wrapTtl) : undefined;
    if (wrapMs === undefined || wrapMs < 1000 || wrapMs > MAX_WRAP_TTL_MS)
      problems.push('wrapTtl: a duration from 1s to 1h');
  }
  return problems;
}

/** Vault's TTL form ("3600s") of a duration the problems check accepted. */
export function vaultSeconds(duration: string): string {
  return `${Math.round((parseDuration(duration) ?? 0) / 1000)}s`;
}

export function newBreakGlassAudit(input: BreakGlassInput, nowMs: number): BreakGlassAudit {
  return {
    status: 'awaiting-approval',
    requester: String(input.approval?.requester ?? '').trim(),
    reason: String(input.reason ?? '').trim(),
    policy: input.policy,
    ttl: input.ttl,
    numUses: input.numUses,
    requestedAt: new Date(nowMs).toISOString(),
    approvers: Array.isArray(input.approval?.approvers) ? [...input.approval.approvers] : [],
    quorum: input.approval?.quorum,
    approvals: [],
    rejections: [],
    accessor: null,
    wrapAccessor: null,
    createdAt: null,
    expiresAt: null,
    wrapExpiresAt: null,
    collectedAt: null,
    collectedBy: null,
    revokeRequestedAt: null,
    revokedAt: null,
    revokedBy: null,
    revokeReason: null,
    alreadyGone: null,
    error: null,
  };
}

/** Why a revoke request may not be taken now; undefined when it may. */
export function revokeRefusal(audit: BreakGlassAudit, request: RevokeRequest): string | undefined {
  const by = typeof request?.by === 'string' ? request.by.trim() : '';
  if (by === '') return 'name who revokes (--as <name>)';
  const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
  if (reason === '') return 'say why the token is revoked (--reason <text>)';
  if (reason.length > MAX_REASON_LENGTH) return `the reason is longer than ${MAX_REASON_LENGTH} characters`;
  if (audit.status === 'awaiting-approval')
    return (
      'no token exists yet: the request is waiting for approval; withdraw it with ' +
      '`vaultops reject <workflow-id> --as <requester> --reason <text>`'
    );
  if (audit.status === 'rejected' || audit.status === 'failed')
    return `no token to revoke: the request ended ${audit.status}${audit.error ? ` (${audit.error})` : ''}`;
  return undefined;
}
