// The HTTP window onto one Vault cluster. UndiciTransport sends each request over pooled
// keep-alive connections; ClusterNodes picks the node (leader first, open circuit breakers
// skipped). What may be retried, and where, follows one rule: a request is sent again (to the
// next node, or in a later round with full-jitter backoff) only when that cannot do it twice:
// reads, writes the caller marks idempotent, and any request that provably never reached Vault
// (connection refused, Vault's own "sealed"/"standby" 503, a rate-limit 429). A write that is not
// safe to repeat and whose reply was lost fails as VaultOutcomeUnknown, for the caller to resolve
// by reading the state (exactly-once.ts). Retries stay inside the calling activity's time, stop
// when it is cancelled, and heartbeat while they wait.
// Tokens are held in memory only; every failure is mapped to the taxonomy in errors.ts.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VaultIntegrationConfig } from '../common/config/schema.js';
import { type CallScope, currentActivityScope } from './activity-scope.js';
import { type CacheScope, ReadCache } from './cache.js';
import { type BackoffOptions, type BreakerOptions, ClusterNodes, fullJitterDelay } from './cluster.js';
import {
  classifyResponse,
  cleanVaultMessages,
  isNetworkError,
  isVaultFailure,
  type VaultErrorDetails,
  VaultErrorType,
  vaultFailure,
} from './errors.js';
import { checkRequestPath, normalizeNamespace } from './paths.js';
import {
  decodeJson,
  describeCall,
  HttpStatusError,
  isJson,
  mayHaveBeenDone,
  outcomeUnknown,
  parseRetryAfter,
  vaultErrors,
} from './response.js';
import { type HeldToken, TokenHolder } from './tokens.js';
import { type RawResponse, type TransportTls, UndiciTransport } from './transport.js';

export { TokenHolder } from './tokens.js';

export interface RetryOptions {
  /** Extra rounds over the nodes after the first one fails entirely. */
  maxRetries: number;
  waitMinMs: number;
  waitMaxMs: number;
  /** Stop starting new rounds after this long, whatever the count (a failover budget). */
  maxElapsedMs?: number | undefined;
}

export interface VaultClientOptions {
  /** One node, or use `addresses` for an HA cluster. */
  address?: string;
  addresses?: string[];
  namespace?: string | undefined;
  timeoutMs?: number;
  /** Connections per node (config: performance.max_idle_connections). */
  maxConnectionsPerNode?: number;
  tls?: TransportTls;
  retry?: RetryOptions;
  breaker?: BreakerOptions;
  /** A read cache shared by every namespace view; reads opt in with `{ cache: true }`. */
  cache?: ReadCache | undefined;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

export interface RequestOptions {
  body?: unknown;
  /** Overrides the client's namespace for this call ('' means the root namespace). */
  namespace?: string;
  /** Serve a GET/LIST from the read cache when fresh, and cache the answer. */
  cache?: boolean;
  /**
   * The caller's word that sending this write twice has the effect of sending it once (it sets
   * state to a given value, or is guarded by check-and-set), so a lost reply may be retried.
   * Reads and DELETE are idempotent already.
   */
  idempotent?: boolean;
  /** Send this token instead of the client's (null: send none, as a login does). Never cached. */
  token?: string | null;
  /** Stops retries and the request in flight when aborted (besides the activity's own signal). */
  signal?: AbortSignal;
  /**
   * Response wrapping: Vault answers with a single-use wrapping token (in `wrap_info`) valid this
   * long ("60s"), instead of the response itself. Never cached.
   */
  wrapTtl?: string;
  /**
   * A cached read whose entry has expired is served anyway while Vault is sealed, for callers
   * that prefer stale data to none (needs `cache`).
   */
  staleIfSealed?: boolean;
  /**
   * Read from the active node only. Standbys may answer reads from a state a little behind
   * (OpenBao's do); settling an unknown outcome must not trust such an answer.
   */
  consistent?: boolean;
}

const DEFAULT_RETRY: RetryOptions = { maxRetries: 3, waitMinMs: 1000, waitMaxMs: 30_000 };
const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, openMs: 5000 };
/** The answers Vault's sys/health gives on purpose; anything else there is a node failure. */
const HEALTH_CODES = new Set([200, 429, 472, 473, 501, 503]);
/** sys/ writes that change no data a read could have cached: they leave the cache alone. */
const SYS_WRITES_WITHOUT_DATA =
  /^sys\/(?:(?:seal|unseal|step-down|capabilities|capabilities-self|capabilities-accessor)(?:\?|$)|(?:leases|wrapping|tools)\/)/;
/** The wait after a 429 without Retry-After: a rate-limit quota's shortest interval. */
const RATE_LIMIT_WAIT_MS = 1000;
/** How often a long wait between rounds heartbeats the calling activity. */
const HEARTBEAT_EVERY_MS = 5000;

interface Shared {
  tokens: TokenHolder;
  transport: UndiciTransport;
  cluster: ClusterNodes;
  cache: ReadCache | undefined;
  leaderDiscovery: { pending: Promise<void> | undefined; done: boolean };
}

/** One call as the retry loop sees it. */
interface Call {
  method: HttpMethod;
  route: string;
  namespace: string;
  token: string | undefined;
  headers?: Record<string, string>;
  /** Bytes, or a function opening a fresh stream of them for each attempt (a file to upload). */
  body?: Buffer | (() => Readable);
  /** Hand a 2xx body back unread (RawResponse.stream). */
  stream?: boolean;
  idempotent: boolean;
  consistent: boolean;
  signal: AbortSignal | undefined;
  details: VaultErrorDetails;
}

/** The configuration's tls section as the transport takes it (for clients built by hand too). */
export function tlsFromConfig(config: VaultIntegrationConfig): TransportTls {
  return {
    caCertPath: config.tls.ca_cert,
    clientCertPath: config.tls.client_cert,
    clientKeyPath: config.tls.client_key,
    serverName: config.tls.tls_server_name,
    skipVerify: config.tls.skip_verify,
  };
}

export class VaultClient {
  /** The first configured node: where reports say they looked. */
  readonly address: string;
  readonly namespace: string | undefined;
  readonly tokens: TokenHolder;
  readonly #options: VaultClientOptions;
  readonly #shared: Shared;
  readonly #retry: RetryOptions;

  constructor(options: VaultClientOptions, shared?: Shared) {
    const addresses = options.addresses ?? (options.address ? [options.address] : []);
    this.#options = options;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.namespace = normalizeNamespace(options.namespace) || undefined;
    this.#shared = shared ?? {
      tokens: new TokenHolder(),
      transport: new UndiciTransport({
        connections: options.maxConnectionsPerNode ?? 10,
        timeoutMs: options.timeoutMs ?? 30_000,
        tls: options.tls,
      }),
      cluster: new ClusterNodes(addresses, options.breaker ?? DEFAULT_BREAKER),
      cache: options.cache,
      leaderDiscovery: { pending: undefined, done: addresses.length < 2 },
    };
    this.tokens = this.#shared.tokens;
    // A superseded token we minted is revoked where it was minted, with itself, once idle.
    this.tokens.revoker ??= (token) => this.#revoke(token);
    this.address = this.#shared.cluster.addresses[0] as string;
  }

  static fromConfig(config: VaultIntegrationConfig): VaultClient {
    const performance = config.performance;
    return new VaultClient({
      addresses: [config.address, ...config.ha_addresses],
      namespace: config.namespace,
      timeoutMs: performance.connection_timeout,
      maxConnectionsPerNode: performance.max_idle_connections,
      retry: {
        maxRetries: performance.max_retries,
        waitMinMs: performance.retry_wait_min,
        waitMaxMs: performance.retry_wait_max,
        maxElapsedMs: performance.retry_max_elapsed,
      },
      breaker: {
        failureThreshold: performance.breaker_failure_threshold,
        openMs: performance.breaker_open_duration,
      },
      cache: config.caching.enable
        ? new ReadCache({ ttlMs: config.caching.ttl, maxEntries: config.caching.max_entries })
        : undefined,
      tls: tlsFromConfig(config),
    });
  }

  /** A view of this client in another namespace, sharing token, connections and node state. */
  withNamespace(namespace: string | undefined): VaultClient {
    return new VaultClient({ ...this.#options, namespace }, this.#shared);
  }

  /**
   * A view in a child of this client's namespace: with a configured root namespace (HCP Vault's
   * `admin`), `child('team-a')` is `admin/team-a`.
   */
  child(name: string): VaultClient {
    const clean = normalizeNamespace(name);
    return this.withNamespace(this.namespace ? `${this.namespace}/${clean}` : clean);
  }

  /**
   * A view of this client's nodes and connections that sends `other`'s token (kept current as
   * `other` logs in again). A cluster restored from another's raft snapshot honours the other's
   * tokens, not its own: this is how a DR drill reaches its restored standby.
   */
  withTokensOf(other: VaultClient): VaultClient {
    return new VaultClient(this.#options, { ...this.#shared, tokens: other.tokens });
  }

  /**
   * A client for one of this cluster's nodes alone (DR probes and fencing): this client's TLS,
   * namespace and token holder, no other node tried and nothing retried, every answer within
   * `timeoutMs` or VaultUnavailable. Its connections are its own: close() it when done.
   */
  forNode(address: string, options: { timeoutMs: number }): VaultClient {
    const single = new VaultClient({
      ...this.#options,
      address,
      addresses: [address],
      timeoutMs: options.timeoutMs,
      retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
      cache: undefined,
    });
    return single.withTokensOf(this);
  }

  get nodes(): ClusterNodes {
    return this.#shared.cluster;
  }

  get cache(): ReadCache | undefined {
    return this.#shared.cache;
  }

  /** Closes pooled connections; the client is unusable afterwards. */
  async close(): Promise<void> {
    await this.#shared.transport.close();
  }

  /**
   * One Vault API call. Returns the parsed JSON body (undefined for 204). Throws an
   * ApplicationFailure from the taxonomy in errors.ts.
   */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const route = checkRequestPath(path);
    const namespace = normalizeNamespace(options.namespace ?? this.namespace);
    const read = isRead(method);
    const explicitToken = options.token !== undefined;
    const held = explicitToken ? undefined : this.tokens.acquire();
    try {
      const cache = this.#shared.cache;
      const scope: CacheScope | undefined =
        cache && read && options.cache && !explicitToken && !options.wrapTtl
          ? { identity: held?.identity ?? '', namespace }
          : undefined;
      if (cache && scope) {
        const hit = cache.get(scope, method, route);
        if (hit !== undefined) return structuredClone(hit);
      }
      const ticket = cache?.ticket() ?? 0;
      const endWrite = cache && !read ? this.#bracketWrite(cache, namespace, route) : undefined;
      let body: unknown;
      try {
        body = await this.#sendJson(method, route, namespace, options, explicitToken ? options.token : held);
      } catch (err) {
        const stale =
          cache && scope && options.staleIfSealed && isVaultFailure(err, VaultErrorType.Sealed)
            ? cache.peekStale(scope, method, route)
            : undefined;
        if (stale === undefined) throw err;
        return structuredClone(stale);
      } finally {
        endWrite?.();
      }
      if (cache && scope && body !== undefined)
        cache.set(scope, method, route, structuredClone(body), ticket);
      return body;
    } finally {
      this.tokens.release(held);
    }
  }

  /**
   * Writes invalidate their path; writes under sys/ (mounts, policies, namespaces, restores) reach
   * further and empty the cache, except those that change no data (sealing, leases, wrapping).
   */
  #bracketWrite(cache: ReadCache, namespace: string, route: string): () => void {
    if (!route.startsWith('sys/')) return cache.beginWrite(namespace, route);
    if (SYS_WRITES_WITHOUT_DATA.test(route)) return () => {};
    cache.clear();
    return () => cache.clear();
  }

  async #sendJson(
    method: HttpMethod,
    route: string,
    namespace: string,
    options: RequestOptions,
    token: HeldToken | string | null | undefined,
  ): Promise<unknown> {
    const json = options.body !== undefined ? Buffer.from(JSON.stringify(options.body)) : undefined;
    const call = (tokenValue: string | undefined): Call => ({
      method,
      route,
      namespace,
      token: tokenValue,
      headers: {
        // Vault takes PATCH bodies only as JSON merge patches.
        ...(json
          ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }
          : {}),
        ...(options.wrapTtl ? { 'x-vault-wrap-ttl': options.wrapTtl } : {}),
      },
      ...(json ? { body: json } : {}),
      idempotent: isRead(method) || method === 'DELETE' || options.idempotent === true,
      consistent: options.consistent === true,
      signal: options.signal,
      details: describeCall(method, route, namespace),
    });
    const value = typeof token === 'string' ? token : token === null ? undefined : token?.value;
    try {
      return decodeJson(route, await this.#onSomeNode(call(value)));
    } catch (err) {
      // Sent with a token that was replaced meanwhile (a re-login): once more, with the new one.
      // A 403 is Vault's refusal before doing anything, so this repeats nothing.
      const replaced = typeof token === 'object' && token !== null && this.tokens.current !== token;
      if (!replaced || !isVaultFailure(err, VaultErrorType.PermissionDenied)) throw err;
      const fresh = this.tokens.acquire();
      try {
        return decodeJson(route, await this.#onSomeNode(call(fresh?.value)));
      } finally {
        this.tokens.release(fresh);
      }
    }
  }

  /**
   * A call whose answer is bytes, not JSON (a DER CRL or OCSP response, a raft snapshot), and which
   * may upload bytes (a snapshot to restore): the same node choice, retries and error mapping.
   * An upload is a write like any other for the cache (a snapshot restore, under sys/, empties it).
   */
  async requestRaw(
    path: string,
    options: { namespace?: string; upload?: Buffer; idempotent?: boolean; signal?: AbortSignal } = {},
  ): Promise<{ contentType: string; body: Buffer }> {
    const res = await this.#bytesCall(path, { ...options, consistent: false, stream: false });
    return { contentType: res.contentType, body: res.body };
  }

  /**
   * requestRaw for bodies too big to hold in memory (raft snapshots). A download's body comes back
   * unread, to be piped to its sink; retries end once the answer's headers are in, so a failure
   * mid-body is the caller's (its sink holds part of the bytes). An upload is opened afresh for
   * each attempt by `upload()`. `consistent` sends it to the active node only.
   */
  async requestStream(
    path: string,
    options: {
      namespace?: string;
      upload?: () => Readable;
      idempotent?: boolean;
      consistent?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<{ contentType: string; stream: Readable | undefined; body: Buffer }> {
    const res = await this.#bytesCall(path, {
      ...options,
      consistent: options.consistent === true,
      stream: true,
    });
    return { contentType: res.contentType, stream: res.stream, body: res.body };
  }

  /**
   * The body of requestRaw and requestStream: a GET, or a POST when there is an upload; only a
   * download may be streamed. An upload is a write like any other for the cache.
   */
  async #bytesCall(
    path: string,
    options: {
      namespace?: string;
      upload?: Buffer | (() => Readable);
      idempotent?: boolean;
      consistent: boolean;
      stream: boolean;
      signal?: AbortSignal;
    },
  ): Promise<RawResponse> {
    const route = checkRequestPath(path);
    const namespace = normalizeNamespace(options.namespace ?? this.namespace);
    const method: HttpMethod = options.upload ? 'POST' : 'GET';
    const held = this.tokens.acquire();
    const cache = this.#shared.cache;
    const endWrite = cache && options.upload ? this.#bracketWrite(cache, namespace, route) : undefined;
    try {
      return await this.#onSomeNode({
        method,
        route,
        namespace,
        token: held?.value,
        ...(options.upload ? { body: options.upload } : options.stream ? { stream: true } : {}),
        idempotent: !options.upload || options.idempotent === true,
        consistent: options.consistent,
        signal: options.signal,
        details: describeCall(method, route, namespace),
      });
    } finally {
      endWrite?.();
      this.tokens.release(held);
    }
  }

  /** One exchange with one node; a status Vault means as an error becomes an HttpStatusError. */
  async #exchange(node: string, call: Call, signal: AbortSignal | undefined): Promise<RawResponse> {
    const headers: Record<string, string> = { ...call.headers };
    if (call.token) headers['x-vault-token'] = call.token;
    if (call.namespace) headers['x-vault-namespace'] = call.namespace;
    // LIST goes as GET ?list=true, which Vault treats alike: proxies and load balancers in front
    // of Vault may refuse a method they do not know.
    const route = call.method === 'LIST' ? withQuery(call.route, 'list=true') : call.route;
    const res = await this.#shared.transport.exchange(node, `/v1/${route}`, {
      method: call.method === 'LIST' ? 'GET' : call.method,
      headers,
      ...(call.body ? { body: typeof call.body === 'function' ? call.body() : call.body } : {}),
      ...(signal ? { signal } : {}),
      ...(call.stream ? { stream: true } : {}),
    });
    if (res.statusCode < 300) return res;
    // sys/health answers a standby, sealed or uninitialised node with its own codes and a JSON
    // body; a proxy's 502 or an HTML page there is a failed node like any other.
    if (/^sys\/health(\?|$)/.test(call.route) && HEALTH_CODES.has(res.statusCode) && isJson(res)) return res;
    throw new HttpStatusError(res, vaultErrors(res));
  }

  /** Runs one attempt per node in the round order, with rounds, backoff and budget as configured. */
  async #onSomeNode(call: Call): Promise<RawResponse> {
    const { details } = call;
    await this.#discoverLeaderOnce();
    const cluster = this.#shared.cluster;
    const activity = currentActivityScope();
    const signal = anySignal([call.signal, activity?.signal]);
    const startedAt = Date.now();
    const budgetEnds = Math.min(
      startedAt + (this.#retry.maxElapsedMs ?? Number.POSITIVE_INFINITY),
      activity?.deadline ?? Number.POSITIVE_INFINITY,
    );
    // With a time budget, rounds go on until it is spent; without one, max_retries counts them.
    const maxRounds =
      this.#retry.maxElapsedMs === undefined ? this.#retry.maxRetries : Number.POSITIVE_INFINITY;
    let lastFailure: Error | undefined;
    let retryAfterMs: number | undefined;
    for (let round = 0; round === 0 || round <= maxRounds; round++) {
      if (round > 0) {
        const waitMs = retryAfterMs ?? fullJitterDelay(round - 1, this.#backoff());
        retryAfterMs = undefined;
        if (Date.now() + waitMs >= budgetEnds) break;
        await this.#wait(waitMs, signal, activity);
        void this.#discoverLeader();
      }
      const plan = await this.#roundFor(call);
      if (!plan) {
        lastFailure = vaultFailure(
          VaultErrorType.Unavailable,
          `${details.method} ${details.path}: no active node known yet (a leader election?)`,
          details,
        );
        continue;
      }
      const { order, trials } = plan;
      const reported = new Set<string>();
      let everyNodeSealed = true;
      try {
        for (const node of order) {
          throwIfAborted(signal, call);
          try {
            const result = await this.#exchange(node, call, signal);
            reported.add(node);
            cluster.succeeded(node);
            return result;
          } catch (err) {
            reported.add(node);
            throwIfAborted(signal, call);
            if (err instanceof HttpStatusError && err.statusCode >= 300 && err.statusCode < 400) {
              // A standby sends writes on to the active node by redirect: it did nothing itself,
              // and is alive. Ask who leads now, and try the next node.
              cluster.succeeded(node);
              if (cluster.leader === node) cluster.setLeader(undefined);
              void this.#discoverLeader();
              lastFailure = vaultFailure(
                VaultErrorType.Unavailable,
                `${details.method} ${details.path}: ${node} is a standby (redirected to ${err.location ?? 'the active node'})`,
                details,
              );
              continue;
            }
            const failure = this.#translate(err, details, node);
            const answered = err instanceof HttpStatusError && err.fromVault;
            if (failure.type === VaultErrorType.RateLimited) {
              // A quota's refusal, not a dead node: the node is alive, and it did nothing.
              cluster.succeeded(node);
              // Retry-After when given; else a quota's interval is at least a second (Vault's default).
              retryAfterMs =
                parseRetryAfter(err instanceof HttpStatusError ? err.retryAfter : undefined) ??
                Math.max(RATE_LIMIT_WAIT_MS, fullJitterDelay(round, this.#backoff()));
              lastFailure = failure;
              break;
            }
            // Vault's own 4xx answers are the cluster's answer, the same on every node.
            if (failure.nonRetryable) {
              if (answered) cluster.succeeded(node);
              throw failure;
            }
            cluster.failed(node);
            if (!call.idempotent && mayHaveBeenDone(err)) throw outcomeUnknown(failure, details, node);
            if (failure.type !== VaultErrorType.Sealed) everyNodeSealed = false;
            lastFailure = failure;
          }
        }
      } finally {
        for (const node of trials) if (!reported.has(node)) cluster.release(node);
      }
      // Every node is sealed: waiting here helps nobody. The caller hears it at once (a
      // seal-aware workflow step then queues until the unseal).
      if (everyNodeSealed && isVaultFailure(lastFailure, VaultErrorType.Sealed)) break;
    }
    throw (
      lastFailure ??
      vaultFailure(
        VaultErrorType.Unavailable,
        `${details.method} ${details.path}: no node of ${cluster.addresses.join(', ')} would take the request`,
        details,
      )
    );
  }

  /** The nodes to try this round: all (breakers allowing), or for a consistent read the leader. */
  async #roundFor(call: Call): Promise<{ order: string[]; trials: string[] } | undefined> {
    const cluster = this.#shared.cluster;
    if (!call.consistent || cluster.addresses.length < 2) return cluster.startRound();
    if (!cluster.leader) await this.#discoverLeader();
    return cluster.leader ? { order: [cluster.leader], trials: [] } : undefined;
  }

  /** Sleeps between rounds; wakes on cancellation and heartbeats the activity while it waits. */
  async #wait(ms: number, signal: AbortSignal | undefined, activity: CallScope | undefined): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      activity?.heartbeat?.();
      const chunk = Math.min(until - Date.now(), HEARTBEAT_EVERY_MS);
      try {
        await sleep(chunk, undefined, signal ? { signal } : undefined);
      } catch {
        return; // aborted: the caller's next check throws the cancellation
      }
    }
    activity?.heartbeat?.();
  }

  #backoff(): BackoffOptions {
    return { baseMs: this.#retry.waitMinMs, capMs: this.#retry.waitMaxMs };
  }

  async #discoverLeaderOnce(): Promise<void> {
    if (this.#shared.leaderDiscovery.done) return;
    await this.#discoverLeader();
    this.#shared.leaderDiscovery.done = true;
  }

  /** Asks the nodes, in turn, who leads; one discovery at a time. Best effort: failures only log. */
  #discoverLeader(): Promise<void> {
    const state = this.#shared.leaderDiscovery;
    if (this.#shared.cluster.addresses.length < 2) return Promise.resolve();
    state.pending ??= (async () => {
      try {
        for (const node of this.#shared.cluster.addresses) {
          try {
            const res = await this.#shared.transport.exchange(node, '/v1/sys/leader', {
              method: 'GET',
              headers: {},
            });
            const body =
              res.statusCode === 200 && isJson(res)
                ? (decodeJson('sys/leader', res) as { leader_address?: string })
                : undefined;
            if (body?.leader_address) {
              this.#shared.cluster.setLeader(body.leader_address);
              return;
            }
          } catch {
            // try the next node
          }
        }
      } finally {
        state.pending = undefined;
      }
    })();
    return state.pending;
  }

  /** Revokes a token we minted and no longer use; a failure only means it expires on its own. */
  async #revoke(token: HeldToken): Promise<void> {
    try {
      await this.request('POST', 'auth/token/revoke-self', { token: token.value, idempotent: true });
    } catch {
      // Its TTL still bounds it; nothing else can be done here.
    }
  }

  #translate(err: unknown, details: VaultErrorDetails, node: string) {
    if (isVaultFailure(err)) return err;
    if (err instanceof HttpStatusError) {
      const type = classifyResponse(err.statusCode, err.errors);
      const words = cleanVaultMessages(err.errors) || `HTTP ${err.statusCode}`;
      return vaultFailure(type, `${details.method} ${details.path}: ${words}`, {
        ...details,
        status: err.statusCode,
      });
    }
    if (isNetworkError(err)) {
      return vaultFailure(
        VaultErrorType.Unavailable,
        `${details.method} ${details.path}: cannot reach ${node} (${err.code})`,
        details,
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    return vaultFailure(
      VaultErrorType.Unavailable,
      `${details.method} ${details.path}: ${node}: ${message}`,
      details,
    );
  }

  async read(path: string, options?: RequestOptions): Promise<unknown> {
    return this.request('GET', path, options);
  }
  async write(path: string, body: unknown, options?: RequestOptions): Promise<unknown> {
    return this.request('POST', path, { ...options, body });
  }
  /**
   * A write that leaves the same state however often it is sent (it sets a policy, a role, a
   * config to given values; or it only computes, as transit encrypt does): retried after a lost
   * reply like a read. Sent as POST, which Vault treats as PUT.
   */
  async put(path: string, body: unknown, options?: RequestOptions): Promise<unknown> {
    return this.request('POST', path, { ...options, body, idempotent: true });
  }
  async list(path: string, options?: RequestOptions): Promise<unknown> {
    return this.request('LIST', path, options);
  }
  async delete(path: string, options?: RequestOptions): Promise<unknown> {
    return this.request('DELETE', path, options);
  }
}

function withQuery(route: string, param: string): string {
  return `${route}${route.includes('?') ? '&' : '?'}${param}`;
}

const isRead = (method: HttpMethod) => method === 'GET' || method === 'LIST';

function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

function throwIfAborted(signal: AbortSignal | undefined, call: Call): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof Error) throw reason;
  throw vaultFailure(
    VaultErrorType.Unavailable,
    `${call.details.method} ${call.details.path}: cancelled`,
    call.details,
  );
}
