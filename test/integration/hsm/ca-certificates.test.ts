// CA certificates signed inside a real SoftHSM2 token: a self-signed root (EC P-384 and RSA 4096)
// and an intermediate signed from a CSR, each checked by `openssl verify` as an independent client.
// The root key is sensitive and was never extractable; a second key under the same label, a CSR
// whose signature fails, a token key that is not the issuer's, and an intermediate that would
// outlive its root are refused.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createRootCertificate,
  nodeCrypto,
  signIntermediate,
} from '../../../activities/hsm/ca-certificates.js';
import { type HsmSession, openHsm } from '../../../activities/hsm/pkcs11.js';
import '../../harness/context.js';

const hsm = inject('hsm');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-ca-'));
const crypto = nodeCrypto;
let session: HsmSession;
const run = `${process.pid}-${Date.now()}`;

beforeAll(() => {
  process.env.SOFTHSM2_CONF = hsm.confPath;
  session = openHsm({ modulePath: hsm.modulePath, tokenLabel: hsm.label, pin: hsm.userPin });
});
afterAll(() => {
  session?.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, pem: string): string {
  const path = join(dir, name);
  writeFileSync(path, pem);
  return path;
}

function openssl(...args: string[]): { status: number | null; out: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

const years = (n: number) => new Date(Date.now() + n * 365 * 24 * 3600_000);

/** An intermediate's key and CSR, made outside the token (as Vault makes them). */
async function intermediateCsr(name: string) {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: `CN=${name}`, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
    crypto,
  );
  return { keys, csrPem: csr.toString('pem') };
}

describe('CA certificates signed in the HSM', () => {
  for (const keyType of ['ec-p384', 'rsa-4096'] as const) {
    it(`${keyType}: a self-signed root that openssl verifies, its key sensitive and never extractable`, async () => {
      const label = `root-${keyType}-${run}`;
      if (keyType === 'ec-p384') session.generateEcKeyPair(label, 'P-384');
      else session.generateRsaKeyPair(label, 4096);
      const pair = session.findKeyPair(label);
      expect(pair?.type).toEqual(
        keyType === 'ec-p384' ? { kind: 'ec', curve: 'P-384' } : { kind: 'rsa', bits: 4096 },
      );
      expect(pair?.facts).toEqual({ sensitive: true, extractable: false, neverExtractable: true });

      const rootPem = await createRootCertificate(session, {
        keyLabel: label,
        subject: `CN=vaultops test root ${keyType}, O=vaultops`,
        notBefore: new Date(),
        notAfter: years(10),
      });
      const root = file(`${label}.pem`, rootPem);
      const verified = openssl('verify', '-CAfile', root, root);
      expect(verified.out).toContain(': OK');
      expect(verified.status).toBe(0);
      const text = openssl('x509', '-in', root, '-noout', '-text').out;
      expect(text).toMatch(/CA:TRUE/);
      expect(text).toMatch(/Certificate Sign, CRL Sign/);
      expect(text).toMatch(keyType === 'ec-p384' ? /ecdsa-with-SHA384/ : /sha384WithRSAEncryption/);
      // The certificate's key is the token's key (what "adopt an existing root" relies on).
      const cert = new x509.X509Certificate(rootPem);
      expect(Buffer.from(cert.publicKey.rawData)).toEqual(
        pair?.publicKey.export({ format: 'der', type: 'spki' }),
      );

      // A second key under the same label would make the root ambiguous.
      expect(() =>
        keyType === 'ec-p384'
          ? session.generateEcKeyPair(label, 'P-384')
          : session.generateRsaKeyPair(label, 2048),
      ).toThrow(/already on the token/);
    });
  }

  it('signs an intermediate from its CSR; a leaf of the intermediate verifies to the root', async () => {
    const label = `root-chain-${run}`;
    session.generateEcKeyPair(label, 'P-384');
    const rootPem = await createRootCertificate(session, {
      keyLabel: label,
      subject: 'CN=vaultops chain root',
      notBefore: new Date(),
      notAfter: years(10),
    });
    const { keys, csrPem } = await intermediateCsr('vaultops chain intermediate');
    const interPem = await signIntermediate(session, {
      issuerPem: rootPem,
      issuerKeyLabel: label,
      csrPem,
      notBefore: new Date(),
      notAfter: years(5),
    });
    const root = file('chain-root.pem', rootPem);
    const inter = file('chain-inter.pem', interPem);
    const interCheck = openssl('verify', '-CAfile', root, inter);
    expect(interCheck.out).toContain(': OK');
    const text = openssl('x509', '-in', inter, '-noout', '-text').out;
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Issuer: CN\s*=\s*vaultops chain root/);

    // A leaf signed by the intermediate's own key (outside the token) chains up to the root.
    const leafKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create(
      {
        subject: 'CN=app.example.test',
        issuer: 'CN=vaultops chain intermediate',
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        notBefore: new Date(),
        notAfter: years(1),
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
      },
      crypto,
    );
    const leafCheck = openssl(
      'verify',
      '-CAfile',
      root,
      '-untrusted',
      inter,
      file('leaf.pem', leaf.toString('pem')),
    );
    expect(leafCheck.out).toContain(': OK');
    // Without the root the chain does not verify: the check can fail.
    expect(openssl('verify', '-CAfile', inter, file('leaf2.pem', leaf.toString('pem'))).status).not.toBe(0);
  });

  it('refuses a CSR that does not verify, a token key that is not the issuer, and an intermediate outliving its root', async () => {
    const label = `root-refuse-${run}`;
    const other = `other-${run}`;
    session.generateEcKeyPair(label, 'P-384');
    session.generateEcKeyPair(other, 'P-384');
    const rootPem = await createRootCertificate(session, {
      keyLabel: label,
      subject: 'CN=vaultops refusing root',
      notBefore: new Date(),
      notAfter: years(3),
    });
    const { csrPem } = await intermediateCsr('vaultops refused intermediate');
    const base = {
      issuerPem: rootPem,
      issuerKeyLabel: label,
      csrPem,
      notBefore: new Date(),
      notAfter: years(2),
    };

    // One flipped byte in the CSR's signature.
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0xff;
    const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
    await expect(signIntermediate(session, { ...base, csrPem: tampered })).rejects.toThrow(/CSR signature/);
    await expect(signIntermediate(session, { ...base, issuerKeyLabel: other })).rejects.toThrow(
      /not the key of the issuer/,
    );
    await expect(signIntermediate(session, { ...base, notAfter: years(4) })).rejects.toThrow(
      /outlive its issuer/,
    );
    await expect(signIntermediate(session, base)).resolves.toContain('BEGIN CERTIFICATE');
  });
});
