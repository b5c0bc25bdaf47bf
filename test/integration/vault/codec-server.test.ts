// The codec server's authorisation against the real server: each request's Vault token is looked
// up as itself and must carry the codec policy. And the data keys wrapped by Vault transit.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodecServer, startCodecServer, vaultTokenAuthorizer } from '../../../client/codec-server.js';
import { EncryptionCodec } from '../../../codec/codec.js';
import { loadTransitKeys, rotateTransitKeys } from '../../../codec/transit-keys.js';
import { createKey } from '../../../vault/transit.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';

const UI = 'http://127.0.0.1:8233';
const root = rootClient();
const dir = mkdtempSync(join(tmpdir(), 'vaultops-codec-int-'));
const mount = unique('transit');
const transit = { mount, key: 'vaultops-codec', wrappedKeysFile: join(dir, 'wrapped.json') };
let codec: EncryptionCodec;
let codecServer: CodecServer;
let devServer: CodecServer;
let policy: string;
let allowed: string;
let other: string;
let uiToken: string;

beforeAll(async () => {
  await root.write(`sys/mounts/${mount}`, { type: 'transit' });
  await createKey(root, mount, 'vaultops-codec', { type: 'aes256-gcm96' });
  codec = new EncryptionCodec(await loadTransitKeys(root, transit, { create: true }));
  ({ token: allowed, policy } = await tokenWithPolicy(
    root,
    'path "auth/token/lookup-self" { capabilities = ["read"] }',
  ));
  ({ token: other } = await tokenWithPolicy(root, 'path "secret/*" { capabilities = ["read"] }'));
  const made = (await root.write('auth/token/create', { policies: [policy], ttl: '10m' })) as {
    auth: { client_token: string };
  };
  uiToken = made.auth.client_token;
  // The server's own client holds no token: each lookup runs as the request's token.
  const { VaultClient } = await import('../../../vault/client.js');
  const lookups = new VaultClient({ address: server().address, timeoutMs: 10_000 });
  codecServer = await startCodecServer({
    codec,
    allowedOrigins: [UI],
    authorize: vaultTokenAuthorizer({ vault: lookups, policy }),
  });
  devServer = await startCodecServer({
    codec,
    allowedOrigins: [UI],
    authorize: vaultTokenAuthorizer({
      vault: lookups,
      policy,
      devFallback: { origins: [UI], token: uiToken },
    }),
  });
});
afterAll(async () => {
  await codecServer?.close();
  await devServer?.close();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

const asJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

async function decode(url: string, headers: Record<string, string>) {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ server: 'OpenBao' })]);
  return fetch(`${url}/decode`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
    body: JSON.stringify({ payloads: [asJson(sealed as Payload)] }),
  });
}

describe(`codec server on ${server().flavour}`, () => {
  it('decodes for a token that carries the codec policy', async () => {
    const res = await decode(codecServer.url, { Authorization: `Bearer ${allowed}`, Origin: UI });
    expect(res.status).toBe(200);
  });

  it('refuses no token, an invalid token, and a token without the policy, with a short JSON error', async () => {
    const none = await decode(codecServer.url, { Origin: UI });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'missing "Authorization: Bearer <vault token>"' });
    const invalid = await decode(codecServer.url, { Authorization: 'Bearer s.not-a-token' });
    expect(invalid.status).toBe(401);
    expect(await invalid.json()).toEqual({ error: 'the Vault token is not valid' });
    const lacking = await decode(codecServer.url, { Authorization: `Bearer ${other}` });
    expect(lacking.status).toBe(403);
    expect(await lacking.json()).toEqual({ error: `the Vault token lacks the "${policy}" policy` });
  });

  it("dev stack: the UI's origin without a token uses the server-side token; nothing else does", async () => {
    expect((await decode(devServer.url, { Origin: UI })).status).toBe(200);
    expect((await decode(devServer.url, {})).status).toBe(401);
    expect((await decode(devServer.url, { Authorization: `Bearer ${other}`, Origin: UI })).status).toBe(403);
  });
});

describe(`data keys wrapped by transit on ${server().flavour}`, () => {
  it('stores only wrapped keys, rotates, and still opens payloads sealed under the first key', async () => {
    const stored = readFileSync(transit.wrappedKeysFile, 'utf8');
    expect(stored).toMatch(/"wrapped": "vault:v1:/);
    const [before] = await codec.encode([defaultPayloadConverter.toPayload('first')]);

    const added = await rotateTransitKeys(root, transit);
    const reloaded = await loadTransitKeys(root, transit, { create: false });
    expect(reloaded.current).toBe(added);
    expect(reloaded.keys.size).toBe(2);
    const rotated = new EncryptionCodec(reloaded);
    const [opened] = await rotated.decode([before as Payload]);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toBe('first');
  });

  it('says what to create when the transit key is missing', async () => {
    await expect(
      loadTransitKeys(
        root,
        { ...transit, key: 'missing-key', wrappedKeysFile: join(dir, 'none.json') },
        { create: true },
      ),
    ).rejects.toThrow(`vault write -f ${mount}/keys/missing-key`);
  });
});
