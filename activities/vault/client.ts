// The HTTP window onto one Vault cluster: node-vault over pooled keep-alive connections, one
// node-vault instance per namespace (node-vault applies a client-level namespace to every request),
// tokens held in memory only, and every failure mapped to the taxonomy in errors.ts.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import nodeVault from 'node-vault';
import type { z } from 'zod';
import type { VaultIntegrationConfig } from '../../common/config.js';
import {
  classifyResponse,
  cleanVaultMessages,
  isNetworkError,
  VaultErrorType,
  vaultFailure,
} from './errors.js';

export interface VaultClientOptions {
  address: string;
  namespace?: string | undefined;
  timeoutMs?: number;
  maxIdleConnections?: number;
  tls?: {
    caCertPath?: string | undefined;
    clientCertPath?: string | undefined;
    clientKeyPath?: string | undefined;
    serverName?: string | undefined;
    skipVerify?: boolean;
  };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

export interface RequestOptions {
  body?: unknown;
  /** Overrides the client's namespace for this call ('' means the root namespace). */
  namespace?: string;
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

export class VaultClient {
  readonly address: string;
  readonly namespace: string | undefined;
  readonly tokens: TokenHolder;
  readonly #options: VaultClientOptions;
  readonly #httpAgent: http.Agent;
  readonly #byNamespace: Map<string, NodeVaultClient>;

  constructor(
    options: VaultClientOptions,
    shared?: { tokens: TokenHolder; httpAgent: http.Agent; byNamespace: Map<string, NodeVaultClient> },
  ) {
    this.address = options.address.replace(/\/+$/, '');
    this.namespace = options.namespace || undefined;
    this.#options = options;
    this.tokens = shared?.tokens ?? new TokenHolder();
    this.#httpAgent =
      shared?.httpAgent ??
      new http.Agent({ keepAlive: true, maxFreeSockets: options.maxIdleConnections ?? 10 });
    this.#byNamespace = shared?.byNamespace ?? new Map();
  }

  static fromConfig(config: VaultIntegrationConfig): VaultClient {
    return new VaultClient({
      address: config.address,
      namespace: config.namespace,
      timeoutMs: config.performance.connection_timeout,
      maxIdleConnections: config.performance.max_idle_connections,
      tls: {
        caCertPath: config.tls.ca_cert,
        clientCertPath: config.tls.client_cert,
        clientKeyPath: config.tls.client_key,
        serverName: config.tls.tls_server_name,
        skipVerify: config.tls.skip_verify,
      },
    });
  }

  /** A view of this client in another namespace, sharing token and connection pool. */
  withNamespace(namespace: string | undefined): VaultClient {
    return new VaultClient(
      { ...this.#options, namespace },
      { tokens: this.tokens, httpAgent: this.#httpAgent, byNamespace: this.#byNamespace },
    );
  }

  /** Closes pooled connections; the client is unusable afterwards. */
  close(): void {
    this.#httpAgent.destroy();
  }

  #clientFor(namespace: string | undefined): NodeVaultClient {
    const key = namespace ?? '';
    let client = this.#byNamespace.get(key);
    if (!client) {
      const tls = this.#options.tls ?? {};
      client = nodeVault({
        endpoint: this.address,
        apiVersion: 'v1',
        namespace: namespace || undefined,
        // An empty token keeps node-vault from falling back to process.env.VAULT_TOKEN.
        token: '',
        requestOptions: {
          httpAgent: this.#httpAgent,
          timeout: this.#options.timeoutMs ?? 30_000,
          agentOptions: {
            keepAlive: true,
            maxFreeSockets: this.#options.maxIdleConnections ?? 10,
            rejectUnauthorized: !tls.skipVerify,
            ...(tls.caCertPath ? { ca: readFileSync(tls.caCertPath) } : {}),
            ...(tls.clientCertPath ? { cert: readFileSync(tls.clientCertPath) } : {}),
            ...(tls.clientKeyPath ? { key: readFileSync(tls.clientKeyPath) } : {}),
            ...(tls.serverName ? { servername: tls.serverName } : {}),
          },
        },
      } as nodeVault.VaultOptions);
      // node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE from the environment on falsy
      // values; pin both so a client never picks up ambient credentials or another namespace.
      client.token = '';
      (client as NodeVaultClient & { namespace: string }).namespace = namespace ?? '';
      this.#byNamespace.set(key, client);
    }
    return client;
  }

  /**
   * One Vault API call. Returns the parsed JSON body (undefined for 204). Throws an
   * ApplicationFailure from the taxonomy in errors.ts.
   */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const namespace = options.namespace ?? this.namespace;
    const client = this.#clientFor(namespace);
    const token = this.tokens.get();
    const details = { method, path: path.split('?')[0] ?? path, status: null, namespace: namespace ?? null };
    let body: unknown;
    try {
      body = await client.request({
        method,
        path: `/${path.replace(/^\/+/, '')}`,
        headers: token ? { 'X-Vault-Token': token } : {},
        ...(options.body !== undefined ? { json: options.body } : {}),
        // node-vault passes per-request options straight through; spread the defaults again.
        httpAgent: this.#httpAgent,
        timeout: this.#options.timeoutMs ?? 30_000,
      });
    } catch (err) {
      throw this.#translate(err, details);
    }
    return body === '' ? undefined : body;
  }

  #translate(err: unknown, details: { method: string; path: string; namespace: string | null }): Error {
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
        `${details.method} ${details.path}: cannot reach ${this.address} (${err.code})`,
        { ...details, status: null },
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    return vaultFailure(VaultErrorType.Unavailable, `${details.method} ${details.path}: ${message}`, {
      ...details,
      status: null,
    });
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
