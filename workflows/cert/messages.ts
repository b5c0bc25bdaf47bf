// The certificate workflow's messages, defined once for the workflow and the CLI (`vaultops cert
// issue|renew|revoke`). A module of its own, so the CLI loads the definitions without the
// workflow's activity proxies. Everything here is public: serials, dates, fingerprints.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CertRevocationProof, IssuedCertFacts } from '../../activities/cert/lifecycle.js';

/** The certificate the workflow holds now (deployed, recorded): the facts, without the reload's outcome. */
export type HeldCertificate = Omit<IssuedCertFacts, 'reload'>;

export type CertificatePhase =
  | 'issuing'
  | 'waiting'
  | 'renewing'
  | 'retrying'
  | 'queued-sealed'
  | 'revoking'
  | 'revoked'
  | 'done';

export interface CertRevocation extends CertRevocationProof {
  revokedAt: string;
  /** The deployed files removed (when asked, and only while they held this certificate). */
  removed: string[];
}

export interface CertificateStatus {
  phase: CertificatePhase;
  certificate: HeldCertificate | null;
  /** When the next renewal is due (null once revoked, or before the first certificate). */
  nextRenewalAt: string | null;
  renewals: number;
  /** True while renewing keeps failing (the workflow backs off and tries again). */
  failing: boolean;
  lastError: { at: string; message: string } | null;
  /** The last reload command's outcome: reported, never fatal. */
  reload: { ok: boolean; detail: string } | null;
  revocation: CertRevocation | null;
  /** Which run this is (1 + continue-as-new count). */
  run: number;
}

export interface RenewNowResult {
  previousSerial: string;
  serial: string;
  notAfter: string;
}

export interface RevokeRequest {
  /** Also remove the deployed files (certificate, key, chain). */
  removeFiles?: boolean;
}

export const certificateStatusQuery = defineQuery<CertificateStatus>('certificateStatus');
/** Renew now; answers with the new certificate, or fails with why this attempt failed. */
export const renewNowUpdate = defineUpdate<RenewNowResult, []>('renewNow');
/** Revoke the certificate, prove it in the CRL and OCSP; the workflow then ends. */
export const revokeUpdate = defineUpdate<CertRevocation, [RevokeRequest]>('revoke');
