// PKI with the multi-issuer API (Vault >= 1.11, OpenBao): the calls a CA rotation is made of —
// intermediate CSR, sign-intermediate, set-signed with imported_issuers, default issuer, issuer
// PATCH — plus roles, issuance, signing, revocation, certificate reads, CRL, OCSP and tidy.
// Private keys stay in Vault (`internal` generation); `issue` returns one to its caller, who must
// deliver it and not pass it on to a workflow.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { createHash, webcrypto } from 'node:crypto';
import * as ocsp from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import { inBatches } from './batch.js';
import { parseResponse, type VaultClient } from './client.js';
import { VaultErrorType, vaultFailure } from './errors.js';
import { exactlyOnce } from './exactly-once.js';
import { segment, vaultPath } from './paths.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyType = 'ec' | 'rsa' | 'ed25519';

export interface KeySpec {
  keyType: KeyType;
  /** ec: 256/384/521; rsa: 2048/3072/4096; ed25519: ignored. */
  keyBits?: number;
}

const keyFields = (k: KeySpec) => ({ key_type: k.keyType, ...(k.keyBits ? { key_bits: k.keyBits } : {}) });

const generatedRootSchema = z.object({
  data: z.object({
    certificate: z.string(),
    issuer_id: z.string(),
    key_id: z.string(),
    serial_number: z.string(),
  }),
});

/** A root whose key Vault generates and keeps (tests, and roots that live in a Vault mount). */
export async function generateRoot(
  vault: VaultClient,
  mount: string,
  options: KeySpec & { commonName: string; ttl: string; issuerName?: string },
) {
  const where = vaultPath`${mount}/root/generate/internal`;
  const { data } = parseResponse(
    generatedRootSchema,
    await vault.write(where, {
      common_name: options.commonName,
      ttl: options.ttl,
      ...keyFields(options),
      ...(options.issuerName ? { issuer_name: options.issuerName } : {}),
    }),
    where,
  );
  return {
    certificate: data.certificate,
    issuerId: data.issuer_id,
    keyId: data.key_id,
    serialNumber: data.serial_number,
  };
}

const csrSchema = z.object({ data: z.object({ csr: z.string(), key_id: z.string() }) });

/** Step 1 of an intermediate rotation: a new key inside Vault and its CSR. */
export async function generateIntermediateCsr(
  vault: VaultClient,
  mount: string,
  options: KeySpec & { commonName: string; keyName?: string },
): Promise<{ csr: string; keyId: string }> {
  const where = vaultPath`${mount}/intermediate/generate/internal`;
  const { data } = parseResponse(
    csrSchema,
    await vault.write(where, {
      common_name: options.commonName,
      ...keyFields(options),
      ...(options.keyName ? { key_name: options.keyName } : {}),
    }),
    where,
  );
  return { csr: data.csr, keyId: data.key_id };
}

const signedSchema = z.object({
  data: z.object({
    certificate: z.string(),
    issuing_ca: z.string(),
    ca_chain: z.array(z.string()).nullish(),
    serial_number: z.string(),
    expiration: z.number().optional(),
  }),
});

/** Step 2 (when the root lives in a Vault mount): the root signs the intermediate's CSR. */
export async function signIntermediate(
  vault: VaultClient,
  rootMount: string,
  options: { csr: string; commonName: string; ttl: string; issuerRef?: string; maxPathLength?: number },
) {
  const where = options.issuerRef
    ? vaultPath`${rootMount}/issuer/${segment(options.issuerRef)}/sign-intermediate`
    : vaultPath`${rootMount}/root/sign-intermediate`;
  const { data } = parseResponse(
    signedSchema,
    await vault.write(where, {
      csr: options.csr,
      common_name: options.commonName,
      ttl: options.ttl,
      format: 'pem',
      ...(options.maxPathLength === undefined ? {} : { max_path_length: options.maxPathLength }),
    }),
    where,
  );
  return { certificate: data.certificate, issuingCa: data.issuing_ca, serialNumber: data.serial_number };
}

const setSignedSchema = z.object({
  data: z.object({
    imported_issuers: z.array(z.string()).nullable(),
    imported_keys: z.array(z.string()).nullable(),
    mapping: z.record(z.string(), z.string()).optional(),
  }),
});

/**
 * Step 3: import the signed certificate and its chain. The new intermediate is the imported issuer
 * whose key lives in this mount (its CSR was made here); chain certificates come in keyless.
 */
export async function setSignedIntermediate(vault: VaultClient, mount: string, pemBundle: string) {
  const where = vaultPath`${mount}/intermediate/set-signed`;
  const { data } = parseResponse(
    setSignedSchema,
    await vault.write(where, { certificate: pemBundle }),
    where,
  );
  const mapping = data.mapping ?? {};
  const imported = data.imported_issuers ?? [];
  return {
    importedIssuers: imported,
    intermediateIssuer: imported.find((id) => (mapping[id] ?? '') !== '') ?? null,
    chainIssuers: imported.filter((id) => (mapping[id] ?? '') === ''),
  };
}

const issuersConfigSchema = z.object({
  data: z.object({ default: z.string(), default_follows_latest_issuer: z.boolean().optional() }),
});

export async function readDefaultIssuer(vault: VaultClient, mount: string): Promise<string> {
  const where = vaultPath`${mount}/config/issuers`;
  return parseResponse(issuersConfigSchema, await vault.read(where), where).data.default;
}

/** Step 4: new certificates come from this issuer from now on. */
export async function setDefaultIssuer(vault: VaultClient, mount: string, issuerRef: string): Promise<void> {
  await vault.put(vaultPath`${mount}/config/issuers`, { default: issuerRef });
}

export type IssuerUsage = 'read-only' | 'issuing-certificates' | 'crl-signing' | 'ocsp-signing';

const issuerSchema = z.object({
  data: z.object({
    issuer_id: z.string(),
    issuer_name: z.string(),
    key_id: z.string(),
    certificate: z.string(),
    ca_chain: z.array(z.string()),
    usage: z.string(),
    leaf_not_after_behavior: z.string(),
    manual_chain: z.array(z.string()).nullable(),
  }),
});
export type Issuer = z.output<typeof issuerSchema>['data'];

export async function readIssuer(vault: VaultClient, mount: string, issuerRef: string): Promise<Issuer> {
  const where = vaultPath`${mount}/issuer/${segment(issuerRef)}`;
  return parseResponse(issuerSchema, await vault.read(where), where).data;
}

const listIssuersSchema = z.object({
  data: z.object({
    keys: z.array(z.string()),
    key_info: z
      .record(z.string(), z.object({ issuer_name: z.string(), is_default: z.boolean().optional() }))
      .optional(),
  }),
});

export async function listIssuers(vault: VaultClient, mount: string) {
  const where = vaultPath`${mount}/issuers`;
  const { data } = parseResponse(listIssuersSchema, await vault.list(where), where);
  return data.keys.map((id) => ({ issuerId: id, issuerName: data.key_info?.[id]?.issuer_name ?? '' }));
}

/**
 * Step 6 of a rotation: narrow what the old issuer may do (e.g. usage read-only plus crl-signing,
 * so it keeps signing CRLs for what it issued), or how leaves may outlive it.
 */
export async function updateIssuer(
  vault: VaultClient,
  mount: string,
  issuerRef: string,
  patch: {
    usage?: IssuerUsage[];
    leafNotAfterBehavior?: 'err' | 'truncate' | 'permit';
    manualChain?: string[];
    issuerName?: string;
  },
): Promise<Issuer> {
  const where = vaultPath`${mount}/issuer/${segment(issuerRef)}`;
  if (
    patch.manualChain &&
    !patch.issuerName &&
    (await readIssuer(vault, mount, issuerRef)).issuer_name === ''
  ) {
    // Vault tests a new manual chain by issuing through the issuer's *name*; an unnamed issuer
    // fails there ("missing issuer reference") after other changes may have been saved.
    throw vaultFailure(
      VaultErrorType.InvalidRequest,
      `PATCH ${where}: name the issuer (issuerName) before or while setting a manual chain`,
      { method: 'PATCH', path: where, status: null, namespace: null },
    );
  }
  const body = await vault.request('PATCH', where, {
    body: {
      ...(patch.usage ? { usage: patch.usage.join(',') } : {}),
      ...(patch.leafNotAfterBehavior ? { leaf_not_after_behavior: patch.leafNotAfterBehavior } : {}),
      ...(patch.manualChain ? { manual_chain: patch.manualChain } : {}),
      ...(patch.issuerName ? { issuer_name: patch.issuerName } : {}),
    },
    idempotent: true, // a merge patch to given values
  });
  return parseResponse(issuerSchema, body, where).data;
}

export async function deleteIssuer(vault: VaultClient, mount: string, issuerRef: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/issuer/${segment(issuerRef)}`);
}

export interface RoleSpec extends Partial<KeySpec> {
  allowedDomains: string[];
  allowSubdomains?: boolean;
  allowBareDomains?: boolean;
  maxTtl: string;
  ttl?: string;
  issuerRef?: string;
  serverFlag?: boolean;
  clientFlag?: boolean;
  codeSigningFlag?: boolean;
}

export async function writeRole(
  vault: VaultClient,
  mount: string,
  name: string,
  role: RoleSpec,
): Promise<void> {
  await vault.put(vaultPath`${mount}/roles/${segment(name)}`, {
    allowed_domains: role.allowedDomains,
    allow_subdomains: role.allowSubdomains ?? false,
    allow_bare_domains: role.allowBareDomains ?? false,
    max_ttl: role.maxTtl,
    ...(role.ttl ? { ttl: role.ttl } : {}),
    ...(role.keyType ? keyFields(role as KeySpec) : {}),
    ...(role.issuerRef ? { issuer_ref: role.issuerRef } : {}),
    server_flag: role.serverFlag ?? true,
    client_flag: role.clientFlag ?? false,
    code_signing_flag: role.codeSigningFlag ?? false,
  });
}

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

/** The unrevoked certificate the mount stored for this public key (SPKI), if any. */
/** How far before our first send a recovered certificate's notBefore may lie. */
const SIGNED_SINCE_SLACK_MS = 5 * 60_000;

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

export interface ParsedCrl {
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  revokedSerials: string[];
}

/** Fetches the default issuer's CRL (or one issuer's) and parses it. */
export async function fetchCrl(vault: VaultClient, mount: string, issuerRef?: string): Promise<ParsedCrl> {
  const path = issuerRef ? vaultPath`${mount}/issuer/${segment(issuerRef)}/crl/der` : vaultPath`${mount}/crl`;
  const { body } = await vault.requestRaw(path);
  const crl = new x509.X509Crl(new Uint8Array(body));
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    revokedSerials: crl.entries.map((e) => serialHex(e.serialNumber)),
  };
}

export async function rotateCrl(vault: VaultClient, mount: string): Promise<void> {
  await vault.read(vaultPath`${mount}/crl/rotate`);
}

export interface TidyOptions {
  tidyCertStore?: boolean;
  tidyRevokedCerts?: boolean;
  tidyExpiredIssuers?: boolean;
  safetyBuffer?: string;
}

export async function tidy(vault: VaultClient, mount: string, options: TidyOptions): Promise<void> {
  await vault.write(vaultPath`${mount}/tidy`, {
    tidy_cert_store: options.tidyCertStore ?? true,
    tidy_revoked_certs: options.tidyRevokedCerts ?? true,
    ...(options.tidyExpiredIssuers === undefined ? {} : { tidy_expired_issuers: options.tidyExpiredIssuers }),
    ...(options.safetyBuffer ? { safety_buffer: options.safetyBuffer } : {}),
  });
}

const tidyStatusSchema = z.object({
  data: z.object({
    state: z.string(),
    error: z.string().nullable().optional(),
    cert_store_deleted_count: z.number().optional(),
    revoked_cert_deleted_count: z.number().optional(),
  }),
});

export async function tidyStatus(vault: VaultClient, mount: string) {
  const where = vaultPath`${mount}/tidy-status`;
  const { data } = parseResponse(tidyStatusSchema, await vault.read(where), where);
  return {
    state: data.state as 'Inactive' | 'Running' | 'Finished' | 'Error' | 'Cancelled',
    error: data.error ?? null,
    certsDeleted: data.cert_store_deleted_count ?? 0,
    revokedDeleted: data.revoked_cert_deleted_count ?? 0,
  };
}

export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  revokedAt: Date | null;
  thisUpdate: Date;
  nextUpdate: Date | null;
}

/** An unsigned integer's DER content bytes: a leading 0x00 keeps a high first bit positive. */
function integerBytes(hex: string): ArrayBuffer {
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const content = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength) as ArrayBuffer;
}

const sha1 = (data: ArrayBuffer | Uint8Array) =>
  new Uint8Array(createHash('sha1').update(new Uint8Array(data)).digest());

/**
 * Asks the mount's OCSP responder about one certificate (RFC 6960 GET form, SHA-1 CertID as
 * responders expect) and checks the answer is about that certificate.
 */
export async function queryOcsp(
  vault: VaultClient,
  mount: string,
  request: { serialNumber: string; issuerPem: string },
): Promise<OcspAnswer> {
  const issuer = AsnConvert.parse(new x509.X509Certificate(request.issuerPem).rawData, Certificate);
  const certId = new ocsp.CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(issuer.tbsCertificate.subject))),
    issuerKeyHash: new OctetString(sha1(issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: integerBytes(serialHex(request.serialNumber)),
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
  if (answer.responseStatus !== ocsp.OCSPResponseStatus.successful || !answer.responseBytes) {
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: responder status ${answer.responseStatus}`,
      {
        method: 'GET',
        path: `${mount}/ocsp`,
        status: 200,
        namespace: null,
      },
    );
  }
  const basic = AsnConvert.parse(answer.responseBytes.response.buffer, ocsp.BasicOCSPResponse);
  const single = basic.tbsResponseData.responses.find(
    (r) =>
      Buffer.from(r.certID.serialNumber).toString('hex').replace(/^0+/, '') ===
      serialHex(request.serialNumber).replace(/^0+/, ''),
  );
  if (!single) {
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: the answer is not about serial ${request.serialNumber}`,
      {
        method: 'GET',
        path: `${mount}/ocsp`,
        status: 200,
        namespace: null,
      },
    );
  }
  const cs = single.certStatus;
  return {
    status: cs.good !== undefined ? 'good' : cs.revoked ? 'revoked' : 'unknown',
    revokedAt: cs.revoked ? new Date(cs.revoked.revocationTime) : null,
    thisUpdate: new Date(single.thisUpdate),
    nextUpdate: single.nextUpdate ? new Date(single.nextUpdate) : null,
  };
}

const roleSchema = z.object({
  data: z.object({
    issuer_ref: z.string().optional(),
    key_type: z.string().optional(),
    key_bits: z.number().optional(),
    max_ttl: z.number().optional(),
    allowed_domains: z.array(z.string()).nullish(),
    allow_subdomains: z.boolean().optional(),
    allow_bare_domains: z.boolean().optional(),
    allow_any_name: z.boolean().optional(),
  }),
});
export type RoleSettings = z.output<typeof roleSchema>['data'];

/** A role as Vault keeps it (max_ttl in seconds, 0 meaning the mount's maximum). */
export async function readRole(vault: VaultClient, mount: string, name: string): Promise<RoleSettings> {
  const where = vaultPath`${mount}/roles/${segment(name)}`;
  return parseResponse(roleSchema, await vault.read(where, { consistent: true }), where).data;
}

/** The mount's role names (a mount without roles answers 404: NotFound). */
export async function listRoles(vault: VaultClient, mount: string): Promise<string[]> {
  const where = vaultPath`${mount}/roles`;
  const body = await vault.list(where, { consistent: true });
  return parseResponse(z.object({ data: z.object({ keys: z.array(z.string()) }) }), body, where).data.keys;
}

/** Changes only the given fields of a role (a merge patch: idempotent). */
export async function patchRole(
  vault: VaultClient,
  mount: string,
  name: string,
  patch: { issuerRef?: string; keyType?: string; keyBits?: number },
): Promise<void> {
  await vault.request('PATCH', vaultPath`${mount}/roles/${segment(name)}`, {
    body: {
      ...(patch.issuerRef ? { issuer_ref: patch.issuerRef } : {}),
      ...(patch.keyType ? { key_type: patch.keyType } : {}),
      ...(patch.keyBits !== undefined ? { key_bits: patch.keyBits } : {}),
    },
    idempotent: true,
  });
}

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

/** Deletes a key the mount keeps (Vault refuses while an issuer still uses it). */
export async function deleteKey(vault: VaultClient, mount: string, keyRef: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/key/${segment(keyRef)}`);
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

export interface VerifiedOcspAnswer extends OcspAnswer {
  /** The response's signature verified: by the issuer itself, or by a responder it delegated to. */
  signedBy: 'issuer' | 'delegated-responder';
}

/**
 * queryOcsp, and the response's signature checked: made by the issuer's key over the response
 * data, or by a responder certificate in the response that the issuer signed for OCSP signing.
 * An answer no one we trust signed is a BadResponse, whatever it says.
 */
export async function queryOcspVerified(
  vault: VaultClient,
  mount: string,
  request: { serialNumber: string; issuerPem: string },
): Promise<VerifiedOcspAnswer> {
  const where = { method: 'GET', path: `${mount}/ocsp`, status: 200, namespace: null };
  const issuerCert = new x509.X509Certificate(request.issuerPem);
  const issuer = AsnConvert.parse(issuerCert.rawData, Certificate);
  const certId = new ocsp.CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(sha1(AsnConvert.serialize(issuer.tbsCertificate.subject))),
    issuerKeyHash: new OctetString(sha1(issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: integerBytes(serialHex(request.serialNumber)),
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
      where,
    );
  const basic = AsnConvert.parse(answer.responseBytes.response.buffer, ocsp.BasicOCSPResponse);

  const hash = OCSP_SIGNATURE_HASHES[basic.signatureAlgorithm.algorithm];
  if (hash === undefined)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: signature algorithm ${basic.signatureAlgorithm.algorithm} is not one we verify`,
      where,
    );
  // Imported here so that this function is only appended to the module.
  const { createPublicKey, verify: cryptoVerify } = await import('node:crypto');
  const signed = new Uint8Array(basic.tbsResponseDataRaw ?? AsnConvert.serialize(basic.tbsResponseData));
  const signature = new Uint8Array(basic.signature);
  const verifies = (pem: x509.X509Certificate) =>
    cryptoVerify(hash, signed, createPublicKey(pem.toString('pem')), signature);
  let signedBy: VerifiedOcspAnswer['signedBy'] | undefined;
  if (verifies(issuerCert)) signedBy = 'issuer';
  else {
    for (const raw of basic.certs ?? []) {
      const responder = new x509.X509Certificate(AsnConvert.serialize(raw));
      const eku = responder.getExtension(x509.ExtendedKeyUsageExtension);
      const delegated =
        (await responder.verify({ publicKey: issuerCert.publicKey, signatureOnly: true })) &&
        responder.issuer === issuerCert.subject &&
        (eku?.usages as string[] | undefined)?.includes(OCSP_SIGNING_EKU);
      if (delegated && verifies(responder)) signedBy = 'delegated-responder';
    }
  }
  if (!signedBy)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: the response's signature does not verify against the issuer ${issuerCert.subject}`,
      where,
    );

  const single = basic.tbsResponseData.responses.find(
    (r) =>
      Buffer.from(r.certID.serialNumber).toString('hex').replace(/^0+/, '') ===
      serialHex(request.serialNumber).replace(/^0+/, ''),
  );
  if (!single)
    throw vaultFailure(
      VaultErrorType.BadResponse,
      `${mount}/ocsp: the answer is not about serial ${request.serialNumber}`,
      where,
    );
  const cs = single.certStatus;
  return {
    status: cs.good !== undefined ? 'good' : cs.revoked ? 'revoked' : 'unknown',
    revokedAt: cs.revoked ? new Date(cs.revoked.revocationTime) : null,
    thisUpdate: new Date(single.thisUpdate),
    nextUpdate: single.nextUpdate ? new Date(single.nextUpdate) : null,
    signedBy,
  };
}
