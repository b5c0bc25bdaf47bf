// Token continuity against the real server: 16 callers read and write for 30 s while the session
// renews and logs in again every few hundred milliseconds. No call may fail (the client retries
// nothing here, so nothing is masked), and every superseded token ends up revoked.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthSession } from '../../../vault/auth/session.js';
import { VaultClient } from '../../../vault/client.js';
import { readSecret, writeSecret } from '../../../vault/kv.js';
import { failureType } from '../../harness/failures.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const authMount = unique('approle');
const kvMount = unique('kv');
const RUN_MS = 30_000;
const CALLERS = 16;
let roleId = '';
let secretId = '';

beforeAll(async () => {
  await root.write(`sys/auth/${authMount}`, { type: 'approle' });
  await root.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  const policy = unique('kv-rw');
  await root.write(`sys/policies/acl/${policy}`, {
    policy: `path "${kvMount}/*" { capabilities = ["create", "read", "update", "list"] }`,
  });
  // Short lifetimes, so the session's own timers renew (at 2/3 of 3 s) and re-login (max TTL 5 s)
  // besides the forced swaps below.
  await root.write(`auth/${authMount}/role/worker`, {
    token_policies: ['default', policy],
    token_ttl: '3s',
    token_max_ttl: '5s',
  });
  roleId = ((await root.read(`auth/${authMount}/role/worker/role-id`)) as { data: { role_id: string } }).data
    .role_id;
  secretId = (
    (await root.write(`auth/${authMount}/role/worker/secret-id`, {})) as { data: { secret_id: string } }
  ).data.secret_id;
  await writeSecret(root, kvMount, 'shared', { value: 'steady' });
});

afterAll(() => root.close());

describe(`token continuity on ${server().flavour}`, () => {
  it(
    `${CALLERS} callers for ${RUN_MS / 1000} s through renewals and re-logins every few hundred ms: no failed call`,
    async () => {
      const client = new VaultClient({
        address: server().address,
        retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 },
      });
      const session = new AuthSession(client, [
        { method: 'approle', role_id: roleId, secret_id: secretId, mount_path: authMount },
      ]);
      const accessors = new Set<string>();
      const first = await session.start();
      if (first.accessor) accessors.add(first.accessor);
      let running = true;
      const failures = new Map<string, number>();
      let calls = 0;

      const callers = Array.from({ length: CALLERS }, async (_, n) => {
        for (let i = 0; running; i++) {
          try {
            if (i % 2 === 0) await writeSecret(client, kvMount, `caller-${n}`, { i });
            else expect((await readSecret(client, kvMount, 'shared')).data.value).toBe('steady');
            calls += 1;
          } catch (err) {
            const why = err instanceof Error ? err.message : String(err);
            failures.set(why, (failures.get(why) ?? 0) + 1);
          }
        }
      });
      // Swaps every 250 ms, alternating a renewal and a fresh login.
      const churn = (async () => {
        for (let i = 0; running; i++) {
          await sleep(250);
          if (i % 2 === 0) await session.renewNow();
          else {
            const result = await session.reloginNow();
            if (result.accessor) accessors.add(result.accessor);
          }
        }
      })();

      await sleep(RUN_MS);
      running = false;
      await Promise.all([...callers, churn]);
      session.stop();
      const current = session.current?.accessor;

      process.stdout.write(
        `token continuity (${server().flavour}): ${calls} calls, ${[...failures.values()].reduce((a, b) => a + b, 0)} failed; ` +
          `${session.logins} logins, ${session.renewals} renewals\n`,
      );
      expect(Object.fromEntries(failures)).toEqual({});
      expect(calls).toBeGreaterThan(1000);
      expect(session.logins).toBeGreaterThan(40);

      // Every token we minted and replaced is revoked once its requests ended; the current lives.
      await sleep(500);
      expect(client.tokens.supersededInUse).toBe(0);
      const superseded = [...accessors].filter((a) => a !== current);
      expect(superseded.length).toBeGreaterThan(20);
      const alive = await Promise.all(
        superseded.map((accessor) => failureType(root.write('auth/token/lookup-accessor', { accessor }))),
      );
      expect(alive.filter((outcome) => outcome === 'resolved')).toEqual([]);
      expect(await failureType(root.write('auth/token/lookup-accessor', { accessor: current }))).toBe(
        'resolved',
      );
      await client.close();
    },
    RUN_MS + 30_000,
  );
});
