// Certificates signed by a key that lives in the HSM: the self-signed root, and (for bootstrap and
// rotation) intermediates signed from a CSR. @peculiar/x509 builds and encodes the certificate; its
// one call that needs the private key, `subtle.sign`, is routed to the token, so the key never
// leaves it. Everything else (serial numbers, key identifiers) uses node's WebCrypto.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { type KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { HsmKeyType, HsmSession } from './pkcs11.js';

type Hash = 'sha256' | 'sha384';
/** WebCrypto as @peculiar/x509 takes it (the DOM type, which node's lib settings do not name). */
export type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
export const nodeCrypto = webcrypto as unknown as X509Crypto;

/** The signature algorithm a CA key signs with: SHA-384 for P-384 and RSA >= 3072, else SHA-256. */
export function signingHash(type: HsmKeyType): Hash {
  if (type.kind === 'ec') return type.curve === 'P-384' ? 'sha384' : 'sha256';
  return type.bits >= 3072 ? 'sha384' : 'sha256';
}

/**
 * A WebCrypto `Crypto` whose `sign` runs inside the token with the key labelled `keyLabel`; every
 * other call is node's. The signing "CryptoKey" is only a description of the token's key.
 */
function tokenCrypto(session: HsmSession, keyLabel: string, type: HsmKeyType) {
  const hash = signingHash(type);
  const subtle = Object.create(webcrypto.subtle) as typeof webcrypto.subtle;
  subtle.sign = async (_algorithm, _key, data) => {
    const bytes = Buffer.from(data as ArrayBuffer);
    const signature =
      type.kind === 'ec'
        ? session.signEcdsa(keyLabel, bytes, hash)
        : session.signRsaPkcs1(keyLabel, bytes, hash);
    return signature.buffer.slice(
      signature.byteOffset,
      signature.byteOffset + signature.byteLength,
    ) as ArrayBuffer;
  };
  const crypto = {
    subtle,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as unknown as X509Crypto;
  const algorithm =
    type.kind === 'ec'
      ? { name: 'ECDSA', namedCurve: type.curve, hash: hash === 'sha384' ? 'SHA-384' : 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: hash === 'sha384' ? 'SHA-384' : 'SHA-256' };
  const signingKey = {
    algorithm,
    type: 'private',
    extractable: false,
    usages: ['sign'],
  } as unknown as webcrypto.CryptoKey;
  return { crypto, signingKey, signingAlgorithm: algorithm };
}

const spkiOf = (key: KeyObject) => new x509.PublicKey(key.export({ format: 'der', type: 'spki' }));

export interface RootCertificateRequest {
  /** The token key's label; the key pair must already be on the token. */
  keyLabel: string;
  /** The subject, e.g. `CN=Example Root CA R1, O=Example`. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed CA certificate for the token key labelled `keyLabel` (PEM). */
export async function createRootCertificate(
  session: HsmSession,
  request: RootCertificateRequest,
): Promise<string> {
  const pair = session.findKeyPair(request.keyLabel);
  if (!pair) throw new Error(`no key pair labelled "${request.keyLabel}" on the token`);
  const { crypto, signingKey, signingAlgorithm } = tokenCrypto(session, request.keyLabel, pair.type);
  const publicKey = spkiOf(pair.publicKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey, false, nodeCrypto);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: request.subject,
      issuer: request.subject,
      publicKey,
      signingKey,
      signingAlgorithm,
      notBefore: request.notBefore,
      notAfter: request.notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ski,
        new x509.AuthorityKeyIdentifierExtension(ski.keyId),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}

export interface SignIntermediateRequest {
  /** The issuing CA's certificate (PEM) and its key's label on the token. */
  issuerPem: string;
  issuerKeyLabel: string;
  /** The intermediate's CSR (PEM), generated where its key lives (Vault). */
  csrPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Path length under the intermediate (0: it issues leaves only). */
  pathLength?: number | undefined;
}

/**
 * Signs an intermediate CA's CSR with the token key. The CSR's own signature is checked first
 * (proof that its requester holds the key); its subject and public key are taken as they are.
 */
export async function signIntermediate(
  session: HsmSession,
  request: SignIntermediateRequest,
): Promise<string> {
  const issuer = new x509.X509Certificate(request.issuerPem);
  const csr = new x509.Pkcs10CertificateRequest(request.csrPem);
  if (!(await csr.verify(nodeCrypto)))
    throw new Error('the CSR signature does not verify: it was altered or its key is not the requester');
  const pair = session.findKeyPair(request.issuerKeyLabel);
  if (!pair) throw new Error(`no key pair labelled "${request.issuerKeyLabel}" on the token`);
  const issuerSpki = spkiOf(pair.publicKey);
  if (Buffer.compare(Buffer.from(issuerSpki.rawData), Buffer.from(issuer.publicKey.rawData)) !== 0)
    throw new Error(`the token key "${request.issuerKeyLabel}" is not the key of the issuer certificate`);
  if (request.notAfter > issuer.notAfter)
    throw new Error(`the intermediate would outlive its issuer (${issuer.notAfter.toISOString()})`);
  const { crypto, signingKey, signingAlgorithm } = tokenCrypto(session, request.issuerKeyLabel, pair.type);
  const issuerSki = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: csr.subjectName,
      issuer: issuer.subjectName,
      publicKey: csr.publicKey,
      signingKey,
      signingAlgorithm,
      notBefore: request.notBefore,
      notAfter: request.notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(true, request.pathLength ?? 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, nodeCrypto),
        ...(issuerSki ? [new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId)] : []),
      ],
    },
    crypto,
  );
  return certificate.toString('pem');
}
