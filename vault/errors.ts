// One error taxonomy for every Vault call, expressed as Temporal ApplicationFailure types so
// workflows can branch on `failure.type` and Temporal's retry policy knows what not to retry.
// Messages carry the HTTP method, the path and Vault's own words; never a request body.
import { ApplicationFailure } from '@temporalio/common';

export const VaultErrorType = {
  Sealed: 'VaultSealed',
  Unavailable: 'VaultUnavailable',
  PermissionDenied: 'VaultPermissionDenied',
  NotFound: 'VaultNotFound',
  InvalidRequest: 'VaultInvalidRequest',
  CasMismatch: 'VaultCasMismatch',
  RateLimited: 'VaultRateLimited',
  BadResponse: 'VaultBadResponse',
  /** An input path that would leave the place it names ("..", ".", "//", control characters). */
  InvalidPath: 'VaultInvalidPath',
  /**
   * A write that is not safe to repeat was sent, and its reply was lost: Vault may or may not have
   * done it. Never retried blindly; the caller reads the state to learn which (exactly-once.ts).
   */
  OutcomeUnknown: 'VaultOutcomeUnknown',
} as const;
export type VaultErrorType = (typeof VaultErrorType)[keyof typeof VaultErrorType];

const RETRYABLE: ReadonlySet<VaultErrorType> = new Set([
  VaultErrorType.Sealed,
  VaultErrorType.Unavailable,
  VaultErrorType.RateLimited,
]);

export interface VaultErrorDetails {
  method: string;
  path: string;
  status: number | null;
  namespace: string | null;
}

export function vaultFailure(
  type: VaultErrorType,
  message: string,
  details: VaultErrorDetails,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: truncate(message),
    nonRetryable: !RETRYABLE.has(type),
    details: [details],
  });
}

export function isVaultFailure(err: unknown, type?: VaultErrorType): err is ApplicationFailure {
  return (
    err instanceof ApplicationFailure &&
    typeof err.type === 'string' &&
    err.type.startsWith('Vault') &&
    (type === undefined || err.type === type)
  );
}

/** The call's answer, or `absent` when Vault says there is no such thing (404); other failures pass. */
export async function ifFound<T, A>(call: Promise<T>, absent: A): Promise<T | A> {
  try {
    return await call;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return absent;
    throw err;
  }
}

function truncate(message: string): string {
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}

/** Vault wraps errors as "1 error occurred:\n\t* detail\n\n"; keep just the details. */
export function cleanVaultMessages(errors: unknown): string {
  if (!Array.isArray(errors) || errors.length === 0) return '';
  return errors
    .map((e) =>
      String(e)
        .replace(/^\d+ errors? occurred:\s*/, '')
        .replace(/\n\t\* /g, '; ')
        .replace(/^\* /, '')
        .trim(),
    )
    .join('; ');
}

/** Maps an HTTP status and Vault's error list to the taxonomy. */
export function classifyResponse(status: number, errors: unknown): VaultErrorType {
  const text = cleanVaultMessages(errors).toLowerCase();
  if (status === 503 && text.includes('sealed')) return VaultErrorType.Sealed;
  if (status === 403) return VaultErrorType.PermissionDenied;
  if (status === 404) return VaultErrorType.NotFound;
  if (status === 429) return VaultErrorType.RateLimited;
  // "check-and-set parameter did not match" is a lost race; "...parameter required" is a bad request.
  if (status === 400 && text.includes('check-and-set') && text.includes('did not match')) {
    return VaultErrorType.CasMismatch;
  }
  if (status >= 400 && status < 500) return VaultErrorType.InvalidRequest;
  return VaultErrorType.Unavailable;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  // undici's own codes
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

// Failures before a request could reach the server: it was not sent, so any request may be resent.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** True when the error proves the request never left this process (connection not established). */
export function isNotSentError(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && NOT_SENT_CODES.has(code);
}

export function isNetworkError(err: unknown): err is Error & { code: string } {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
