// Leaf certificates: issue (Vault makes the key), sign a CSR (the caller holds the key), revoke,
// and the certificates a mount stores. `issue` returns a private key to its caller, who must
// deliver it and not pass it on to a workflow.
import { z } from 'zod';
import { inBatches } from '../batch.js';
import type { VaultClient } from '../client.js';
import { exactlyOnce } from '../exactly-once.js';
import { segment, vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';
import { x509 } from './x509.js';

const issuedSchema = z.object({
  data: z.object({
    certificate: z.string(),
    issuing_ca: z.string(),
    ca_chain: z.array(z.string()).nullish(),
    private_key: z.string().optional(),
    private_key_type: z.string().optional(),
    serial_number: z.string(),
    expiration: z.number(),
  }),
});

export interface IssuedCertificate {
  certificate: string;
  issuingCa: string;
  caChain: string[];
  serialNumber: string;
  expiration: number;
  /** Only from `issue`: the caller delivers it (a file, mode 0600) and drops it. */
  privateKey?: string;
}

const toIssued = (d: z.output<typeof issuedSchema>['data']): IssuedCertificate => ({
  certificate: d.certificate,
  issuingCa: d.issuing_ca,
  caChain: d.ca_chain ?? [],
  serialNumber: d.serial_number,
  expiration: d.expiration,
  ...(d.private_key ? { privateKey: d.private_key } : {}),
});

export async function issue(
  vault: VaultClient,
  mount: string,
  role: string,
  request: { commonName: string; altNames?: string[]; ipSans?: string[]; ttl?: string },
): Promise<IssuedCertificate> {
  const where = vaultPath`${mount}/issue/${segment(role)}`;
  const body = await vault.write(where, {
    common_name: request.commonName,
    ...(request.altNames ? { alt_names: request.altNames.join(',') } : {}),
    ...(request.ipSans ? { ip_sans: request.ipSans.join(',') } : {}),
    ...(request.ttl ? { ttl: request.ttl } : {}),
  });
  return toIssued(parseResponse(issuedSchema, body, where).data);
}

/**
 * Signs a CSR whose key the caller holds: no private key crosses the wire. Exactly once: when the
 * reply is lost, the certificate Vault stored for this CSR's public key is found and returned
 * instead of signing again. (`issue`, whose key exists only in its reply, cannot be settled so:
 * a lost reply there is a VaultOutcomeUnknown failure; use a CSR where that matters.)
 */
export async function signCsr(
  vault: VaultClient,
  mount: string,
  role: string,
  request: { csr: string; commonName: string; ttl?: string },
): Promise<IssuedCertificate> {
  const where = vaultPath`${mount}/sign/${segment(role)}`;
  const send = async () =>
    toIssued(
      parseResponse(
        issuedSchema,
        await vault.write(where, {
          csr: request.csr,
          common_name: request.commonName,
          ...(request.ttl ? { ttl: request.ttl } : {}),
        }),
        where,
      ).data,
    );
  const sentAt = Date.now();
  return exactlyOnce<IssuedCertificate>(send, async () => {
    const found = await findCertificateForKey(vault, mount, csrPublicKey(request.csr), sentAt);
    return found ? { done: true, value: found } : { done: false };
  });
}

function csrPublicKey(csrPem: string): Buffer {
  return Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
}

const storedCertSchema = z.object({
  data: z.object({
    certificate: z.string(),
    ca_chain: z.array(z.string()).nullish(),
    revocation_time: z.number(),
  }),
});

/** How far before our first send a recovered certificate's notBefore may lie. */
const SIGNED_SINCE_SLACK_MS = 5 * 60_000;

/** The unrevoked certificate the mount stored for this public key (SPKI), if any. */
async function findCertificateForKey(
  vault: VaultClient,
  mount: string,
  spki: Buffer,
  sentAt: number,
): Promise<IssuedCertificate | undefined> {
  // A reused key (a renewal) has older certificates too: only one signed since our first send,
  // allowing for Vault's backdated notBefore (30 s by default) and some clock skew, is ours.
  const notBefore = sentAt - SIGNED_SINCE_SLACK_MS;
  const serials = await listCertificates(vault, mount, { consistent: true });
  const outcomes = await inBatches(serials, 8, async (serial) => {
    const where = vaultPath`${mount}/cert/${segment(serial)}`;
    const { data } = parseResponse(storedCertSchema, await vault.read(where, { consistent: true }), where);
    const cert = new x509.X509Certificate(data.certificate);
    if (data.revocation_time > 0 || !Buffer.from(cert.publicKey.rawData).equals(spki)) return undefined;
    if (cert.notBefore.getTime() < notBefore) return undefined;
    const chain = data.ca_chain ?? [];
    return {
      certificate: data.certificate.trim(),
      issuingCa: chain[0] ?? '',
      caChain: chain,
      serialNumber: serial,
      expiration: Math.floor(cert.notAfter.getTime() / 1000),
    } satisfies IssuedCertificate;
  });
  for (const outcome of outcomes) {
    if (!outcome.ok) throw outcome.error;
    if (outcome.value) return outcome.value;
  }
  return undefined;
}

export async function revoke(vault: VaultClient, mount: string, serialNumber: string): Promise<Date> {
  const body = (await vault.put(vaultPath`${mount}/revoke`, { serial_number: serialNumber })) as {
    data: { revocation_time: number };
  };
  return new Date(body.data.revocation_time * 1000);
}

const certSchema = z.object({ data: z.object({ certificate: z.string(), revocation_time: z.number() }) });

export async function readCertificate(vault: VaultClient, mount: string, serialNumber: string) {
  const where = vaultPath`${mount}/cert/${segment(serialNumber)}`;
  const { data } = parseResponse(certSchema, await vault.read(where), where);
  return {
    certificate: data.certificate,
    revokedAt: data.revocation_time > 0 ? new Date(data.revocation_time * 1000) : null,
  };
}

export async function listCertificates(
  vault: VaultClient,
  mount: string,
  options: { consistent?: boolean } = {},
): Promise<string[]> {
  const where = vaultPath`${mount}/certs`;
  return parseResponse(
    z.object({ data: z.object({ keys: z.array(z.string()) }) }),
    await vault.list(where, { consistent: options.consistent ?? false }),
    where,
  ).data.keys;
}

/** Vault writes serials as aa:bb:cc; CRLs and OCSP carry them as bare hex. */
export const serialHex = (serial: string) => serial.replace(/:/g, '').toLowerCase();

/**
 * Signs a CSR through a role with one named issuer rather than the default (a test leaf from a
 * given issuer). Sent once: a lost reply fails as VaultOutcomeUnknown.
 */
export async function signCsrByIssuer(
  vault: VaultClient,
  mount: string,
  issuerRef: string,
  role: string,
  request: { csr: string; commonName: string; ttl?: string },
): Promise<IssuedCertificate> {
  const where = vaultPath`${mount}/issuer/${segment(issuerRef)}/sign/${segment(role)}`;
  const body = await vault.write(where, {
    csr: request.csr,
    common_name: request.commonName,
    ...(request.ttl ? { ttl: request.ttl } : {}),
  });
  return toIssued(parseResponse(issuedSchema, body, where).data);
}
