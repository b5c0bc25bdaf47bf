// The codec server as the Temporal UI calls it (spawned in-process, a stand-in authorizer: the
// Vault token check runs against a real OpenBao in test/integration/vault/codec-server.test.ts),
// and the `codec:` section of the configuration.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodecServer, startCodecServer } from '../../client/codec-server.js';
import { EncryptionCodec } from '../../codec/codec.js';
import { parseConfig } from '../../common/config/parse.js';
import { configProblems } from './fixtures.js';

const UI = 'http://127.0.0.1:8233';
const codec = new EncryptionCodec({
  current: 'k1',
  keys: new Map([['k1', randomBytes(32)]]),
  source: 'test',
});
let server: CodecServer;

beforeAll(async () => {
  server = await startCodecServer({
    codec,
    allowedOrigins: [UI],
    authorize: async (req) =>
      req.headers.authorization === 'Bearer good'
        ? { ok: true, who: 'tester' }
        : { ok: false, status: 401, error: 'missing "Authorization: Bearer <vault token>"' },
  });
});
afterAll(() => server.close());

/** A payload as the UI holds it: base64 strings, as protobuf JSON gives them. */
const asJson = (p: { metadata?: Record<string, Uint8Array | null> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: UI, ...headers },
    body: JSON.stringify(body),
  });

describe('codec server', () => {
  it("decodes the UI's request shape, with CORS for the UI's origin", async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ server: 'OpenBao 2.7.2' })]);
    // The UI's newer builds add ?preserveStorageRefs=true; only the last path segment counts.
    const res = await post(
      '/decode?preserveStorageRefs=true',
      { payloads: [asJson(sealed ?? {})] },
      {
        Authorization: 'Bearer good',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const { payloads } = (await res.json()) as {
      payloads: { metadata: Record<string, string>; data: string }[];
    };
    expect(Buffer.from(payloads[0]?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(payloads[0]?.data ?? '', 'base64').toString())).toEqual({
      server: 'OpenBao 2.7.2',
    });
  });

  it('encodes too, into binary/encrypted payloads', async () => {
    const plain = asJson(defaultPayloadConverter.toPayload('hello'));
    const res = await post('/encode', { payloads: [plain] }, { Authorization: 'Bearer good' });
    const { payloads } = (await res.json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(payloads[0]?.metadata.encoding ?? '', 'base64').toString()).toBe('binary/encrypted');
  });

  it('answers the preflight with the headers the UI sends', async () => {
    const res = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: UI, 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    for (const h of ['X-Namespace', 'Content-Type', 'Authorization']) {
      expect(res.headers.get('access-control-allow-headers')).toContain(h);
    }
  });

  it('refuses other origins, requests without a token, and bodies of another shape', async () => {
    const other = await post(
      '/decode',
      { payloads: [] },
      { Origin: 'http://evil.example', Authorization: 'Bearer good' },
    );
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const anonymous = await post('/decode', { payloads: [] });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'missing "Authorization: Bearer <vault token>"' });
    const bad = await post('/decode', { nope: 1 }, { Authorization: 'Bearer good' });
    expect(bad.status).toBe(400);
  });

  it('answers a payload it cannot open with 422 and why', async () => {
    const other = new EncryptionCodec({
      current: 'k9',
      keys: new Map([['k9', randomBytes(32)]]),
      source: 'x',
    });
    const [sealed] = await other.encode([defaultPayloadConverter.toPayload(1)]);
    const res = await post('/decode', { payloads: [asJson(sealed ?? {})] }, { Authorization: 'Bearer good' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toContain('key "k9"');
  });
});

describe('codec: configuration', () => {
  const withCodec = (codecYaml: string) =>
    parseConfig(`vault_integration:\n  address: "http://127.0.0.1:8200"\ncodec:\n${codecYaml}`, {});

  it('takes a key file or transit-wrapped keys', () => {
    expect(withCodec('  key_file: /var/lib/vaultops/keys.json').codec).toEqual({
      kind: 'key_file',
      key_file: '/var/lib/vaultops/keys.json',
    });
    expect(withCodec('  transit_key: vaultops-codec\n  wrapped_keys_file: /k.json').codec).toEqual({
      kind: 'transit',
      transit_mount: 'transit',
      transit_key: 'vaultops-codec',
      wrapped_keys_file: '/k.json',
    });
    expect(parseConfig(undefined, {}).codec).toBeUndefined();
  });

  it('names the field and the fix', () => {
    expect(configProblems(() => withCodec('  key_file: /k.json\n  transit_key: x'))).toEqual([
      'codec.key_file: give either key_file (a local key file) or transit_key with wrapped_keys_file (keys wrapped by Vault transit), not both',
    ]);
    expect(configProblems(() => withCodec('  transit_key: vaultops-codec'))[0]).toMatch(
      /^codec\.wrapped_keys_file: is required with Vault transit keys/,
    );
    expect(configProblems(() => withCodec('  keyfile: /k.json'))[0]).toMatch(
      /^codec: unknown field "keyfile"/,
    );
    expect(configProblems(() => withCodec('  {}'))).toEqual([
      'codec: give key_file: <path>, or transit_key: "vaultops-codec" with wrapped_keys_file: <path>',
    ]);
  });
});
