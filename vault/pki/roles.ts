// PKI roles: what a mount may issue, and through which issuer.
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { segment, vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';
import { type KeySpec, keyFields } from './keys.js';

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
    ttl: z.number().optional(),
    key_usage: z.array(z.string()).nullish(),
    ext_key_usage: z.array(z.string()).nullish(),
    server_flag: z.boolean().optional(),
    client_flag: z.boolean().optional(),
    code_signing_flag: z.boolean().optional(),
    email_protection_flag: z.boolean().optional(),
    use_csr_sans: z.boolean().optional(),
  }),
});
export type RoleSettings = z.output<typeof roleSchema>['data'];

/**
 * A role as Vault keeps it (ttl and max_ttl in seconds, 0 meaning the mount's). Read on the active
 * node unless `consistent: false` lets any node answer.
 */
export async function readRole(
  vault: VaultClient,
  mount: string,
  name: string,
  options: { consistent?: boolean } = {},
): Promise<RoleSettings> {
  const where = vaultPath`${mount}/roles/${segment(name)}`;
  return parseResponse(roleSchema, await vault.read(where, { consistent: options.consistent ?? true }), where)
    .data;
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
