// Reading Vault's HTTP answers: JSON bodies, Vault's own error lists, a non-2xx answer as an error,
// whether a failed write may have been carried out, and a response checked against its schema.
import type { z } from 'zod';
import { isNotSentError, type VaultErrorDetails, VaultErrorType, vaultFailure } from './errors.js';
import type { RawResponse } from './transport.js';

export function isJson(res: RawResponse): boolean {
  return res.contentType.includes('json');
}

export function decodeJson(route: string, res: RawResponse): unknown {
  if (res.body.length === 0) return undefined;
  const text = res.body.toString('utf8');
  if (!isJson(res)) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw vaultFailure(VaultErrorType.BadResponse, `${route}: the answer is not valid JSON`, {
      method: '',
      path: route.split('?')[0] ?? route,
      status: res.statusCode,
      namespace: null,
    });
  }
}

/** Vault's `errors` list from an error answer, if the body is Vault's JSON. */
export function vaultErrors(res: RawResponse): unknown {
  if (!isJson(res)) return undefined;
  try {
    return (JSON.parse(res.body.toString('utf8')) as { errors?: unknown }).errors;
  } catch {
    return undefined;
  }
}

/**
 * Could the server have carried the request out? Not when the connection was never made, nor when
 * Vault itself answered 503 (sealed, standby, not active) or 429 before handling it. A 500, a
 * proxy's 502/504, a reset or timeout after sending: it may have.
 */
export function mayHaveBeenDone(err: unknown): boolean {
  if (isNotSentError(err)) return false;
  if (err instanceof HttpStatusError)
    return !(err.fromVault && (err.statusCode === 503 || err.statusCode === 429));
  return true;
}

export function outcomeUnknown(failure: Error, details: VaultErrorDetails, node: string) {
  return vaultFailure(
    VaultErrorType.OutcomeUnknown,
    `${details.method} ${details.path}: sent to ${node}, but no answer came back (${failure.message}); ` +
      'it may or may not have been done, and it is not safe to send twice: read the state to find out',
    details,
  );
}

export function parseRetryAfter(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** What a failure says about the call, without its body: method, path (no query), namespace. */
export function describeCall(method: string, path: string, namespace: string | undefined): VaultErrorDetails {
  return { method, path: path.split('?')[0] ?? path, status: null, namespace: namespace || null };
}

/** A non-2xx answer; `fromVault` when the body is Vault's own JSON error, not a proxy's page. */
export class HttpStatusError extends Error {
  readonly statusCode: number;
  readonly errors: unknown;
  readonly retryAfter: string | undefined;
  readonly fromVault: boolean;
  readonly location: string | undefined;
  constructor(res: RawResponse, errors: unknown) {
    super(`HTTP ${res.statusCode}`);
    this.statusCode = res.statusCode;
    this.errors = errors;
    this.retryAfter = res.retryAfter;
    this.fromVault = Array.isArray(errors);
    this.location = res.location;
  }
}

/** Checks a response against its schema; a mismatch is a clear, non-retryable error naming the field. */
export function parseResponse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.join('.') || '(body)';
  throw vaultFailure(
    VaultErrorType.BadResponse,
    `${what}: unexpected response at ${where}: ${issue?.message ?? 'invalid'}`,
    { method: 'GET', path: what, status: 200, namespace: null },
  );
}
