// The HTTP underneath the Vault client: an undici Pool per node (pooled keep-alive connections,
// HTTP/1.1 pipelining off, so a request lost with its connection is never one of several).
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
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

export interface RawResponse {
  statusCode: number;
  contentType: string;
  /** The Retry-After header, when the server sent one (a rate-limit quota does). */
  retryAfter: string | undefined;
  /** Where a redirect points (a standby names the active node). */
  location: string | undefined;
  body: Buffer;
  /**
   * With `stream` asked for and a 2xx answer: the body, unread (`body` is then empty). The caller
   * must read it to the end or destroy it, or the connection stays taken.
   */
  stream?: Readable;
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

  /**
   * One exchange with a node: the answer as bytes. `path` is sent as given: it is not resolved
   * as a URL would be, so no "." or ".." segment can move it (the client refuses those anyway).
   */
  async exchange(
    origin: string,
    path: string,
    request: {
      method: string;
      headers: Record<string, string>;
      body?: Buffer | Readable;
      signal?: AbortSignal;
      /** Hand a 2xx body back unread (a raft snapshot: gigabytes are not held in memory). */
      stream?: boolean;
    },
  ): Promise<RawResponse> {
    const res = await this.#pool(origin).request({
      method: request.method as 'GET',
      path,
      headers: request.headers,
      ...(request.body ? { body: request.body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      headersTimeout: this.#options.timeoutMs,
      bodyTimeout: this.#options.timeoutMs,
    });
    const retryAfter = res.headers['retry-after'];
    const location = res.headers.location;
    if (request.stream && res.statusCode >= 200 && res.statusCode < 300) {
      return {
        statusCode: res.statusCode,
        contentType: String(res.headers['content-type'] ?? ''),
        retryAfter: undefined,
        location: typeof location === 'string' ? location : undefined,
        body: Buffer.alloc(0),
        stream: res.body,
      };
    }
    return {
      statusCode: res.statusCode,
      contentType: String(res.headers['content-type'] ?? ''),
      retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      location: typeof location === 'string' ? location : undefined,
      body: Buffer.from(await res.body.arrayBuffer()),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}
