// PKI through the access layer against the real server, in the order of an intermediate rotation:
// root, intermediate CSR, sign, import, default issuer, issue and sign, revoke and CRL, then a
// second intermediate takes over and the first is narrowed, and tidy.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCrl } from '../../../vault/pki/crl.js';
import {
  issue,
  listCertificates,
  readCertificate,
  revoke,
  serialHex,
  signCsr,
} from '../../../vault/pki/issue.js';
import {
  generateIntermediateCsr,
  generateRoot,
  listIssuers,
  readDefaultIssuer,
  readIssuer,
  setDefaultIssuer,
  setSignedIntermediate,
  signIntermediate,
  updateIssuer,
} from '../../../vault/pki/issuers.js';
import { queryOcsp } from '../../../vault/pki/ocsp.js';
import { writeRole } from '../../../vault/pki/roles.js';
import { tidy, tidyStatus } from '../../../vault/pki/tidy.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const vault = rootClient();
const rootMount = unique('pki-root');
const intMount = unique('pki-int');
const state = { rootIssuer: '', rootInIntMount: '', firstIssuer: '', secondIssuer: '' };
const expectPresent = (id: string) => {
  expect(id, 'the root issuer imported into the intermediate mount').not.toBe('');
  return id;
};

/** One intermediate: a CSR from the intermediate mount, signed by the root mount, imported. */
async function newIntermediate(name: string): Promise<string> {
  const { csr } = await generateIntermediateCsr(vault, intMount, {
    commonName: name,
    keyType: 'ec',
    keyBits: 384,
  });
  const signed = await signIntermediate(vault, rootMount, { csr, commonName: name, ttl: '8760h' });
  const imported = await setSignedIntermediate(vault, intMount, `${signed.certificate}\n${signed.issuingCa}`);
  expect(imported.intermediateIssuer).not.toBeNull();
  // The root arrives with the chain the first time, keyless; later imports find it already there.
  if (imported.chainIssuers[0]) state.rootInIntMount = imported.chainIssuers[0];
  const issuer = await readIssuer(vault, intMount, imported.intermediateIssuer as string);
  expect(new x509.X509Certificate(issuer.certificate).subject).toBe(`CN=${name}`);
  return imported.intermediateIssuer as string;
}

beforeAll(async () => {
  await vault.write(`sys/mounts/${rootMount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await vault.write(`sys/mounts/${intMount}`, { type: 'pki', config: { max_lease_ttl: '43800h' } });
  const root = await generateRoot(vault, rootMount, {
    commonName: 'vaultops Test Root',
    keyType: 'ec',
    keyBits: 384,
    ttl: '87600h',
    issuerName: 'root-2026',
  });
  state.rootIssuer = root.issuerId;
});
afterAll(() => vault.close());

describe(`PKI on ${server().flavour}`, () => {
  it('imports a signed intermediate and makes it the default issuer', async () => {
    state.firstIssuer = await newIntermediate('vaultops Intermediate 1');
    await setDefaultIssuer(vault, intMount, state.firstIssuer);
    expect(await readDefaultIssuer(vault, intMount)).toBe(state.firstIssuer);
    const issuer = await readIssuer(vault, intMount, state.firstIssuer);
    expect(issuer.usage.split(',')).toContain('issuing-certificates');
    expect(issuer.ca_chain.length).toBeGreaterThanOrEqual(1);
  });

  it('issues a server certificate chained to the intermediate', async () => {
    await writeRole(vault, intMount, 'server', {
      allowedDomains: ['svc.vaultops.test'],
      allowSubdomains: true,
      maxTtl: '720h',
      keyType: 'ec',
      keyBits: 256,
    });
    const cert = await issue(vault, intMount, 'server', {
      commonName: 'api.svc.vaultops.test',
      altNames: ['api-internal.svc.vaultops.test'],
      ttl: '24h',
    });
    expect(cert.privateKey).toMatch(/BEGIN (EC )?PRIVATE KEY/);
    const leaf = new x509.X509Certificate(cert.certificate);
    expect(leaf.subject).toBe('CN=api.svc.vaultops.test');
    expect(leaf.issuer).toBe('CN=vaultops Intermediate 1');
    const intermediate = new x509.X509Certificate(cert.issuingCa);
    expect(await leaf.verify({ publicKey: intermediate.publicKey, signatureOnly: true })).toBe(true);
  });

  it('signs a CSR whose key never leaves the caller', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=batch.svc.vaultops.test',
      keys,
      signingAlgorithm: alg,
    });
    const cert = await signCsr(vault, intMount, 'server', {
      csr: csr.toString('pem'),
      commonName: 'batch.svc.vaultops.test',
    });
    expect(cert.privateKey).toBeUndefined();
    const issued = new x509.X509Certificate(cert.certificate);
    expect(await issued.publicKey.export()).toBeDefined();
    expect(Buffer.from(issued.publicKey.rawData).equals(Buffer.from(csr.publicKey.rawData))).toBe(true);
  });

  it('revokes a certificate and publishes it in the CRL and over OCSP', async () => {
    const cert = await issue(vault, intMount, 'server', {
      commonName: 'revoke-me.svc.vaultops.test',
      ttl: '1h',
    });
    const asked = { serialNumber: cert.serialNumber, issuerPem: cert.issuingCa };
    expect((await queryOcsp(vault, intMount, asked)).status).toBe('good');
    const revokedAt = await revoke(vault, intMount, cert.serialNumber);
    const ocspAnswer = await queryOcsp(vault, intMount, asked);
    expect(ocspAnswer.status).toBe('revoked');
    expect(Math.abs((ocspAnswer.revokedAt?.getTime() ?? 0) - revokedAt.getTime())).toBeLessThan(1000);
    expect(revokedAt.getTime()).toBeGreaterThan(0);
    expect((await readCertificate(vault, intMount, cert.serialNumber)).revokedAt).not.toBeNull();
    const crl = await fetchCrl(vault, intMount);
    expect(crl.issuer).toBe('CN=vaultops Intermediate 1');
    expect(crl.revokedSerials).toContain(serialHex(cert.serialNumber));
    expect(await listCertificates(vault, intMount)).toContain(cert.serialNumber);
  });

  it('rotates: a second intermediate takes over, the first keeps only CRL signing', async () => {
    state.secondIssuer = await newIntermediate('vaultops Intermediate 2');
    await setDefaultIssuer(vault, intMount, state.secondIssuer);
    const old = await updateIssuer(vault, intMount, state.firstIssuer, {
      usage: ['read-only', 'crl-signing'],
      leafNotAfterBehavior: 'err',
    });
    expect(old.usage.split(',').sort()).toEqual(['crl-signing', 'read-only']);
    expect(old.leaf_not_after_behavior).toBe('err');

    const fresh = await issue(vault, intMount, 'server', {
      commonName: 'after.svc.vaultops.test',
      ttl: '1h',
    });
    expect(new x509.X509Certificate(fresh.certificate).issuer).toBe('CN=vaultops Intermediate 2');
    // The old issuer may no longer issue, even when a role asks for it by name.
    await writeRole(vault, intMount, 'pinned-old', {
      allowedDomains: ['svc.vaultops.test'],
      allowSubdomains: true,
      maxTtl: '1h',
      issuerRef: state.firstIssuer,
    });
    await expect(issue(vault, intMount, 'pinned-old', { commonName: 'x.svc.vaultops.test' })).rejects.toThrow(
      /issuing-certificates|usage/i,
    );
    // Both issuers remain listed, for the trust bundle and CRLs of what the old one issued.
    const ids = (await listIssuers(vault, intMount)).map((i) => i.issuerId);
    expect(ids).toEqual(expect.arrayContaining([state.firstIssuer, state.secondIssuer]));
  });

  it('sets a manual chain on an issuer, which must have a name', async () => {
    const chain = [state.secondIssuer, expectPresent(state.rootInIntMount)];
    await expect(updateIssuer(vault, intMount, state.secondIssuer, { manualChain: chain })).rejects.toThrow(
      /name the issuer/,
    );
    const updated = await updateIssuer(vault, intMount, state.secondIssuer, {
      issuerName: 'intermediate-2',
      manualChain: chain,
    });
    expect(updated.issuer_name).toBe('intermediate-2');
    expect(updated.manual_chain).toEqual([state.secondIssuer, state.rootInIntMount]);
  });

  it('tidies the certificate store and reports the run', async () => {
    await tidy(vault, intMount, { tidyCertStore: true, tidyRevokedCerts: true, safetyBuffer: '1s' });
    let status = await tidyStatus(vault, intMount);
    for (let i = 0; i < 50 && status.state === 'Running'; i++) {
      await sleep(100);
      status = await tidyStatus(vault, intMount);
    }
    expect(status.state).toBe('Finished');
    expect(status.error).toBeNull();
  });
});
