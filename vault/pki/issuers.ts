// PKI issuers with the multi-issuer API (Vault >= 1.11, OpenBao): the calls a CA rotation is
// made of — root generation, intermediate CSR, sign-intermediate, set-signed with
// imported_issuers, default issuer, issuer PATCH (usage, chain, name, URLs) and delete.
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { VaultErrorType, vaultFailure } from '../errors.js';
import { segment, vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';
import { type KeySpec, keyFields } from './keys.js';

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

/** A CSR for a key the mount already keeps (a retry asks again for the same key, not a new one). */
export async function generateIntermediateCsrForKey(
  vault: VaultClient,
  mount: string,
  options: { keyRef: string; commonName: string },
): Promise<string> {
  const where = vaultPath`${mount}/intermediate/generate/existing`;
  const body = await vault.put(where, { key_ref: options.keyRef, common_name: options.commonName });
  return parseResponse(z.object({ data: z.object({ csr: z.string() }) }), body, where).data.csr;
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

/**
 * Points an issuer's AIA, CRL and OCSP URLs at its own certificate, its own CRL and the mount's
 * responder, as clients reach Vault at `baseUrl` (e.g. https://vault.example.com:8200). Each
 * issuer names its own, so the old and new issuers of a rotation each point at theirs.
 */
export async function setIssuerUrls(
  vault: VaultClient,
  mount: string,
  issuerId: string,
  baseUrl: string,
): Promise<void> {
  const base = `${baseUrl.replace(/\/+$/, '')}/v1/${mount}`;
  await vault.request('PATCH', vaultPath`${mount}/issuer/${segment(issuerId)}`, {
    body: {
      issuing_certificates: [`${base}/issuer/${issuerId}/der`],
      crl_distribution_points: [`${base}/issuer/${issuerId}/crl/der`],
      ocsp_servers: [`${base}/ocsp`],
    },
    idempotent: true, // a merge patch to given values
  });
}

export async function deleteIssuer(vault: VaultClient, mount: string, issuerRef: string): Promise<void> {
  await vault.delete(vaultPath`${mount}/issuer/${segment(issuerRef)}`);
}
