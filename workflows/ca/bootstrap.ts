// `vaultops ca bootstrap`: the runbook of seed 001 for a new intermediate CA. The mount, a key
// and CSR generated inside Vault, an approval, the HSM root's signature, the import with the root
// as chain (named, its own CRL and AIA URLs, the default issuer), the roles of the spec, and a
// test leaf whose chain verifies to the root. The history holds names, ids, fingerprints and the
// public CSR and certificate; no key leaves Vault or the HSM.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { CaBootstrapActivities, RootStore } from '../../activities/ca/bootstrap.js';
import type { ApprovalPolicy, ApprovalVote } from '../../common/approval.js';
import type { KeySpec } from '../../vault/pki/keys.js';
import type { RoleSpec } from '../../vault/pki/roles.js';
import { presets } from '../lib/activity-presets.js';
import { approvalGate } from '../lib/approval.js';
import { sealAwareSteps } from '../lib/seal-aware.js';
import { trackSteps } from '../lib/status.js';

const act = proxyActivities<CaBootstrapActivities>(presets.vaultStep);

export interface CaBootstrapInput extends KeySpec {
  cluster?: string;
  /** The intermediate PKI mount, e.g. `pki_int`. */
  mount: string;
  /** Where `ca init-root` keeps the root certificate and its key label. */
  root: RootStore;
  commonName: string;
  /** The issuer's name in the mount; its key is `<issuerName>-key`. */
  issuerName: string;
  intermediateTtlMs: number;
  /** Where clients reach Vault (AIA, CRL and OCSP URLs), e.g. https://vault.example.com:8200. */
  baseUrl: string;
  roles: Record<string, RoleSpec>;
  /** The role and name of the test leaf (default: the first role, `verify.<first allowed domain>`). */
  verify?: { role: string; commonName: string };
  approval: ApprovalPolicy;
}

export interface CaBootstrapResult {
  issuerId: string;
  fingerprint: string;
  roles: string[];
  testLeafSerial: string;
  approvals: ApprovalVote[];
}

export const CA_BOOTSTRAP_STEPS = ['mount', 'csr', 'approve', 'sign', 'import', 'roles', 'verify'] as const;

export async function caBootstrapWorkflow(input: CaBootstrapInput): Promise<CaBootstrapResult> {
  const steps = trackSteps(CA_BOOTSTRAP_STEPS);
  const gate = approvalGate(input.approval); // first: a bad policy is refused before any write
  const verify = input.verify ?? firstRoleLeaf(input.roles);
  const cluster = input.cluster ?? 'default';
  const ref = { cluster, mount: input.mount };
  const vaultStep = sealAwareSteps(steps, cluster);

  // 1. The mount, able to hold the intermediate for its whole life.
  await vaultStep('mount', () =>
    act.caEnsurePkiMount({ ...ref, maxTtl: `${Math.ceil(input.intermediateTtlMs / 1000)}s` }),
  );
  // 2. The intermediate's key stays in Vault; only its CSR comes out.
  const { csr } = await vaultStep('csr', () =>
    act.caIntermediateCsr({
      ...ref,
      keyType: input.keyType,
      ...(input.keyBits ? { keyBits: input.keyBits } : {}),
      keyName: `${input.issuerName}-key`,
      commonName: input.commonName,
    }),
  );
  // 3. Nothing is signed by the root without the approvers.
  const approval = await steps.run('approve', () => gate.approved(), { as: 'waiting-approval' });
  // 4. The root signs in the HSM.
  const signed = await vaultStep('sign', () =>
    act.caSignIntermediateInHsm({ cluster, root: input.root, csr, ttlMs: input.intermediateTtlMs }),
  );
  steps.set('sign', 'done', `intermediate ${signed.fingerprint}`);
  // 5. Imported, named, its URLs set, and the default issuer.
  const { issuerId } = await vaultStep('import', () =>
    act.caImportIntermediate({
      ...ref,
      root: input.root,
      certificate: signed.certificate,
      issuerName: input.issuerName,
      baseUrl: input.baseUrl,
    }),
  );
  // 6. The roles of the spec.
  const { roles } = await vaultStep('roles', () => act.caWriteRoles({ ...ref, roles: input.roles }));
  // 7. A test leaf whose chain verifies to the root.
  const leaf = await vaultStep('verify', () => act.caVerifyLeaf({ ...ref, root: input.root, ...verify }));
  steps.set('verify', 'done', `test leaf ${leaf.serial} verifies to the root`);
  return {
    issuerId,
    fingerprint: signed.fingerprint,
    roles,
    testLeafSerial: leaf.serial,
    approvals: approval.approvals,
  };
}

function firstRoleLeaf(roles: Record<string, RoleSpec>): { role: string; commonName: string } {
  const [name, role] = Object.entries(roles)[0] ?? [];
  const domain = role?.allowedDomains[0];
  if (!name || !domain || !role?.allowSubdomains) {
    throw ApplicationFailure.create({
      type: 'CaBadInput',
      nonRetryable: true,
      message:
        'name a test leaf (verify: role and commonName), or let the first role allow subdomains of a domain',
    });
  }
  return { role: name, commonName: `verify.${domain}` };
}
