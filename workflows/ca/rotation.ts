// `vaultops ca rotate`: the zero-downtime intermediate rotation of seed 001, top-down. Take the
// mount's rotation lock (one rotation per mount until its grace ends), read the old
// default issuer and the roles, and issue a "before" leaf from it → a new key and CSR in Vault →
// approval → the HSM root signs → imported beside the old issuer (not yet default) → the trust
// bundle (old + new intermediates, root) published → the new issuer made default, roles following
// → verified: a new leaf chains to the root, the before leaf still does → the grace period (a
// durable timer, at least the longest leaf TTL) → the old issuer narrowed to CRL/OCSP signing,
// later read-only, deleted once expired (unless kept) → tidy. Any failure, rejection or
// cancellation before the grace period ends puts the old default (and roles) back and removes the
// new issuer and its key; after it there is no automatic rollback. With `newRoot` it is a root
// rotation: the new root signs, the old root cross-signs the same key (both imported, linked by
// manual_chain), the bundle trusts both roots until the grace ends, then the new one only, and the
// old root's record is marked retired. The history holds ids, serials, fingerprints and public
// certificates only.
import { ApplicationFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { CaBootstrapActivities, RootStore } from '../../activities/ca/bootstrap.js';
import type {
  CaRotationActivities,
  RoleState,
  TestLeafSpec,
  TrustBundle,
} from '../../activities/ca/rotation.js';
import type { ApprovalPolicy, ApprovalVote } from '../../common/approval.js';
import type { KeySpec } from '../../vault/pki/keys.js';
import { presets } from '../lib/activity-presets.js';
import { approvalGate } from '../lib/approval.js';
import { createSaga } from '../lib/saga.js';
import { sealAware, sealAwareSteps } from '../lib/seal-aware.js';
import { trackSteps } from '../lib/status.js';

const act = proxyActivities<CaBootstrapActivities & CaRotationActivities>(presets.undoableVaultStep);

const DAY_MS = 24 * 3600_000;

export interface CaRotationInput extends KeySpec {
  cluster?: string;
  /** The intermediate PKI mount whose default issuer is rotated, e.g. `pki_int`. */
  mount: string;
  /** Where `ca init-root` keeps the root certificate and its key label. */
  root: RootStore;
  /** The new issuer's name; its key is `<newIssuerName>-key`. */
  newIssuerName: string;
  commonName: string;
  intermediateTtlMs: number;
  /** Where clients reach Vault (AIA, CRL and OCSP URLs), e.g. https://vault.example.com:8200. */
  baseUrl: string;
  approval: ApprovalPolicy;
  /** Old and new issuers both trusted and unrevoked this long. Default and minimum: the longest leaf TTL. */
  graceMs?: number;
  /** After the grace, how long the old issuer signs CRLs/OCSP before it turns read-only (default 7 days). */
  crlSigningMs?: number;
  /** Keep the old issuer (read-only) instead of deleting it once it has expired. */
  keepOldIssuer?: boolean;
  /** Roles whose issuer_ref and key type move to the new issuer (CA agility: e.g. rsa → ec). */
  rolesFollow?: string[];
  /** The role and name of the test leaves (default: the first role that allows a name). */
  verify?: TestLeafSpec;
  /**
   * Root rotation: the KV record of a new root (made by `ca init-root`). The new intermediate is
   * signed by it and cross-signed by the old root (`root`); both roots are trusted until the grace
   * period ends, then the new one only, and the old root's record is marked retired.
   */
  newRoot?: RootStore;
}

export interface CaRotationResult {
  oldIssuerId: string;
  newIssuerId: string;
  fingerprint: string;
  bundle: TrustBundle;
  beforeLeafSerial: string;
  testLeafSerial: string;
  graceUntil: string;
  /** Root rotation: the new intermediate as cross-signed by the old root (null otherwise). */
  crossIssuerId: string | null;
  rootRetired: boolean;
  /** Where the old issuer was left. */
  oldIssuer: 'read-only' | 'deleted';
  rolesMoved: string[];
  approvals: ApprovalVote[];
}

export const CA_ROTATION_STEPS = [
  'plan',
  'csr',
  'approve',
  'sign',
  'import',
  'bundle',
  'switch',
  'verify',
  'grace',
  'retire-root',
  'narrow',
  'read-only',
  'delete',
  'tidy',
] as const;

export async function caRotationWorkflow(input: CaRotationInput): Promise<CaRotationResult> {
  const steps = trackSteps(CA_ROTATION_STEPS);
  const gate = approvalGate(input.approval); // first: a bad policy is refused before any read
  const cluster = input.cluster ?? 'default';
  const ref = { cluster, mount: input.mount };
  const keyName = `${input.newIssuerName}-key`;
  const vaultStep = sealAwareSteps(steps, cluster);
  const { newRoot } = input;
  const saga = createSaga({ steps });
  // An undo meets a sealed Vault as a step does: it waits for the unseal instead of failing.
  const undo = (name: string, run: () => Promise<unknown>) => () =>
    sealAware(`undo-${name}`, run, { cluster });

  const lock = { ...ref, root: input.root, owner: workflowInfo().workflowId };

  // The lock goes when the switch is final (the grace has ended) or undone (after the rollback).
  saga.hold(() => sealAware('unlock', () => act.caRotationUnlock(lock), { cluster }));
  return saga.run(async () => {
    // 1. One rotation per mount until its grace ends; then where we start: the old default
    //    issuer, the roles, and a leaf the old issuer signs now.
    const { plan, grace, verify, beforeLeaf } = await vaultStep('plan', async () => {
      await act.caRotationLock(lock);
      const plan = await act.caRotationPlan({ ...ref, newIssuerName: input.newIssuerName });
      const grace = graceFor(input, plan.longestLeafTtlMs);
      const verify = checkPlan(input, plan);
      const beforeLeaf = await act.caRotationTestLeaf({ ...ref, ...verify, issuerRef: plan.oldIssuerId });
      return { plan, grace, verify, beforeLeaf };
    });
    steps.set('plan', 'done', `old issuer ${plan.oldIssuerId}; before leaf ${beforeLeaf.serial}`);
    const follow = followingRoles(input, plan.roles);

    // 2. The new key stays in Vault; only its CSR comes out. Its undo goes in first: a key made
    //    by a send whose reply was lost is removed too.
    saga.add(
      'csr',
      undo('csr', () => act.caRemoveRotationIssuer({ ...ref, keyName, restoreDefault: plan.oldIssuerId })),
    );
    const { csr } = await vaultStep('csr', () =>
      act.caIntermediateCsr({
        ...ref,
        keyType: input.keyType,
        ...(input.keyBits ? { keyBits: input.keyBits } : {}),
        keyName,
        commonName: input.commonName,
      }),
    );
    // 3. Nothing is signed by the root without the approvers.
    const approval = await steps.run('approve', () => gate.approved(), { as: 'waiting-approval' });
    // 4. The root signs in the HSM; in a root rotation the new root signs and the old cross-signs.
    const { signed, cross } = await vaultStep('sign', async () => {
      const ttlMs = input.intermediateTtlMs;
      const signed = await act.caSignIntermediateInHsm({
        cluster,
        root: newRoot ?? input.root,
        csr,
        ttlMs,
      });
      const cross = newRoot
        ? await act.caSignIntermediateInHsm({ cluster, root: input.root, csr, ttlMs })
        : null;
      return { signed, cross };
    });
    steps.set(
      'sign',
      'done',
      `intermediate ${signed.fingerprint}${cross ? `; cross-signed ${cross.fingerprint}` : ''}`,
    );
    // 5. Imported beside the old issuer, named, its own URLs; not yet the default. In a root
    //    rotation its cross-signed twin too, named in its chain with both roots (manual_chain).
    const { issuerId, crossIssuerId } = await vaultStep('import', async () => {
      const importAs = (issuerName: string, certificate: string, root: RootStore) =>
        act.caImportIntermediate({
          ...ref,
          root,
          certificate,
          issuerName,
          baseUrl: input.baseUrl,
          makeDefault: false,
        });
      const { issuerId } = await importAs(input.newIssuerName, signed.certificate, newRoot ?? input.root);
      if (!cross || !newRoot) return { issuerId, crossIssuerId: null };
      const twin = await importAs(`${input.newIssuerName}-cross`, cross.certificate, input.root);
      await act.caLinkCrossChain({
        ...ref,
        issuerId,
        crossIssuerId: twin.issuerId,
        root: input.root,
        newRoot,
      });
      return { issuerId, crossIssuerId: twin.issuerId };
    });
    // 6. Clients learn to trust the new intermediate (and a new root) before any leaf comes from it.
    const bundleOf = (issuerIds: string[], trustedRoots = [input.root]) =>
      act.caPublishTrustBundle({ ...ref, root: input.root, trustedRoots, issuerIds });
    saga.add(
      'bundle',
      undo('bundle', () => bundleOf([plan.oldIssuerId])),
    );
    const bundle = await vaultStep('bundle', () =>
      newRoot && crossIssuerId
        ? bundleOf([plan.oldIssuerId, issuerId, crossIssuerId], [input.root, newRoot])
        : bundleOf([plan.oldIssuerId, issuerId]),
    );
    steps.set('bundle', 'done', `${bundle.mount}/${bundle.path} v${bundle.version}`);
    // 7. New leaves come from the new issuer; roles that follow move to it (and its key type).
    saga.add(
      'switch',
      undo('switch', () => act.caSwitchIssuer({ ...ref, issuerId: plan.oldIssuerId, roles: follow.before })),
    );
    await vaultStep('switch', () => act.caSwitchIssuer({ ...ref, issuerId, roles: follow.after }));
    // 8. A new leaf chains to the root (to both, in a root rotation); the old issuer's leaf still does.
    const checked = await vaultStep('verify', () =>
      act.caVerifyRotation({
        ...ref,
        ...verify,
        root: input.root,
        newIssuerId: issuerId,
        oldIssuerId: plan.oldIssuerId,
        beforeLeafSerial: beforeLeaf.serial,
        ...(newRoot && crossIssuerId ? { newRoot, crossIssuerId } : {}),
      }),
    );
    steps.set(
      'verify',
      'done',
      `test leaf ${checked.testLeafSerial}; before leaf ${beforeLeaf.serial} still verifies`,
    );
    // 9. Both issuers trusted while the old one's leaves live out their TTL. Rollback ends here.
    const graceUntil = new Date(Date.now() + grace).toISOString();
    await steps.run('grace', async () => {
      steps.set('grace', 'running', `until ${graceUntil}`);
      await sleep(grace);
    });
    steps.set('grace', 'done', `ended ${graceUntil}`);
    // The switch is final: no rollback from here, and the mount's lock goes.
    await saga.commit();

    // 10. Root rotation: the old root's leaves are gone; clients now trust the new root only, the
    //     cross-signed twin turns read-only, and the old root's record is marked retired.
    let trustBundle = bundle;
    if (newRoot && crossIssuerId) {
      trustBundle = await vaultStep('retire-root', async () => {
        const newOnly = await act.caPublishTrustBundle({
          ...ref,
          root: input.root,
          trustedRoots: [newRoot],
          issuerIds: [issuerId],
        });
        await act.caSetIssuerUsage({ ...ref, issuerId: crossIssuerId, usage: ['read-only'] });
        await act.caRetireRoot({ cluster, root: input.root, successor: newRoot });
        return newOnly;
      });
      steps.set('retire-root', 'done', `trust bundle v${trustBundle.version}: the new root only`);
    } else steps.set('retire-root', 'done', 'no root rotation');

    // 11. Retirement, not undone: the old issuer keeps signing CRLs and OCSP for its leaves, then
    //     turns read-only, and is deleted once it has expired. A cancellation now stops it where it is.
    const old = { ...ref, issuerId: plan.oldIssuerId };
    await vaultStep('narrow', () => act.caSetIssuerUsage({ ...old, usage: ['crl-signing', 'ocsp-signing'] }));
    const crlSigningMs = input.crlSigningMs ?? 7 * DAY_MS;
    steps.set('read-only', 'running', `from ${new Date(Date.now() + crlSigningMs).toISOString()}`);
    await sleep(crlSigningMs);
    await vaultStep('read-only', () => act.caSetIssuerUsage({ ...old, usage: ['read-only'] }));
    if (input.keepOldIssuer) steps.set('delete', 'done', 'kept (read-only), as asked');
    else {
      steps.set('delete', 'running', `after it expires, ${plan.oldNotAfter}`);
      await sleep(Math.max(0, Date.parse(plan.oldNotAfter) - Date.now()));
      await vaultStep('delete', () => act.caDeleteIssuer(old));
    }
    await vaultStep('tidy', () => act.caTidy(ref));
    return {
      oldIssuerId: plan.oldIssuerId,
      newIssuerId: issuerId,
      fingerprint: signed.fingerprint,
      bundle: trustBundle,
      beforeLeafSerial: beforeLeaf.serial,
      testLeafSerial: checked.testLeafSerial,
      graceUntil,
      crossIssuerId,
      rootRetired: Boolean(newRoot && crossIssuerId),
      oldIssuer: input.keepOldIssuer ? 'read-only' : 'deleted',
      rolesMoved: follow.after.map((r) => r.name),
      approvals: approval.approvals,
    };
  });
}

const badInput = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

/** The grace period: as asked, but never shorter than the longest leaf a role can issue. */
function graceFor(input: CaRotationInput, longestLeafTtlMs: number): number {
  if (input.graceMs === undefined) return longestLeafTtlMs;
  if (input.graceMs < longestLeafTtlMs)
    throw badInput(
      'CaGraceTooShort',
      `a grace period of ${input.graceMs / 1000}s is shorter than the longest leaf TTL the roles of ${input.mount} allow (${longestLeafTtlMs / 1000}s): leaves of the old issuer would outlive it; give at least that`,
    );
  return input.graceMs;
}

/** The plan's refusals, before anything changes; the test leaf to use. */
function checkPlan(
  input: CaRotationInput,
  plan: { nameTaken: boolean; roles: RoleState[]; testLeaf: TestLeafSpec | null },
) {
  if (plan.nameTaken)
    throw badInput(
      'CaBadInput',
      `an issuer named "${input.newIssuerName}" exists in ${input.mount} already; choose another --issuer-name`,
    );
  const unknown = (input.rolesFollow ?? []).filter((name) => !plan.roles.some((r) => r.name === name));
  if (unknown.length > 0)
    throw badInput('CaBadInput', `${input.mount} has no role ${unknown.join(', ')} to follow the new issuer`);
  const verify = input.verify ?? plan.testLeaf;
  if (!verify)
    throw badInput(
      'CaBadInput',
      `no role of ${input.mount} allows a name for the test leaf; name one (verify: role and commonName)`,
    );
  return verify;
}

/** The roles that follow, as they are (for the undo) and as they become. */
function followingRoles(input: CaRotationInput, roles: RoleState[]) {
  const before = roles.filter((r) => input.rolesFollow?.includes(r.name));
  const bits = input.keyBits ?? (input.keyType === 'rsa' ? 2048 : input.keyType === 'ec' ? 256 : 0);
  const after = before.map((r) => ({
    ...r,
    // A role that takes the default follows by itself; one pinned to the old issuer moves.
    issuerRef: r.issuerRef === 'default' ? 'default' : input.newIssuerName,
    // A role that accepts any key type keeps doing so.
    ...(r.keyType === 'any' ? {} : { keyType: input.keyType, keyBits: bits }),
  }));
  return { before, after };
}
