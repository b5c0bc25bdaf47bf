// The token a client sends, swapped in one step. A re-login never leaves a request without a
// token: the current one stays in use until its successor is in hand. A superseded token that we
// minted (by logging in) is revoked once no request in flight still carries it. Tokens live in
// memory only.
import { createHash } from 'node:crypto';

export interface HeldToken {
  readonly value: string;
  /**
   * Whose view the token gives: the cache keeps one view per identity, so a re-login with other
   * policies never reads what this token cached.
   */
  readonly identity: string;
  /** Minted by our own login (and so ours to revoke); a token the user gave us is not. */
  readonly owned: boolean;
}

export interface TokenDescription {
  /** Policies and entity, when a login or lookup told us; else the token itself names its view. */
  identity?: string;
  owned?: boolean;
}

/** A cache identity from what a token may read: its policies and the entity they are templated on. */
export function identityOf(policies: readonly string[], entityId: string | null | undefined): string {
  return `${entityId ?? ''}|${[...new Set(policies)].sort().join(',')}`;
}

export class TokenHolder {
  #current: HeldToken | undefined;
  readonly #inFlight = new Map<HeldToken, number>();
  readonly #superseded = new Set<HeldToken>();
  /** Revokes a superseded token we minted; set by the client. Failures are the revoker's to log. */
  revoker: ((token: HeldToken) => Promise<void>) | undefined;

  get(): string | undefined {
    return this.#current?.value;
  }

  get current(): HeldToken | undefined {
    return this.#current;
  }

  /** Puts `value` in use for every request that starts from now on. */
  set(value: string | undefined, description: TokenDescription = {}): void {
    const previous = this.#current;
    this.#current =
      value === undefined
        ? undefined
        : {
            value,
            identity:
              description.identity ??
              `token:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`,
            owned: description.owned ?? false,
          };
    if (previous && previous.value !== value && previous.owned) {
      this.#superseded.add(previous);
      this.#revokeIfIdle(previous);
    }
  }

  /** The token for one request; hand it back with `release` when the request has ended. */
  acquire(): HeldToken | undefined {
    const token = this.#current;
    if (token) this.#inFlight.set(token, (this.#inFlight.get(token) ?? 0) + 1);
    return token;
  }

  release(token: HeldToken | undefined): void {
    if (!token) return;
    const left = (this.#inFlight.get(token) ?? 1) - 1;
    if (left > 0) this.#inFlight.set(token, left);
    else this.#inFlight.delete(token);
    this.#revokeIfIdle(token);
  }

  /** Requests still carrying superseded tokens (for tests and shutdown). */
  get supersededInUse(): number {
    return [...this.#superseded].filter((t) => this.#inFlight.has(t)).length;
  }

  #revokeIfIdle(token: HeldToken): void {
    if (!this.#superseded.has(token) || this.#inFlight.has(token)) return;
    this.#superseded.delete(token);
    void this.revoker?.(token);
  }
}
