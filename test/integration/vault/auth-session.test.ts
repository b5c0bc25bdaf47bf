// The auth session against the real server: fallback between methods, renewal at 2/3 of the TTL,
// and a fresh login when renewal reaches the max TTL, with no call failing along the way.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthSession } from '../../../vault/auth/session.js';
import { VaultClient } from '../../../vault/client.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const mount = unique('approle');
let roleId = '';
let secretId = '';
const clients: VaultClient[] = [];
const sessions: AuthSession[] = [];

beforeAll(async () => {
  await root.write(`sys/auth/${mount}`, { type: 'approle' });
  // Short lifetimes so the whole cycle fits in seconds: renewals at 4 s and 8 s; the one at 8 s
  // gets only 5 s (max TTL 13 s), so the session logs in afresh at about 11.3 s.
  await root.write(`auth/${mount}/role/worker`, {
    token_policies: ['default'],
    token_ttl: '6s',
    token_max_ttl: '13s',
  });
  roleId = ((await root.read(`auth/${mount}/role/worker/role-id`)) as { data: { role_id: string } }).data
    .role_id;
  secretId = (
    (await root.write(`auth/${mount}/role/worker/secret-id`, {})) as { data: { secret_id: string } }
  ).data.secret_id;
});

afterAll(async () => {
  for (const s of sessions) s.stop();
  await Promise.all([...clients, root].map((c) => c.close()));
});

function session(methods: ConstructorParameters<typeof AuthSession>[1], log: string[] = []) {
  const client = new VaultClient({
    address: server().address,
    retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
  });
  clients.push(client);
  const logger = {
    info: (o: object, msg?: string) => log.push(`info ${msg} ${JSON.stringify(o)}`),
    warn: (o: object, msg?: string) => log.push(`warn ${msg} ${JSON.stringify(o)}`),
    error: (o: object, msg?: string) => log.push(`error ${msg} ${JSON.stringify(o)}`),
  } as never;
  const s = new AuthSession(client, methods, { logger });
  sessions.push(s);
  return { client, session: s, log };
}

const accessor = async (client: VaultClient) =>
  ((await client.read('auth/token/lookup-self')) as { data: { accessor: string } }).data.accessor;

describe(`auth session on ${server().flavour}`, () => {
  it('falls back to the next method when one fails, and logs why', async () => {
    const {
      client,
      session: s,
      log,
    } = session([
      { method: 'userpass', username: 'nobody', password: 'wrong', mount_path: unique('missing') },
      { method: 'approle', role_id: roleId, secret_id: secretId, mount_path: mount },
    ]);
    const result = await s.start();
    expect(result.method).toBe('approle');
    expect(
      log.some(
        (l) => l.startsWith('warn Vault auth method failed; trying the next one') && l.includes('userpass'),
      ),
    ).toBe(true);
    expect(log.join('\n')).not.toContain(secretId);
    expect(await accessor(client)).toBe(result.accessor);
  });

  it('says every reason when every method fails', async () => {
    const { session: s } = session([
      { method: 'approle', role_id: 'x', secret_id: 'y', mount_path: mount },
      { method: 'token', token: 'not-a-token' },
    ]);
    await expect(s.start()).rejects.toThrow(
      /every Vault auth method failed: approle: .+; token: .+permission denied/,
    );
  });

  it('renews at 2/3 of the TTL, logs in afresh at the max TTL, and no call fails meanwhile', async () => {
    const { client, session: s } = session([
      { method: 'approle', role_id: roleId, secret_id: secretId, mount_path: mount },
    ]);
    const first = await s.start();
    expect(first.ttlSeconds).toBe(6);
    let failures = 0;
    let calls = 0;
    const deadline = Date.now() + 14_000;
    while (Date.now() < deadline) {
      calls += 1;
      await client.read('auth/token/lookup-self').catch(() => {
        failures += 1;
      });
      await sleep(100);
    }
    expect(calls).toBeGreaterThan(50);
    expect(failures).toBe(0);
    expect(s.renewals).toBeGreaterThanOrEqual(2);
    expect(s.logins).toBeGreaterThanOrEqual(2);
    expect(await accessor(client)).not.toBe(first.accessor);
  }, 30_000);
});
