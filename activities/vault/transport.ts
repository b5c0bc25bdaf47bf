// node-vault's HTTP underneath, replaced: node-vault accepts a `request-promise`-shaped function,
// and this one sends each request over an undici Pool per node (pooled keep-alive connections,
// HTTP/1.1 pipelining off), instead of axios. node-vault keeps building paths and headers.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

export interface TransportTls {
  caCertPath?: string | undefined;
  clientCertPath?: string | undefined;
  clientKeyPath?: string | undefined;
  serverName?: string | undefined;
  skipVerify?: boolean | undefined;
}

export interface TransportOptions {
  /** Connections per node: the bound on requests in flight to one node. */
  connections: number;
  timeoutMs: number;
  tls?: TransportTls | undefined;
}

/** What node-vault passes to its request function. */
interface NodeVaultRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

/** What node-vault expects back. */
interface NodeVaultResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

export class UndiciTransport {
  readonly #pools = new Map<string, Pool>();
  readonly #options: TransportOptions;
  readonly #connect: Record<string, unknown>;

  constructor(options: TransportOptions) {
    this.#options = options;
    const tls = options.tls ?? {};
    this.#connect = {
      rejectUnauthorized: !tls.skipVerify,
      ...(tls.caCertPath ? { ca: readFileSync(tls.caCertPath) } : {}),
      ...(tls.clientCertPath ? { cert: readFileSync(tls.clientCertPath) } : {}),
      ...(tls.clientKeyPath ? { key: readFileSync(tls.clientKeyPath) } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
      timeout: options.timeoutMs,
    };
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: this.#connect,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async send(request: NodeVaultRequest): Promise<NodeVaultResponse> {
    const hasBody = request.json !== undefined && typeof request.json === 'object';
    const { 'Content-Type': contentType, ...headers } = request.headers ?? {};
    const res = await this.sendRaw(
      request.uri,
      { ...headers, ...(hasBody ? { 'content-type': contentType ?? 'application/json' } : {}) },
      hasBody
        ? { method: request.method, body: Buffer.from(JSON.stringify(request.json)) }
        : { method: request.method },
    );
    const text = res.body.toString('utf8');
    const body: unknown = text !== '' && res.contentType.includes('json') ? JSON.parse(text) : text;
    // node-vault accepts only 200 and 204 as success; Vault also answers 202 (e.g. tidy accepted).
    const statusCode =
      res.statusCode > 200 && res.statusCode < 300 && res.statusCode !== 204 ? 200 : res.statusCode;
    return { statusCode, body, request: { path: new URL(request.uri).pathname } };
  }

  /** One exchange with a node: the answer as bytes (JSON callers decode it in `send`). */
  async sendRaw(
    uri: string,
    headers: Record<string, string>,
    request: { method: string; body?: Buffer } = { method: 'GET' },
  ): Promise<{ statusCode: number; contentType: string; body: Buffer }> {
    const url = new URL(uri);
    const res = await this.#pool(url.origin).request({
      method: request.method as 'GET',
      path: `${url.pathname}${url.search}`,
      headers,
      ...(request.body ? { body: request.body } : {}),
      headersTimeout: this.#options.timeoutMs,
      bodyTimeout: this.#options.timeoutMs,
    });
    return {
      statusCode: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      body: Buffer.from(await res.body.arrayBuffer()),
    };
  }

  /** The object node-vault's `request-promise` option expects. */
  asRequestPromise(): { defaults: () => (request: NodeVaultRequest) => Promise<NodeVaultResponse> } {
    return { defaults: () => (request) => this.send(request) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}
