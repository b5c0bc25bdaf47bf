// Break-glass activities against the real server: the emergency token is created, wrapped and
// sealed to the requester's key; opened and unwrapped as `break-glass collect` does, it is an
// orphan holding the one policy with the uses and TTL asked for; the wrapping works once; a
// revocation by accessor ends it (and a second one is no error); a retried attempt revokes the
// token an earlier attempt made.
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBreakGlassActivities } from '../../../activities/break-glass/emergency-token.js';
import type { BreakGlassDelivery } from '../../../common/break-glass/break-glass.js';
import { generateRecipientKeyPair, open } from '../../../common/sealed-box.js';
import { failureType } from '../../harness/failures.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const activities = createBreakGlassActivities({ vault: root });
const policy = unique('break-glass');

beforeAll(async () => {
  await root.write(`sys/policies/acl/${policy}`, {
    policy: 'path "secret/data/incident/*" { capabilities = ["read"] }',
  });
});
afterAll(() => root.close());

const request = (workflowId: string, recipientPublicKey: string) => ({
  workflowId,
  policy,
  ttl: '10m',
  numUses: 5,
  requester: 'carol',
  recipientPublicKey,
  wrapTtl: '2m',
});

interface TokenLookup {
  data: {
    accessor: string;
    policies: string[];
    orphan: boolean;
    num_uses: number;
    ttl: number;
    explicit_max_ttl: number;
    renewable: boolean;
    meta: Record<string, string> | null;
  };
}

const lookupAccessor = async (accessor: string) =>
  (await root.put('auth/token/lookup-accessor', { accessor })) as TokenLookup;

describe(`break-glass activities on ${server().flavour}`, () => {
  it('delivers a sealed, single-use wrapping of an orphan token with the one policy, uses and TTL asked for', async () => {
    const keys = generateRecipientKeyPair();
    const workflowId = unique('break-glass-wf');
    const delivery = await activities.createBreakGlassToken(request(workflowId, keys.publicKey));
    expect(delivery.ttlSeconds).toBeLessThanOrEqual(600);
    expect(Date.parse(delivery.expiresAt) - Date.parse(delivery.createdAt)).toBe(delivery.ttlSeconds * 1000);
    const wrapLeft = Date.parse(delivery.wrapExpiresAt) - Date.now();
    expect(wrapLeft).toBeGreaterThan(60_000);
    expect(wrapLeft).toBeLessThanOrEqual(120_000);

    // Nothing in the delivery is a token: only the accessor and ciphertext.
    const text = JSON.stringify(delivery);
    expect(text).not.toMatch(/"(hvs|hvb|s|b)\.[A-Za-z0-9]{20,}/);

    // Before anyone uses it: what Vault says of the token, by its accessor.
    const before = await lookupAccessor(delivery.accessor);
    expect(before.data.num_uses).toBe(5);
    expect(before.data.meta?.vaultops_break_glass).toBe(workflowId);

    // As `break-glass collect` does it: open the box, check the wrapping, unwrap with it.
    const wrappingToken = open(keys.privateKeyPem, delivery.sealedWrappingToken);
    const wrapLookup = (await root.put('sys/wrapping/lookup', { token: wrappingToken }, { token: null })) as {
      data: { creation_path: string; creation_ttl: number };
    };
    expect(wrapLookup.data.creation_path).toBe('sys/wrapping/wrap');
    expect(wrapLookup.data.creation_ttl).toBe(120);
    const unwrapped = (await root.write('sys/wrapping/unwrap', {}, { token: wrappingToken })) as {
      data: { token: string };
    };
    const token = unwrapped.data.token;
    expect(token).toEqual(expect.any(String));
    expect(text).not.toContain(token);
    expect(text).not.toContain(wrappingToken);

    // Looked up by root: the token itself has no `default` policy, so it cannot look itself up.
    const self = (await root.put('auth/token/lookup', { token })) as TokenLookup;
    expect(self.data.accessor).toBe(delivery.accessor);
    expect(self.data.policies).toEqual([policy]);
    expect(self.data.orphan).toBe(true);
    expect(self.data.renewable).toBe(false);
    expect(self.data.explicit_max_ttl).toBe(600);
    expect(self.data.ttl).toBeGreaterThan(0);
    expect(self.data.ttl).toBeLessThanOrEqual(600);
    expect(self.data.num_uses).toBe(5); // root's lookup used none of them

    // A wrapping token works once.
    expect(await failureType(root.write('sys/wrapping/unwrap', {}, { token: wrappingToken }))).toBe(
      'VaultInvalidRequest',
    );

    // Revoked by accessor: the token is dead; revoking again is no error.
    const known = () => failureType(root.put('auth/token/lookup-accessor', { accessor: delivery.accessor }));
    expect(await known()).toBe('resolved');
    expect(await activities.revokeBreakGlassToken({ accessor: delivery.accessor })).toEqual({
      revoked: true,
    });
    expect(await known()).not.toBe('resolved');
    expect(await failureType(root.read('auth/token/lookup-self', { token }))).toBe('VaultPermissionDenied');
    expect(await activities.revokeBreakGlassToken({ accessor: delivery.accessor })).toEqual({
      revoked: false,
    });
  });

  it('refuses a key that is not an X25519 public key, before creating anything', async () => {
    const workflowId = unique('break-glass-wf');
    expect(
      await failureType(
        activities.createBreakGlassToken(request(workflowId, Buffer.from('x'.repeat(44)).toString('base64'))),
      ),
    ).toBe('InvalidBreakGlassRequest');
  });

  it("revokes an earlier attempt's token when the activity is retried", async () => {
    const keys = generateRecipientKeyPair();
    const workflowId = unique('break-glass-wf');
    const first = await activities.createBreakGlassToken(request(workflowId, keys.publicKey));
    // Its result is lost (a worker crash, say): Temporal runs the activity again, as attempt 2.
    const env = new MockActivityEnvironment({ attempt: 2 });
    const second: BreakGlassDelivery = await env.run(
      activities.createBreakGlassToken,
      request(workflowId, keys.publicKey),
    );
    expect(second.accessor).not.toBe(first.accessor);
    expect(await failureType(lookupAccessor(first.accessor))).not.toBe('resolved');
    expect((await lookupAccessor(second.accessor)).data.meta?.vaultops_break_glass).toBe(workflowId);
    await activities.revokeBreakGlassToken({ accessor: second.accessor });
  });
});
