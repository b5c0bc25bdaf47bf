// A stand-in for a network that loses replies, in front of a real Vault-API server on 127.0.0.1.
// It forwards each request and waits for the server's whole answer; for the requests a rule
// picks, it then closes the client's connection instead of answering: the server did the work,
// the client never hears. It can also answer everything as a broken load balancer would (502),
// or hold a reply until the test lets it go (to make something happen between a write landing
// and its caller hearing of it, such as a seal).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
}

export interface HeldReply {
  /** Settles when a matching request has been carried out and its reply is being held. */
  reached: Promise<SeenRequest>;
  /** Lets the held reply go to the client. */
  release(): void;
}

export interface LossyProxy {
  address: string;
  /** Requests the server answered (dropped replies included). */
  forwarded: SeenRequest[];
  dropped: SeenRequest[];
  /** The next `count` requests matching `rule` reach the server, and their replies are lost. */
  dropReplies(rule: (req: SeenRequest) => boolean, count?: number): void;
  /** The next request matching `rule` reaches the server; its reply waits for `release()`. */
  holdReply(rule: (req: SeenRequest) => boolean): HeldReply;
  /** From now on, answer every request with 502 and an HTML page, forwarding nothing. */
  badGateway(on: boolean): void;
  close(): Promise<void>;
}

/** Picks the nth write (POST or PUT) to `/v1/<path>` that the rule is asked about. */
export function nthWriteTo(path: string, nth = 1): (req: SeenRequest) => boolean {
  let seen = 0;
  return (req) =>
    (req.method === 'POST' || req.method === 'PUT') &&
    req.path.split('?')[0] === `/v1/${path}` &&
    ++seen === nth;
}

export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const rules: { rule: (req: SeenRequest) => boolean; left: number }[] = [];
  const forwarded: SeenRequest[] = [];
  const dropped: SeenRequest[] = [];
  const holds: {
    rule: (req: SeenRequest) => boolean;
    reach: (req: SeenRequest) => void;
    released: Promise<void>;
  }[] = [];
  let gatewayBroken = false;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const seen = { method: req.method ?? 'GET', path: req.url ?? '/' };
    if (gatewayBroken) {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) {
        headers.set(name, value);
      }
    }
    const upstream = await fetch(`${target}${seen.path}`, {
      method: seen.method,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      redirect: 'manual',
    });
    const body = Buffer.from(await upstream.arrayBuffer());
    forwarded.push(seen);
    const match = rules.find((r) => r.left > 0 && r.rule(seen));
    if (match) {
      match.left -= 1;
      dropped.push(seen);
      req.socket.destroy(); // the answer existed; the client will never see it
      return;
    }
    const held = holds.findIndex((h) => h.rule(seen));
    if (held >= 0) {
      const [hold] = holds.splice(held, 1);
      hold?.reach(seen);
      await hold?.released;
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(name))
        out[name] = value;
    });
    res.writeHead(upstream.status, out);
    res.end(body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    forwarded,
    dropped,
    dropReplies(rule, count = 1) {
      rules.push({ rule, left: count });
    },
    holdReply(rule) {
      let reach!: (req: SeenRequest) => void;
      let release!: () => void;
      const reached = new Promise<SeenRequest>((resolve) => {
        reach = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      holds.push({ rule, reach, released });
      return { reached, release };
    },
    badGateway(on) {
      gatewayBroken = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
