// Login and the error taxonomy against the real server.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../client/stack/ports.js';
import { login } from '../../../vault/auth/login.js';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';

const root = rootClient();
const clients: VaultClient[] = [root];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});
// No client-side retries here: these tests are about how one answer is classified.
const fresh = (address = server().address) => {
  const c = new VaultClient({
    address,
    timeoutMs: 5000,
    retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
  });
  clients.push(c);
  return c;
};

async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe(`auth on ${server().flavour}`, () => {
  it('logs in with a token and learns its policies without keeping the token anywhere but the client', async () => {
    const { token, policy } = await tokenWithPolicy(root, 'path "sys/mounts" { capabilities = ["read"] }');
    const client = fresh();
    const result = await login(client, { method: 'token', token });
    expect(result.method).toBe('token');
    expect(result.policies.sort()).toEqual(['default', policy].sort());
    expect(result.ttlSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(result)).not.toContain(token);
    expect(client.tokens.get()).toBe(token);
  });

  it('logs in with AppRole', async () => {
    const mount = unique('approle');
    await root.write(`sys/auth/${mount}`, { type: 'approle' });
    await root.write(`auth/${mount}/role/worker`, { token_policies: ['default'], token_ttl: '5m' });
    const roleId = ((await root.read(`auth/${mount}/role/worker/role-id`)) as { data: { role_id: string } })
      .data.role_id;
    const secretId = (
      (await root.write(`auth/${mount}/role/worker/secret-id`, {})) as { data: { secret_id: string } }
    ).data.secret_id;
    const client = fresh();
    const result = await login(client, {
      method: 'approle',
      role_id: roleId,
      secret_id: secretId,
      mount_path: mount,
    });
    expect(result).toMatchObject({ method: 'approle', renewable: true, ttlSeconds: 300 });
    expect(client.tokens.get()).toMatch(/^(hvs|s)\./);
  });

  it('maps a rejected token to a non-retryable permission-denied failure', async () => {
    const failure = await failureOf(login(fresh(), { method: 'token', token: 'not-a-real-token' }));
    expect(failure.type).toBe(VaultErrorType.PermissionDenied);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('GET auth/token/lookup-self');
    expect(failure.message).not.toContain('not-a-real-token');
  });

  it('rejects a bad AppRole login without echoing the secret', async () => {
    const mount = unique('approle');
    await root.write(`sys/auth/${mount}`, { type: 'approle' });
    const failure = await failureOf(
      login(fresh(), {
        method: 'approle',
        role_id: 'no-such-role',
        secret_id: 'super-secret-guess',
        mount_path: mount,
      }),
    );
    expect([VaultErrorType.InvalidRequest, VaultErrorType.PermissionDenied]).toContain(failure.type);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain('super-secret-guess');
  });

  it('maps a path nobody mounted to not-found and a denied path to permission-denied', async () => {
    expect((await failureOf(root.read(`${unique('nothing')}/here`))).type).toBe(VaultErrorType.NotFound);
    const limited = fresh();
    limited.tokens.set((await tokenWithPolicy(root, 'path "sys/health" { capabilities = ["read"] }')).token);
    const denied = await failureOf(limited.read('sys/mounts'));
    expect(denied.type).toBe(VaultErrorType.PermissionDenied);
    expect(denied.nonRetryable).toBe(true);
  });

  it('maps an address where nothing listens to a retryable unavailable failure', async () => {
    const failure = await failureOf(fresh(`http://127.0.0.1:${await freePort()}`).read('sys/health'));
    expect(failure.type).toBe(VaultErrorType.Unavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });
});
