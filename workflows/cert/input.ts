// The certificate workflow's input: its shape, the checks it passes before anything reaches Vault,
// and the policy's verdict on a request. Pure (no activities), so the rules read on their own.
import { ApplicationFailure } from '@temporalio/workflow';
import type { CertDeploy, CertKey } from '../../activities/cert/lifecycle.js';
import type { CertInventoryStore } from '../../common/cert/inventory.js';
import {
  type CertPolicy,
  CertPolicyError,
  type CertRequestFacts,
  checkCertPolicy,
  evaluateCertPolicy,
} from '../../common/cert/policy.js';
import { parseDuration } from '../../common/durations.js';
import { INPUT_FAILURE_TYPES, unsetOrPositive } from '../lib/failures.js';
import type { HeldCertificate } from './messages.js';

export interface CertificateInput {
  /** The configured cluster ("default" when unset). */
  cluster?: string;
  mount: string;
  role: string;
  commonName: string;
  altNames?: string[];
  ipSans?: string[];
  /** The lifetime to ask for, e.g. "720h" (default: the role's). */
  ttl?: string;
  /** The key to make when the role allows any type (default EC P-256); else the role's. */
  key?: Partial<CertKey>;
  /** A CSR (PEM, public) whose key stays with the user; then no key file is written. */
  csr?: string;
  deploy: CertDeploy;
  /** Renew this long before the end (when shorter than the lifetime); default: at 2/3 of it. */
  renewBeforeMs?: number;
  policy?: CertPolicy;
  /** Where the inventory lives (default: the inventory's own, secret/vaultops/cert-inventory). */
  inventory?: CertInventoryStore;
  /** Issue, deploy and record, then return (no renewals). */
  once?: boolean;
  /** Renewals per run before continuing as new (default 10). */
  continueAsNewAfter?: number;
  /** Backoff while renewing fails: first wait, doubling up to the max (default 1m, 1h). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Set by the workflow when it continues as new. */
  carried?: CertificateCarry;
}

export interface CertificateCarry {
  certificate: HeldCertificate;
  renewals: number;
  lastError: { at: string; message: string } | null;
  runs: number;
}

/** First-issue failures no retry will fix: the workflow fails with them. */
export const BAD_INPUT_TYPES = new Set([
  'CertBadInput',
  'CertPolicyViolation',
  'CertDeployFailed',
  ...INPUT_FAILURE_TYPES,
]);

export function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'CertBadInput', nonRetryable: true, message });
}

/** The input's shape, and its policy checked against the schema. */
export function checkInput(input: CertificateInput): CertPolicy | undefined {
  if (!input?.mount?.trim()) throw badInput('mount: name the PKI mount');
  if (!input.role?.trim() || input.role.includes('/')) throw badInput('role: name one role of the mount');
  if (!input.commonName?.trim()) throw badInput('commonName: name the certificate');
  const { certFile, keyFile, chainFile } = input.deploy ?? {};
  if (!certFile) throw badInput('deploy.certFile: say where the certificate goes');
  for (const path of [certFile, keyFile, chainFile])
    if (path !== undefined && !path.startsWith('/'))
      throw badInput(`${JSON.stringify(path)} must be an absolute path on the worker`);
  if (!input.csr && !keyFile) throw badInput('deploy.keyFile: say where the private key goes');
  if (input.csr && keyFile) throw badInput('deploy.keyFile: with a CSR the key stays with you; drop keyFile');
  if (input.ttl !== undefined && !unsetOrPositive(parseDuration(input.ttl) ?? -1))
    throw badInput(`ttl ${JSON.stringify(input.ttl)} is not a duration such as 720h`);
  if (!unsetOrPositive(input.renewBeforeMs)) throw badInput('renewBeforeMs must be a positive duration');
  if (!unsetOrPositive(input.retryInitialMs) || !unsetOrPositive(input.retryMaxMs))
    throw badInput('retryInitialMs and retryMaxMs must be positive durations');
  const n = input.continueAsNewAfter;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1))
    throw badInput('continueAsNewAfter must be a whole number >= 1');
  if (input.policy === undefined) return undefined;
  try {
    return checkCertPolicy(input.policy, 'policy');
  } catch (err) {
    if (err instanceof CertPolicyError) throw badInput(err.message);
    throw err;
  }
}

export function policyViolation(facts: CertRequestFacts, policy: CertPolicy | undefined): void {
  if (!policy) return;
  const violations = evaluateCertPolicy(facts, policy);
  if (violations.length > 0)
    throw ApplicationFailure.create({
      type: 'CertPolicyViolation',
      nonRetryable: true,
      message: violations.map((v) => v.message).join('; '),
      details: [violations.map((v) => v.rule)],
    });
}
