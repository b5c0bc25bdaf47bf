// The codec server the Temporal UI calls to show encrypted payloads: POST /encode and /decode with
// the UI's JSON shape ({ payloads: [{ metadata: {k: base64}, data: base64 }] }), CORS for the UI's
// origin only, and each request authorised by a Vault token that must carry a named policy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { logger } from '../common/logger.js';
import type { VaultClient } from '../vault/client.js';

export type Authorization = { ok: true; who: string } | { ok: false; status: 401 | 403 | 503; error: string };
export type Authorizer = (req: IncomingMessage) => Promise<Authorization>;

export interface CodecServerOptions {
  codec: PayloadCodec;
  authorize: Authorizer;
  /** Browser origins allowed to call (the UI's, e.g. "http://127.0.0.1:8233"); others get 403. */
  allowedOrigins: readonly string[];
  /** 0 (default): a free port. Always bound to 127.0.0.1. */
  port?: number;
}

export interface CodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

const ALLOW_HEADERS = 'X-Namespace, Content-Type, Authorization, Authorization-Extras';
const MAX_BODY = 8 * 1024 * 1024;
const b64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const payloadsSchema = z.object({
  payloads: z.array(
    z.object({ metadata: z.record(z.string(), b64).optional(), data: b64.optional().nullable() }),
  ),
});

const fromJson = (p: z.infer<typeof payloadsSchema>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const origins = new Set(options.allowedOrigins);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.warn({ err }, 'codec server: request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    // A browser page from any other origin gets neither CORS headers nor an answer.
    if (origin !== undefined) {
      if (!origins.has(origin)) return send(res, 403, { error: `origin ${origin} is not allowed` });
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '600',
      });
      return void res.end();
    }
    // The protocol: only the last path segment says which (the endpoint may sit under a prefix).
    const action = new URL(req.url ?? '/', 'http://codec').pathname.split('/').filter(Boolean).at(-1);
    if (req.method !== 'POST' || (action !== 'encode' && action !== 'decode')) {
      return send(res, 404, { error: 'POST /encode or /decode' });
    }
    const auth = await options.authorize(req);
    if (!auth.ok) return send(res, auth.status, { error: auth.error });
    const text = await readBody(req);
    if (text === undefined) return send(res, 413, { error: 'body larger than 8 MiB' });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    const parsed = payloadsSchema.safeParse(json);
    if (!parsed.success) return send(res, 400, { error: 'body must be { payloads: [{ metadata, data }] }' });
    const payloads = parsed.data.payloads.map(fromJson);
    try {
      const out =
        action === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
      logger.debug(
        { action, who: auth.who, namespace: req.headers['x-namespace'], n: payloads.length },
        'codec',
      );
      send(res, 200, { payloads: out.map(toJson) });
    } catch (err) {
      send(res, 422, { error: (err as Error).message });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const lookupSchema = z.object({
  data: z.object({
    display_name: z.string().optional(),
    policies: z.array(z.string()).nullish(),
    identity_policies: z.array(z.string()).nullish(),
  }),
});

export interface VaultTokenAuthorizerOptions {
  /** Looks tokens up; its own token is never used for that (each request's token looks itself up). */
  vault: VaultClient;
  /** The policy a token must carry (directly or through its identity), e.g. "vaultops-codec". */
  policy: string;
  /**
   * Dev stack only: the Temporal dev server's UI has no login, so it has no token to pass. A
   * request without Authorization from these origins is looked up with this token instead.
   * Never for a real deployment: anything on this machine can send that Origin header.
   */
  devFallback?: { origins: readonly string[]; token: string };
}

/** `Authorization: Bearer <vault token>`, looked up with auth/token/lookup-self as that token. */
export function vaultTokenAuthorizer(options: VaultTokenAuthorizerOptions): Authorizer {
  return async (req) => {
    const header = req.headers.authorization;
    let token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const origin = req.headers.origin;
    if (header === undefined && origin !== undefined && options.devFallback?.origins.includes(origin)) {
      token = options.devFallback.token;
    }
    if (!token) return { ok: false, status: 401, error: 'missing "Authorization: Bearer <vault token>"' };
    let body: unknown;
    try {
      body = await options.vault.read('auth/token/lookup-self', { token });
    } catch (err) {
      const status = (err as { details?: { status?: number | null }[] }).details?.[0]?.status;
      if (status === 403 || status === 400 || status === 401) {
        return { ok: false, status: 401, error: 'the Vault token is not valid' };
      }
      logger.warn({ err }, 'codec server: token lookup failed');
      return { ok: false, status: 503, error: 'cannot check the token with Vault now' };
    }
    const parsed = lookupSchema.safeParse(body);
    if (!parsed.success)
      return { ok: false, status: 503, error: 'unexpected token lookup answer from Vault' };
    const { policies, identity_policies, display_name } = parsed.data.data;
    if (![...(policies ?? []), ...(identity_policies ?? [])].includes(options.policy)) {
      return { ok: false, status: 403, error: `the Vault token lacks the "${options.policy}" policy` };
    }
    return { ok: true, who: display_name ?? 'token' };
  };
}
