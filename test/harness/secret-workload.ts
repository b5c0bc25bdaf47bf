// A representative workload for the leak scan (test/integration/vault/secret-hygiene.test.ts),
// run as its own process: the real access layer against a real server, logging through
// common/logger.ts the very objects it handles (login bodies, auth answers, KV data, transit
// input), as careless code would. It makes its own secrets and tells them only to the file named
// by SECRETS_FILE (mode 0600), so the test knows what to look for and nothing else carries them.
//
// Environment: VAULT_UNDER_TEST_ADDR, VAULT_UNDER_TEST_TOKEN (the dev server's root token),
// SECRETS_FILE. Run with DEBUG=* and VAULTOPS_LOG_LEVEL=trace.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { logger } from '../../common/logger.js';
import { login } from '../../vault/auth/login.js';
import { AuthSession } from '../../vault/auth/session.js';
import { VaultClient } from '../../vault/client.js';
import { readSecret, writeSecret } from '../../vault/kv.js';
import { createKey, decrypt, encrypt } from '../../vault/transit.js';

const address = process.env.VAULT_UNDER_TEST_ADDR as string;
const rootToken = process.env.VAULT_UNDER_TEST_TOKEN as string;
const secretsFile = process.env.SECRETS_FILE as string;
const log = logger.child({ component: 'secret-workload' });

const id = () => randomBytes(4).toString('hex');
// Distinctive values, so a hit can only be a leak. Made here, never passed in.
const secrets: Record<string, string> = {
  password: `pw-${randomBytes(12).toString('hex')}`,
  kvValue: `kv-${randomBytes(12).toString('hex')}`,
  plaintext: `plain-${randomBytes(12).toString('hex')}`,
  customTokenId: `tok-${randomBytes(12).toString('hex')}`,
};
const remember = (name: string, value: string) => {
  secrets[name] = value;
  writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 });
};
remember('password', secrets.password as string);

const client = (token?: string) => {
  const c = new VaultClient({
    address,
    timeoutMs: 10_000,
    retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
  });
  if (token) c.tokens.set(token);
  return c;
};

const root = client(rootToken);
const worker = client();
const sessions: AuthSession[] = [];
try {
  // Userpass: the password in the request, the token in the answer; both logged whole.
  const userpass = `userpass-${id()}`;
  await root.write(`sys/auth/${userpass}`, { type: 'userpass' });
  const userBody = { password: secrets.password, token_policies: ['default'], token_ttl: '1h' };
  log.trace({ path: `auth/${userpass}/users/ops`, body: userBody }, 'creating a userpass user');
  await root.write(`auth/${userpass}/users/ops`, userBody);
  const userpassAuth = {
    method: 'userpass' as const,
    username: 'ops',
    password: secrets.password as string,
    mount_path: userpass,
  };
  log.debug({ auth: userpassAuth }, 'logging in with userpass');
  const viaUserpass = await login(worker, userpassAuth);
  remember('userpassToken', worker.tokens.get() as string);
  log.info({ result: viaUserpass, holder: { token: worker.tokens.get() } }, 'logged in with userpass');

  // A failed login: the error, with the password it was sent, goes to the log.
  await login(client(), { ...userpassAuth, password: `${secrets.password}-wrong` }).catch((err: unknown) =>
    log.warn({ err, tried: { ...userpassAuth, password: `${secrets.password}-wrong` } }, 'login refused'),
  );

  // AppRole: the secret_id is made by the server and logged with its response.
  const approle = `approle-${id()}`;
  await root.write(`sys/auth/${approle}`, { type: 'approle' });
  await root.write(`auth/${approle}/role/worker`, { token_policies: ['default'], token_ttl: '1h' });
  const roleId = ((await root.read(`auth/${approle}/role/worker/role-id`)) as { data: { role_id: string } })
    .data.role_id;
  const secretIdAnswer = (await root.write(`auth/${approle}/role/worker/secret-id`, {})) as {
    data: { secret_id: string; secret_id_accessor: string };
  };
  remember('secretId', secretIdAnswer.data.secret_id);
  log.trace({ response: secretIdAnswer }, 'made a secret_id');
  const session = new AuthSession(
    worker,
    [{ method: 'approle', role_id: roleId, secret_id: secretIdAnswer.data.secret_id, mount_path: approle }],
    { logger: log },
  );
  sessions.push(session);
  await session.start();
  remember('approleToken', worker.tokens.get() as string);
  log.debug({ renewedTtl: await session.renewNow(), token: worker.tokens.get() }, 'renewed the token');

  // Token create: the answer carries a client token; one with an ID we chose, too.
  const created = (await root.write('auth/token/create', { policies: ['default'], ttl: '10m' })) as {
    auth: { client_token: string };
  };
  remember('createdToken', created.auth.client_token);
  log.trace({ response: created }, 'created a token');
  log.info(`created token ${created.auth.client_token} for the worker`);
  const chosen = (await root.write('auth/token/create', {
    id: secrets.customTokenId,
    policies: ['default'],
    ttl: '10m',
  })) as object;
  // (The request's `id` is not logged: a field named just "id" cannot be told from any other id.)
  log.trace({ response: chosen }, 'created a token with a chosen id');

  // KV v2: the secret written, read back, and logged at every step.
  const path = `hygiene/${id()}`;
  const data = { db: { password: secrets.kvValue, url: `postgres://app:${secrets.kvValue}@db/app` } };
  log.trace({ mount: 'secret', path, data }, 'writing a secret');
  await writeSecret(root, 'secret', path, data);
  const read = await readSecret(root, 'secret', path);
  log.debug({ read }, 'read the secret back');

  // Transit: the plaintext in, the ciphertext out, the plaintext back.
  const transit = `transit-${id()}`;
  await root.write(`sys/mounts/${transit}`, { type: 'transit' });
  await createKey(root, transit, 'app', { type: 'aes256-gcm96' });
  const item = { plaintext: secrets.plaintext as string };
  log.trace({ item, plaintext: Buffer.from(item.plaintext).toString('base64') }, 'encrypting');
  const ciphertext = await encrypt(root, transit, 'app', item);
  const back = await decrypt(root, transit, 'app', ciphertext);
  log.debug({ ciphertext, plaintext: back.toString('utf8') }, 'decrypted');

  // Every secret in one error message, as a careless wrapper might build it.
  log.error(
    { err: new Error(`request failed with token ${secrets.createdToken} and ${worker.tokens.get()}`) },
    'a failure',
  );
  log.info('workload done');
} finally {
  for (const s of sessions) s.stop();
  await Promise.all([root.close(), worker.close()]);
}
