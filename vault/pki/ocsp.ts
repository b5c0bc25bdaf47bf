// OCSP, in one place: the request (RFC 6960 GET form, a SHA-1 CertID as responders expect), the
// response parsed down to the one certificate asked about, and — for queryOcspVerified — the
// response's signature checked against the issuer or a responder it delegated to.
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import * as ocsp from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import type { VaultClient } from '../client.js';
import { VaultErrorType, vaultFailure } from '../errors.js';
import { vaultPath } from '../paths.js';
import { serialHex } from './issue.js';
import { x509 } from './x509.js';

export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  revokedAt: Date | null;
  thisUpdate: Date;
  nextUpdate: Date | null;
}

export interface VerifiedOcspAnswer extends OcspAnswer {
  /** The response's signature verified: by the issuer itself, or by a responder it delegated to. */
  signedBy: 'issuer' | 'delegated-responder';
}

export interface OcspQuestion {
  serialNumber: string;
  issuerPem: string;
}

/**
 * Asks the mount's OCSP responder about one certificate and checks the answer is about that
 * certificate. The signature is not checked: use queryOcspVerified where the answer is evidence.
 */
export async function queryOcsp(
  vault: VaultClient,
  mount: string,
  request: OcspQuestion,
): Promise<OcspAnswer> {
  const issuerCert = new x509.X509Certificate(request.issuerPem);
  const basic = await askResponder(vault, mount, issuerCert, request.serialNumber);
  return answerAbout(basic, mount, request.serialNumber);
}

/**
 * queryOcsp, and the response's signature checked: made by the issuer's key over the response
 * data, or by a responder certificate in the response that the issuer signed for OCSP signing.
 * An answer no one we trust signed is a BadResponse, whatever it says.
 */
export async function queryOcspVerified(
  vault: VaultClient,
  mount: string,
  request: OcspQuestion,
): Promise<VerifiedOcspAnswer> {
  const issuerCert = new x509.X509Certificate(request.issuerPem);
  const basic = await askResponder(vault, mount, issuerCert, request.serialNumber);
  const signedBy = await signerOf(basic, issuerCert, mount);
  return { ...answerAbout(basic, mount, request.serialNumber), signedBy };
}

/** Where an OCSP failure happened, as vaultFailure reports it. */
const responderAt = (mount: string) => ({
  method: 'GET',
  path: `${mount}/ocsp`,
  status: 200,
  namespace: null,
});

/** An unsigned integer's DER content bytes: a leading 0x00 keeps a high first bit positive. */
function integerBytes(hex: string): ArrayBuffer {
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const content = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength) as ArrayBuffer;
}

const sha1 = (data: ArrayBuffer | Uint8Array) =>
  new Uint8Array(createHash('sha1').update(new Uint8Array(data)).digest());

/** Sends the OCSP request for one serial and returns the responder's successful basic response. */
async function askResponder(
  vault: VaultClient,
  mount: string,
  issuerCert: x509.X509Certificate,
  serialNumber: string,
): Promise<ocsp.BasicOCSPResponse> {
  const issuer = AsnConvert.parse(issuerCert.rawData, Certificate);
  const certId = new ocsp.CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(issuer.tbsCertificate.subject))),
    issuerKeyHash: new OctetString(sha1(issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: integerBytes(serialHex(serialNumber)),
  });
  const der = AsnConvert.serialize(
    new ocsp.OCSPRequest({
      tbsRequest: new ocsp.TBSRequest({ requestList: [new ocsp.Request({ reqCert: certId })] }),
    }),
  );
  const { body } = await vault.requestRaw(
    `${vaultPath`${mount}/ocsp`}/${encodeURIComponent(Buffer.from(der).toString('base64'))}`,
  );
  const answer = AsnConvert.parse(new Uint8Array(body), ocsp.OCSPResponse);
  if (answer.responseStatus !== ocsp.OCSPResponseStatus.successful || !answer.responseBytes)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: responder status ${answer.responseStatus}`,
      responderAt(mount),
    );
  return AsnConvert.parse(answer.responseBytes.response.buffer, ocsp.BasicOCSPResponse);
}

/** The response's status for the serial asked about (a response about another is refused). */
function answerAbout(basic: ocsp.BasicOCSPResponse, mount: string, serialNumber: string): OcspAnswer {
  const single = basic.tbsResponseData.responses.find(
    (r) =>
      Buffer.from(r.certID.serialNumber).toString('hex').replace(/^0+/, '') ===
      serialHex(serialNumber).replace(/^0+/, ''),
  );
  if (!single)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: the answer is not about serial ${serialNumber}`,
      responderAt(mount),
    );
  const cs = single.certStatus;
  return {
    status: cs.good !== undefined ? 'good' : cs.revoked ? 'revoked' : 'unknown',
    revokedAt: cs.revoked ? new Date(cs.revoked.revocationTime) : null,
    thisUpdate: new Date(single.thisUpdate),
    nextUpdate: single.nextUpdate ? new Date(single.nextUpdate) : null,
  };
}

/** Signature algorithms an OCSP responder may use, as node:crypto's verify takes them. */
const OCSP_SIGNATURE_HASHES: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null, // Ed25519 hashes itself
};

const OCSP_SIGNING_EKU = '1.3.6.1.5.5.7.3.9';

/** Who signed the response: the issuer, or a responder the issuer signed for OCSP signing. */
async function signerOf(
  basic: ocsp.BasicOCSPResponse,
  issuerCert: x509.X509Certificate,
  mount: string,
): Promise<VerifiedOcspAnswer['signedBy']> {
  const hash = OCSP_SIGNATURE_HASHES[basic.signatureAlgorithm.algorithm];
  if (hash === undefined)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: signature algorithm ${basic.signatureAlgorithm.algorithm} is not one we verify`,
      responderAt(mount),
    );
  const signed = new Uint8Array(basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData));
  const signature = new Uint8Array(basic.signature);
  const verifies = (pem: x509.X509Certificate) =>
    cryptoVerify(hash, signed, createPublicKey(pem.toString('pem')), signature);
  if (verifies(issuerCert)) return 'issuer';
  for (const raw of basic.certs ?? []) {
    const responder = new x509.X509Certificate(AsnConvert.serialize(raw));
    const eku = responder.getExtension(x509.ExtendedKeyUsageExtension);
    const delegated =
      (await responder.verify({ publicKey: issuerCert.publicKey, signatureOnly: true })) &&
      responder.issuer === issuerCert.subject &&
      (eku?.usages as string[] | undefined)?.includes(OCSP_SIGNING_EKU);
    if (delegated && verifies(responder)) return 'delegated-responder';
  }
  throw vaultFailure(
    VaultErrorType.BadResponse,
    `${mount}/ocsp: the response's signature does not verify against the issuer ${issuerCert.subject}`,
    responderAt(mount),
  );
}
