// `vaultops ca init-root`: the root CA's key in the HSM and its self-signed certificate, as a
// workflow so that the ceremony is recorded step by step in the history (labels, fingerprints and
// dates; no key material can be there, since the key never leaves the token).
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { CaRootActivities, RootCertificateFacts, RootKeyFacts } from '../../activities/ca/root.js';
import type { RootKeyType } from '../../common/ca/facts.js';
import { presets } from '../lib/activity-presets.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { trackSteps } from '../lib/status.js';

// 2 minutes: RSA 4096 key generation in a slow token takes a while.
const act = proxyActivities<CaRootActivities>(presets.vaultCall);

export interface CaInitRootInput {
  cluster?: string;
  keyLabel: string;
  keyType: RootKeyType;
  adopt?: boolean;
  /** e.g. `CN=Example Root CA R1, O=Example` */
  subject: string;
  ttlMs: number;
  store: { mount: string; path: string };
}

export interface CaInitRootResult {
  key: RootKeyFacts;
  certificate: RootCertificateFacts;
  store: { mount: string; path: string };
}

export const CA_INIT_ROOT_STEPS = ['root-key', 'root-certificate'] as const;

export async function caInitRootWorkflow(input: CaInitRootInput): Promise<CaInitRootResult> {
  const steps = trackSteps(CA_INIT_ROOT_STEPS);
  if (!input.keyLabel || !input.subject || !(input.ttlMs > 0)) {
    throw ApplicationFailure.create({
      type: 'RootBadInput',
      nonRetryable: true,
      message: 'a root needs a key label, a subject and a positive TTL',
    });
  }
  const cluster = input.cluster ?? 'default';

  // 1. The key, in the token: made there, or an existing one adopted.
  const key = await steps.run('root-key', () =>
    act.caEnsureRootKey({ keyLabel: input.keyLabel, keyType: input.keyType, adopt: input.adopt ?? false }),
  );
  steps.set('root-key', 'done', `${key.created ? 'made' : 'found'} ${key.keyType} key "${key.keyLabel}"`);

  // 2. The self-signed certificate, signed in the token, kept in KV for bootstrap and rotation.
  const certificate = await sealAwareSteps(steps, cluster)('root-certificate', () =>
    act.caIssueRootCertificate({
      cluster,
      keyLabel: input.keyLabel,
      subject: input.subject,
      ttlMs: input.ttlMs,
      store: input.store,
    }),
  );
  steps.set(
    'root-certificate',
    'done',
    `${certificate.issued ? 'issued' : 'found'} ${certificate.fingerprint}, valid to ${certificate.notAfter}`,
  );
  return { key, certificate, store: input.store };
}
