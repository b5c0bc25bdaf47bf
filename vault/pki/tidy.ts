// Tidy: Vault's clean-up of expired and revoked certificates (and expired issuers).
import { z } from 'zod';
import type { VaultClient } from '../client.js';
import { vaultPath } from '../paths.js';
import { parseResponse } from '../response.js';

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
