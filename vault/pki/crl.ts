// The certificate revocation list: fetched and parsed, or rebuilt now.
import type { VaultClient } from '../client.js';
import { segment, vaultPath } from '../paths.js';
import { serialHex } from './issue.js';
import { x509 } from './x509.js';

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
