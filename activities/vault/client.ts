// The HTTP window onto one Vault cluster. node-vault builds each request; UndiciTransport sends it
// over pooled keep-alive connections; ClusterNodes picks the node (leader first, open circuit
// breakers skipped). A node-local failure (unreachable, sealed, overloaded) moves on to the next
// node at once; when a whole round fails, the next round waits with full-jitter backoff.
// One node-vault instance per (node, namespace), as node-vault applies one namespace per client.
// Tokens are held in memory only; every failure is mapped to the taxonomy in errors.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import nodeVault from 'node-vault';
import type { z } from 'zod';
import type { VaultIntegrationConfig } from '../../common/config.js';
import { ReadCache } from './cache.js';
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
import { type TransportTls, UndiciTransport } from './transport.js';

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
}

/** Holds the current token; shared by every namespace view of one client so a re-login reaches all. */
export class TokenHolder {
  #token: string | undefined;
  get(): string | undefined {
    return this.#token;
  }
  set(token: string | undefined): void {
    this.#token = token;
  }
}

type NodeVaultClient = ReturnType<typeof nodeVault>;

interface Shared {
  tokens: TokenHolder;
  transport: UndiciTransport;
  cluster: ClusterNodes;
  instances: Map<string, NodeVaultClient>;
  cache: ReadCache | undefined;
  leaderDiscovery: { pending: Promise<void> | undefined; done: boolean };
}

const DEFAULT_RETRY: RetryOptions = { maxRetries: 3, waitMinMs: 1000, waitMaxMs: 30_000 };
const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 3, openMs: 5000 };

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
    this.namespace = options.namespace || undefined;
    this.#shared = shared ?? {
      tokens: new TokenHolder(),
      transport: new UndiciTransport({
        connections: options.maxConnectionsPerNode ?? 10,
        timeoutMs: options.timeoutMs ?? 30_000,
        tls: options.tls,
      }),
      cluster: new ClusterNodes(addresses, options.breaker ?? DEFAULT_BREAKER),
      instances: new Map(),
      cache: options.cache,
      leaderDiscovery: { pending: undefined, done: addresses.length < 2 },
    };
    this.tokens = this.#shared.tokens;
    this.address = this.#shared.cluster.addresses[0] as string;
  }

  static fromConfig(config: VaultIntegrationConfig): VaultClient {
    return new VaultClient({
      addresses: [config.address, ...config.ha_addresses],
      namespace: config.namespace,
      timeoutMs: config.performance.connection_timeout,
      maxConnectionsPerNode: config.performance.max_idle_connections,
      retry: {
        maxRetries: config.performance.max_retries,
        waitMinMs: config.performance.retry_wait_min,
        waitMaxMs: config.performance.retry_wait_max,
        maxElapsedMs: config.performance.retry_max_elapsed,
      },
      cache: config.caching.enable
        ? new ReadCache({ ttlMs: config.caching.ttl, maxEntries: config.caching.max_entries })
        : undefined,
      tls: {
        caCertPath: config.tls.ca_cert,
        clientCertPath: config.tls.client_cert,
        clientKeyPath: config.tls.client_key,
        serverName: config.tls.tls_server_name,
        skipVerify: config.tls.skip_verify,
      },
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
    const clean = name.replace(/^\/+|\/+$/g, '');
    return this.withNamespace(this.namespace ? `${this.namespace}/${clean}` : clean);
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

  #instance(node: string, namespace: string | undefined): NodeVaultClient {
    const key = `${node}|${namespace ?? ''}`;
    let client = this.#shared.instances.get(key);
    if (!client) {
      client = nodeVault({
        endpoint: node,
        apiVersion: 'v1',
        'request-promise': this.#shared.transport.asRequestPromise(),
      } as nodeVault.VaultOptions);
      // node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE from the environment on falsy
      // values; pin both so a client never picks up ambient credentials or another namespace.
      client.token = '';
      (client as NodeVaultClient & { namespace: string }).namespace = namespace ?? '';
      this.#shared.instances.set(key, client);
    }
    return client;
  }

  /**
   * One Vault API call. Returns the parsed JSON body (undefined for 204). Throws an
   * ApplicationFailure from the taxonomy in errors.ts.
   */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const namespace = options.namespace ?? this.namespace;
    const details = describeCall(method, path, namespace);
    const cache = this.#shared.cache;
    const isRead = method === 'GET' || method === 'LIST';
    const cacheKeyNs = namespace ?? '';
    if (cache && isRead && options.cache) {
      const hit = cache.get(cacheKeyNs, method, path);
      if (hit !== undefined) return structuredClone(hit);
    }
    // Invalidate before and after a write, so a read in flight cannot re-plant the old value.
    if (cache && !isRead) cache.invalidate(cacheKeyNs, path);
    const body = await this.#send(method, path, options, namespace, details);
    if (cache && !isRead) cache.invalidate(cacheKeyNs, path);
    if (cache && isRead && options.cache && body !== undefined)
      cache.set(cacheKeyNs, method, path, structuredClone(body));
    return body;
  }

  async #send(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    namespace: string | undefined,
    details: VaultErrorDetails,
  ): Promise<unknown> {
    const body = await this.#onSomeNode(details, (node) =>
      this.#instance(node, namespace).request({
        method,
        path: `/${path.replace(/^\/+/, '')}`,
        headers: {
          ...(this.tokens.get() ? { 'X-Vault-Token': this.tokens.get() as string } : {}),
          // Vault takes PATCH bodies only as JSON merge patches.
          ...(method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : {}),
        },
        ...(options.body !== undefined ? { json: options.body } : {}),
      }),
    );
    return body === '' ? undefined : body;
  }

  /**
   * A call whose answer is bytes, not JSON (a DER CRL or OCSP response, a raft snapshot), and which
   * may upload bytes (a snapshot to restore): the same node choice, retries and error mapping.
   */
  async requestRaw(
    path: string,
    options: { namespace?: string; upload?: Buffer } = {},
  ): Promise<{ contentType: string; body: Buffer }> {
    const namespace = options.namespace ?? this.namespace;
    const details = describeCall(options.upload ? 'POST' : 'GET', path, namespace);
    return this.#onSomeNode(details, async (node) => {
      const res = await this.#shared.transport.sendRaw(
        `${node}/v1/${path.replace(/^\/+/, '')}`,
        {
          ...(this.tokens.get() ? { 'X-Vault-Token': this.tokens.get() as string } : {}),
          ...(namespace ? { 'X-Vault-Namespace': namespace } : {}),
        },
        options.upload ? { method: 'POST', body: options.upload } : { method: 'GET' },
      );
      if (res.statusCode >= 400) {
        let errors: unknown;
        try {
          errors = (JSON.parse(res.body.toString('utf8')) as { errors?: unknown }).errors;
        } catch {
          errors = undefined;
        }
        throw new HttpStatusError(res.statusCode, errors);
      }
      return { contentType: res.contentType, body: res.body };
    });
  }

  /** Runs one attempt per node in the round order, with rounds, backoff and budget as configured. */
  async #onSomeNode<T>(details: VaultErrorDetails, attempt: (node: string) => Promise<T>): Promise<T> {
    const method = details.method;
    await this.#discoverLeaderOnce();
    const cluster = this.#shared.cluster;
    const startedAt = Date.now();
    const budgetLeft = () => Date.now() - startedAt < (this.#retry.maxElapsedMs ?? Number.POSITIVE_INFINITY);
    let lastFailure: Error | undefined;
    for (let round = 0; round <= this.#retry.maxRetries && (round === 0 || budgetLeft()); round++) {
      if (round > 0) {
        await sleep(fullJitterDelay(round - 1, this.#backoff()));
        void this.#discoverLeader();
      }
      for (const node of cluster.roundOrder()) {
        try {
          const result = await attempt(node);
          cluster.succeeded(node);
          return result;
        } catch (err) {
          const failure = this.#translate(err, details, node);
          // 4xx answers are the cluster's answer, the same on every node: no point retrying.
          if (failure.nonRetryable) throw failure;
          cluster.failed(node);
          lastFailure = failure;
        }
      }
    }
    throw (
      lastFailure ??
      vaultFailure(
        VaultErrorType.Unavailable,
        `${method} ${details.path}: no node of ${cluster.addresses.join(', ')} would take the request`,
        details,
      )
    );
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
            const body = (await this.#instance(node, undefined).request({
              method: 'GET',
              path: '/sys/leader',
            })) as {
              leader_address?: string;
            };
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

  #translate(err: unknown, details: VaultErrorDetails, node: string) {
    if (isVaultFailure(err)) return err;
    const response = (err as { response?: { statusCode?: number; body?: { errors?: unknown } } }).response;
    if (response && typeof response.statusCode === 'number') {
      const type = classifyResponse(response.statusCode, response.body?.errors);
      const words = cleanVaultMessages(response.body?.errors) || `HTTP ${response.statusCode}`;
      return vaultFailure(type, `${details.method} ${details.path}: ${words}`, {
        ...details,
        status: response.statusCode,
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
  async list(path: string, options?: RequestOptions): Promise<unknown> {
    return this.request('LIST', path, options);
  }
  async delete(path: string, options?: RequestOptions): Promise<unknown> {
    return this.request('DELETE', path, options);
  }
}

/** What a failure says about the call, without its body: method, path (no query), namespace. */
function describeCall(method: string, path: string, namespace: string | undefined): VaultErrorDetails {
  return { method, path: path.split('?')[0] ?? path, status: null, namespace: namespace ?? null };
}

/** A non-2xx answer to a raw call, shaped like node-vault's errors so one mapping serves both. */
class HttpStatusError extends Error {
  readonly response: { statusCode: number; body: { errors: unknown } };
  constructor(statusCode: number, errors: unknown) {
    super(`HTTP ${statusCode}`);
    this.response = { statusCode, body: { errors } };
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
