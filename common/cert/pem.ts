// Public facts of a certificate read from its PEM or DER, as the inventory records them and
// discovery compares them. Uses node:crypto, so it stays out of common/cert/inventory.ts, which
// workflows may import.
import { X509Certificate } from 'node:crypto';
import { type CertRecord, normalizeFingerprint, vaultSerial } from './inventory.js';

export interface CertFacts {
  /** Vault's spelling: aa:bb:cc. */
  serial: string;
  subject: string;
  issuer: string;
  /** DNS names, IP addresses, e-mail addresses and URIs, without their type prefixes. */
  sans: string[];
  notBefore: string;
  notAfter: string;
  fingerprint: string;
}

/** "CN=a\nO=b" (Node's form) as one line: "CN=a, O=b". */
const oneLine = (name: string) => name.split('\n').filter(Boolean).join(', ');

/**
 * Node lists SANs as `DNS:a, IP Address:1.2.3.4`, quoting a value JSON-style when it holds a
 * comma or quote (so a crafted SAN cannot pass for two).
 */
export function parseSubjectAltName(text: string | undefined): string[] {
  if (!text) return [];
  const sans: string[] = [];
  for (const m of text.matchAll(/(?:^|, )[A-Za-z ]+:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = m[1] ?? '';
    sans.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return sans;
}

export function certFacts(certificate: string | Buffer | X509Certificate): CertFacts {
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  return {
    serial: vaultSerial(cert.serialNumber),
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    sans: parseSubjectAltName(cert.subjectAltName),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint: normalizeFingerprint(cert.fingerprint256),
  };
}

/** An inventory record for a certificate: its facts from the PEM, the rest from the caller. */
export function certRecordFromPem(
  pem: string,
  extra: Pick<CertRecord, 'issuerId' | 'mount' | 'event' | 'recordedAt'> &
    Partial<Pick<CertRecord, 'role' | 'workflowId'>>,
): CertRecord {
  const { issuer: _issuer, ...facts } = certFacts(pem);
  return { ...facts, ...extra };
}
