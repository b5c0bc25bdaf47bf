// Token renewal through the auth session vs a raw renew-self over undici (seed 003: < 100 ms).
import { Pool } from 'undici';
import type { VaultDevServer } from '../client/stack/vault-dev.js';
import { AuthSession } from '../vault/auth/session.js';
import { VaultClient } from '../vault/client.js';
import { latency, printLatency } from './lib.js';

export async function benchTokenRenewal(server: VaultDevServer, options: { iterations: number }) {
  const root = new VaultClient({ address: server.address });
  root.tokens.set(server.rootToken);
  const pool = new Pool(server.address, { connections: 1 });
  const session = new VaultClient({ address: server.address });
  try {
    const token = async () =>
      (
        (await root.write('auth/token/create', { policies: ['default'], ttl: '1h', renewable: true })) as {
          auth: { client_token: string };
        }
      ).auth.client_token;
    const rawToken = await token();
    const iterations = Math.min(options.iterations, 500);
    process.stdout.write('\n# Token renewal (seed 003: < 100 ms)\n');
    const raw = await latency(
      async () =>
        (
          await pool.request({
            method: 'POST',
            path: '/v1/auth/token/renew-self',
            headers: { 'x-vault-token': rawToken, 'content-type': 'application/json' },
            body: '{}',
          })
        ).body.json(),
      iterations,
      20,
    );
    printLatency('raw undici: renew-self (baseline)', raw);
    const auth = new AuthSession(session, [{ method: 'token', token: await token() }]);
    await auth.start();
    auth.stop(); // renew by hand only
    printLatency('AuthSession: renewNow', await latency(() => auth.renewNow(), iterations, 20), raw);
  } finally {
    await pool.close();
    await Promise.all([root.close(), session.close()]);
  }
}
