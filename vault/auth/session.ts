// Keeps a client logged in, as Vault Agent does: log in through a chain of methods (the next one
// is tried when one fails, and the log says why), renew the token at 2/3 of its TTL, and log in
// afresh when it is not renewable or renewal stops extending it (max TTL). Tokens stay in memory,
// and a re-login swaps the token in one step (login.ts, tokens.ts): no request goes without one.
import type { Logger } from 'pino';
import { z } from 'zod';
import type { VaultAuthConfig } from '../../common/config/auth-schema.js';
import type { VaultClient } from '../client.js';
import { parseResponse } from '../response.js';
import { type LoginResult, login } from './login.js';

const renewSchema = z.object({ auth: z.object({ lease_duration: z.number(), renewable: z.boolean() }) });

export interface AuthSessionOptions {
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** When to act, as a fraction of the TTL (Vault Agent: 2/3). */
  renewFraction?: number;
  /** Wait before retrying a failed re-login, while the old token may still be valid. */
  retryMs?: number;
}

export class AuthSession {
  readonly #vault: VaultClient;
  readonly #methods: readonly VaultAuthConfig[];
  readonly #options: Required<Omit<AuthSessionOptions, 'logger'>> & Pick<AuthSessionOptions, 'logger'>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #current: LoginResult | undefined;
  /** TTL of the last full grant: a renewal that gives less has hit the max TTL. */
  #grantTtl = 0;
  logins = 0;
  renewals = 0;

  constructor(vault: VaultClient, methods: readonly VaultAuthConfig[], options: AuthSessionOptions = {}) {
    if (methods.length === 0) throw new Error('an auth session needs at least one method');
    this.#vault = vault;
    this.#methods = methods;
    this.#options = { renewFraction: 2 / 3, retryMs: 5000, ...options };
  }

  get current(): LoginResult | undefined {
    return this.#current;
  }

  /** Logs in through the chain and starts keeping the token alive. */
  async start(): Promise<LoginResult> {
    const result = await this.#loginThroughChain();
    this.#afterGrant(result.ttlSeconds, result.renewable);
    return result;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #loginThroughChain(): Promise<LoginResult> {
    const reasons: string[] = [];
    for (const method of this.#methods) {
      try {
        const result = await login(this.#vault, method);
        this.logins += 1;
        this.#current = result;
        this.#options.logger?.info(
          {
            method: result.method,
            accessor: result.accessor,
            ttlSeconds: result.ttlSeconds,
            policies: result.policies,
          },
          reasons.length ? 'logged in to Vault with a fallback method' : 'logged in to Vault',
        );
        return result;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        reasons.push(`${method.method}: ${reason}`);
        this.#options.logger?.warn(
          { method: method.method, reason },
          'Vault auth method failed; trying the next one',
        );
      }
    }
    throw new Error(`every Vault auth method failed: ${reasons.join('; ')}`);
  }

  #schedule(seconds: number, action: () => Promise<void>): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void action(), Math.max(0, seconds * 1000 * this.#options.renewFraction));
    this.#timer.unref();
  }

  #afterGrant(ttlSeconds: number, renewable: boolean): void {
    this.#grantTtl = ttlSeconds;
    if (ttlSeconds <= 0) return; // a token that never expires (root): nothing to keep alive
    this.#schedule(
      ttlSeconds,
      renewable ? () => this.#renewOrRelogin() : () => this.#relogin('token is not renewable'),
    );
  }

  /** Renews the token now; exposed for operators and benchmarks. */
  async renewNow(): Promise<number> {
    // Renewing twice extends the same token twice: harmless, so a lost reply may be retried.
    const body = await this.#vault.write('auth/token/renew-self', {}, { idempotent: true });
    const { auth } = parseResponse(renewSchema, body, 'auth/token/renew-self');
    this.renewals += 1;
    return auth.lease_duration;
  }

  /**
   * Logs in again now (operators rotating credentials; tests). The old token stays in use until
   * the new one is in hand, and is revoked once the requests carrying it have ended.
   */
  async reloginNow(): Promise<LoginResult> {
    const result = await this.#loginThroughChain();
    this.#afterGrant(result.ttlSeconds, result.renewable);
    return result;
  }

  async #renewOrRelogin(): Promise<void> {
    let ttl: number;
    try {
      ttl = await this.renewNow();
    } catch (err) {
      await this.#relogin(`renewal failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (ttl < this.#grantTtl) {
      // Renewal no longer extends the token: it is close to its max TTL. Log in again in time.
      this.#options.logger?.info({ ttlSeconds: ttl }, 'Vault token reached its max TTL; will log in again');
      this.#schedule(ttl, () => this.#relogin('token reached its max TTL'));
      return;
    }
    this.#afterGrant(ttl, true);
  }

  async #relogin(why: string): Promise<void> {
    if (this.#stopped) return;
    this.#options.logger?.info({ why }, 'logging in to Vault again');
    try {
      const result = await this.#loginThroughChain();
      this.#afterGrant(result.ttlSeconds, result.renewable);
    } catch (err) {
      this.#options.logger?.error(
        { err: err instanceof Error ? err.message : String(err) },
        'Vault re-login failed; retrying',
      );
      this.#timer = setTimeout(() => void this.#relogin(why), this.#options.retryMs);
      this.#timer.unref();
    }
  }
}
