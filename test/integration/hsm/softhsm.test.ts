// The PKCS#11 layer against a real SoftHSM2 token that the harness initialised in a temp dir.
import { verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HsmSession, openHsm } from '../../../activities/hsm/pkcs11.js';
import '../../harness/context.js';

const hsm = inject('hsm');
let session: HsmSession;

beforeAll(() => {
  process.env.SOFTHSM2_CONF = hsm.confPath;
  session = openHsm({ modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: hsm.userPin });
});
afterAll(() => session?.close());

describe('SoftHSM2 token', () => {
  it('describes the token and says ECDSA needs software hashing on SoftHSM', () => {
    const info = session.info();
    expect(info.label).toBe(hsm.label);
    expect(info.manufacturer).toContain('SoftHSM');
    expect(info.ecdsa).toBe(true);
    expect(info.ecKeyGen).toBe(true);
    expect(info.ecdsaWithHash).toBe(false);
  });

  it('signs inside the token with a P-384 key whose signature verifies outside it', () => {
    const { publicKey } = session.generateEcKeyPair('test-root-p384', 'P-384');
    const data = Buffer.from('tbsCertificate bytes would go here');
    const signature = session.signEcdsa('test-root-p384', data, 'sha384');
    expect(signature).toHaveLength(96);
    expect(verify('sha384', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(
      verify('sha384', Buffer.from('tampered'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
    ).toBe(false);
  });

  it('shares one login between sessions of the same process', () => {
    const second = openHsm({ modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: hsm.userPin });
    second.close();
    // The first session is still usable after the second one closed.
    expect(session.signEcdsa('test-root-p384', Buffer.from('x'), 'sha384')).toHaveLength(96);
  });

  it('refuses a wrong PIN and an unknown token label with errors that say what to check', () => {
    expect(() =>
      openHsm({ modulePath: hsm.modulePath, tokenLabel: 'no-such-token', pin: hsm.userPin }),
    ).toThrow(/no PKCS#11 token labelled "no-such-token"/);
    // A PIN is only checked while nobody in this process is logged in.
    session.close();
    expect(() => openHsm({ modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: 'wrong-pin' })).toThrow(
      /PIN_INCORRECT/,
    );
    session = openHsm({ modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: hsm.userPin });
    expect(session.info().label).toBe(hsm.label);
  });
});
