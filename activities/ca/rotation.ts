// CA intermediate rotation (`vaultops ca rotate`): the Vault calls the rotation runbook
// makes beyond those it shares with the bootstrap (new key and CSR, the HSM's signature, the
// import). Each activity checks before it changes, so a retry or a rollback that meets a half-done
// step brings it to the wanted state. Certificates, serials and fingerprints are public; no key
// leaves Vault or the HSM (test leaves are signed from CSRs whose keys never leave this process).
import { X509Certificate } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { keptAlive } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { readSecret, writeSecret } from '../../vault/kv.js';
import { readCertificate, signCsr, signCsrByIssuer } from '../../vault/pki/issue.js';
import {
  deleteIssuer,
  type IssuerUsage,
  listIssuers,
  readDefaultIssuer,
  readIssuer,
  setDefaultIssuer,
  updateIssuer,
} from '../../vault/pki/issuers.js';
import { deleteKey, findKeyByName } from '../../vault/pki/keys.js';
import { listRoles, patchRole, readRole } from '../../vault/pki/roles.js';
import { tidy } from '../../vault/pki/tidy.js';
import { readMountTune } from '../../vault/sys.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { type RootStore, readRoot, testLeafCsr } from './bootstrap.js';

export interface MountRef {
  cluster?: string | undefined;
  /** The intermediate PKI mount, e.g. `pki_int`. */
  mount: string;
}

/** What a role says about the leaves it issues, as the rotation needs it (and restores it). */
export interface RoleState {
  name: string;
  issuerRef: string;
  keyType: string;
  keyBits: number;
  /** The longest leaf it issues: its max_ttl, or the mount's when the role sets none. */
  maxTtlMs: number;
}

export interface TestLeafSpec {
  role: string;
  commonName: string;
}

export interface RotationPlan {
  oldIssuerId: string;
  oldIssuerName: string;
  oldKeyId: string;
  oldFingerprint: string;
  /** When the old intermediate expires (ISO 8601): after it, it can be deleted. */
  oldNotAfter: string;
  roles: RoleState[];
  /** The longest leaf TTL any role allows: the shortest grace period the rotation accepts. */
  longestLeafTtlMs: number;
  /** A role and name the test leaves can use (null when no role allows a name we can pick). */
  testLeaf: TestLeafSpec | null;
  /** An issuer already carries the new issuer's name (a rotation that did not finish, or a typo). */
  nameTaken: boolean;
}

export interface TrustBundle {
  /** The KV v2 secret holding it (public data: certificates only). */
  mount: string;
  path: string;
  version: number;
  /** The roots clients should trust: old and new during a root rotation's grace, else one. */
  rootFingerprints: string[];
  intermediateFingerprints: string[];
}

const bad = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** Where the trust bundle of `mount` lives: next to the root, `<root path>-bundle/<mount>`. */
export const trustBundlePath = (root: RootStore, mount: string) => ({
  mount: root.mount,
  path: `${root.path}-bundle/${mount}`,
});

/** Where the lock of a mount's rotation lives: next to the root, `<root path>-rotation/<mount>`. */
export const rotationLockPath = (root: RootStore, mount: string) => ({
  mount: root.mount,
  path: `${root.path}-rotation/${mount}`,
});

/** The name a test leaf may carry under a role: a subdomain, the bare domain, or any name. */
function testLeafFor(name: string, role: Awaited<ReturnType<typeof readRole>>): TestLeafSpec | null {
  const domain = (role.allowed_domains ?? []).find((d) => !d.includes('*') && !d.includes('{'));
  if (domain && role.allow_subdomains) return { role: name, commonName: `rotation-check.${domain}` };
  if (domain && role.allow_bare_domains) return { role: name, commonName: domain };
  if (role.allow_any_name) return { role: name, commonName: 'rotation-check.vaultops.invalid' };
  return null;
}

export function createCaRotationActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);

  /** The mount's own maximum TTL, which a role without max_ttl issues up to. */
  const mountMaxTtlMs = async (vault: VaultClient, mount: string) =>
    (await readMountTune(vault, mount)).maxLeaseTtlSeconds * 1000;

  return keptAlive({
    /**
     * Reads what the rotation starts from: the default issuer (the old one), its certificate's
     * fingerprint and expiry, every role's issuer, key type and longest leaf. Changes nothing.
     */
    async caRotationPlan(input: MountRef & { newIssuerName: string }): Promise<RotationPlan> {
      const vault = clusters.get(input.cluster);
      let oldIssuerId: string;
      try {
        oldIssuerId = await readDefaultIssuer(vault, input.mount);
      } catch (err) {
        if (isVaultFailure(err, VaultErrorType.NotFound))
          throw bad(
            'CaNoIssuer',
            `${input.mount} is no PKI mount; bootstrap it first (vaultops ca bootstrap)`,
          );
        throw err;
      }
      if (!oldIssuerId)
        throw bad('CaNoIssuer', `${input.mount} has no default issuer to rotate; bootstrap it first`);
      const old = await readIssuer(vault, input.mount, oldIssuerId);
      let names: string[] = [];
      try {
        names = await listRoles(vault, input.mount);
      } catch (err) {
        if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
      }
      const mountMax = await mountMaxTtlMs(vault, input.mount);
      const roles: RoleState[] = [];
      let testLeaf: TestLeafSpec | null = null;
      for (const name of names.sort()) {
        const role = await readRole(vault, input.mount, name);
        roles.push({
          name,
          issuerRef: role.issuer_ref ?? 'default',
          keyType: role.key_type ?? 'rsa',
          keyBits: role.key_bits ?? 0,
          maxTtlMs: role.max_ttl ? role.max_ttl * 1000 : mountMax,
        });
        testLeaf ??= testLeafFor(name, role);
      }
      const issuers = await listIssuers(vault, input.mount);
      return {
        oldIssuerId,
        oldIssuerName: old.issuer_name,
        oldKeyId: old.key_id,
        oldFingerprint: fingerprint(old.certificate),
        oldNotAfter: new Date(new X509Certificate(old.certificate).validTo).toISOString(),
        roles,
        longestLeafTtlMs: Math.max(0, ...roles.map((r) => r.maxTtlMs)),
        testLeaf,
        // The cross-signed twin of a root rotation takes `<name>-cross`.
        nameTaken: issuers.some((i) =>
          [input.newIssuerName, `${input.newIssuerName}-cross`].includes(i.issuerName),
        ),
      };
    },

    /**
     * A short-lived test leaf through `role`, from one given issuer (or the default), for a key
     * made here and dropped. Its serial is kept to show later that it still verifies.
     */
    async caRotationTestLeaf(
      input: MountRef & TestLeafSpec & { issuerRef?: string },
    ): Promise<{ serial: string; issuerFingerprint: string }> {
      const vault = clusters.get(input.cluster);
      const csr = await testLeafCsr(await readRole(vault, input.mount, input.role), input.commonName);
      const request = { csr, commonName: input.commonName, ttl: '5m' };
      const leaf = input.issuerRef
        ? await signCsrByIssuer(vault, input.mount, input.issuerRef, input.role, request)
        : await signCsr(vault, input.mount, input.role, request);
      return { serial: leaf.serialNumber, issuerFingerprint: fingerprint(leaf.issuingCa) };
    },

    /**
     * One rotation per mount at a time, until its grace period ends: a second one would switch
     * the default under the first, and the first's rollback would then remove the issuer the
     * second started from. The lock is a KV record beside the root (check-and-set), naming the
     * rotation that holds it; taking it again as the same rotation is a no-op.
     */
    async caRotationLock(input: MountRef & { root: RootStore; owner: string }): Promise<{ version: number }> {
      const vault = clusters.get(input.cluster);
      const where = rotationLockPath(input.root, input.mount);
      let version = 0;
      try {
        const held = await readSecret(vault, where.mount, where.path, { consistent: true });
        version = held.metadata.version;
        if (held.data.state === 'held' && held.data.owner !== input.owner)
          throw bad(
            'CaRotationInProgress',
            `${input.mount} is being rotated by ${String(held.data.owner)} (since ${String(held.data.since)}); ` +
              `wait for its grace period to end or cancel it. If that workflow is gone, delete ${where.mount}/${where.path}`,
          );
        if (held.data.state === 'held') return { version };
      } catch (err) {
        if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
      }
      const written = await writeSecret(
        vault,
        where.mount,
        where.path,
        { state: 'held', owner: input.owner, since: new Date().toISOString() },
        { cas: version },
      );
      return { version: written.version };
    },

    /** Releases the rotation lock if this rotation holds it (after the grace, or after a rollback). */
    async caRotationUnlock(
      input: MountRef & { root: RootStore; owner: string },
    ): Promise<{ released: boolean }> {
      const vault = clusters.get(input.cluster);
      const where = rotationLockPath(input.root, input.mount);
      let held: Awaited<ReturnType<typeof readSecret>>;
      try {
        held = await readSecret(vault, where.mount, where.path, { consistent: true });
      } catch (err) {
        if (isVaultFailure(err, VaultErrorType.NotFound)) return { released: false };
        throw err;
      }
      if (held.data.state !== 'held' || held.data.owner !== input.owner) return { released: false };
      await writeSecret(
        vault,
        where.mount,
        where.path,
        { state: 'released', owner: input.owner, since: new Date().toISOString() },
        { cas: held.metadata.version },
      );
      return { released: true };
    },

    /**
     * Publishes the trust bundle clients should trust: the root and the given intermediates
     * (old and new during a rotation). Public data; a new KV version only when it changed.
     */
    async caPublishTrustBundle(
      input: MountRef & {
        /** The root the bundle lives beside (and the one trusted unless `trustedRoots` says otherwise). */
        root: RootStore;
        trustedRoots?: RootStore[];
        issuerIds: string[];
      },
    ): Promise<TrustBundle> {
      const vault = clusters.get(input.cluster);
      const roots: string[] = [];
      for (const store of input.trustedRoots ?? [input.root])
        roots.push((await readRoot(vault, store)).pem.trim());
      const intermediates: string[] = [];
      for (const id of input.issuerIds)
        intermediates.push((await readIssuer(vault, input.mount, id)).certificate.trim());
      const data = {
        root: `${roots.join('\n')}\n`,
        intermediates: `${intermediates.join('\n')}\n`,
        issuers: input.issuerIds.join(','),
      };
      const where = trustBundlePath(input.root, input.mount);
      let version: number | undefined;
      try {
        const current = await readSecret(vault, where.mount, where.path, { consistent: true });
        const same = Object.entries(data).every(([k, v]) => current.data[k] === v);
        if (same) version = current.metadata.version;
      } catch (err) {
        if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
      }
      version ??= (await writeSecret(vault, where.mount, where.path, data)).version;
      return {
        ...where,
        version,
        rootFingerprints: roots.map(fingerprint),
        intermediateFingerprints: intermediates.map(fingerprint),
      };
    },

    /**
     * Makes `issuerId` the mount's default and sets the given roles' issuer and key type. The
     * switch, and its undo with the old issuer and the roles as they were.
     */
    async caSwitchIssuer(
      input: MountRef & {
        issuerId: string;
        roles: Pick<RoleState, 'name' | 'issuerRef' | 'keyType' | 'keyBits'>[];
      },
    ): Promise<{ defaultIssuer: string; roles: string[] }> {
      const vault = clusters.get(input.cluster);
      // Roles first on the way back would pin leaves to an issuer not yet default; either order
      // keeps issuance working, because both issuers can issue until the grace period ends.
      await setDefaultIssuer(vault, input.mount, input.issuerId);
      for (const role of input.roles)
        await patchRole(vault, input.mount, role.name, {
          issuerRef: role.issuerRef,
          keyType: role.keyType,
          keyBits: role.keyBits,
        });
      return { defaultIssuer: input.issuerId, roles: input.roles.map((r) => r.name) };
    },

    /**
     * The verification: a test leaf from the new default issuer chains to the root, and the leaf
     * the old issuer signed before the switch still verifies (its issuer trusted, it unrevoked).
     */
    async caVerifyRotation(
      input: MountRef &
        TestLeafSpec & {
          root: RootStore;
          newIssuerId: string;
          oldIssuerId: string;
          beforeLeafSerial: string;
          /** A root rotation: the new issuer chains to this root, and through `crossIssuerId` to the old. */
          newRoot?: RootStore;
          crossIssuerId?: string;
        },
    ): Promise<{ testLeafSerial: string }> {
      const vault = clusters.get(input.cluster);
      const oldRoot = new X509Certificate((await readRoot(vault, input.root)).pem);
      const newRoot = input.newRoot
        ? new X509Certificate((await readRoot(vault, input.newRoot)).pem)
        : oldRoot;
      const issuerCert = async (id: string) =>
        new X509Certificate((await readIssuer(vault, input.mount, id)).certificate);
      const [fresh, old] = [await issuerCert(input.newIssuerId), await issuerCert(input.oldIssuerId)];
      const chains = (leaf: X509Certificate, inter: X509Certificate, root = oldRoot) =>
        leaf.checkIssued(inter) &&
        leaf.verify(inter.publicKey) &&
        inter.checkIssued(root) &&
        inter.verify(root.publicKey);

      const csr = await testLeafCsr(await readRole(vault, input.mount, input.role), input.commonName);
      const leaf = await signCsr(vault, input.mount, input.role, {
        csr,
        commonName: input.commonName,
        ttl: '5m',
      });
      if (fingerprint(leaf.issuingCa) !== fresh.fingerprint256)
        throw new Error(`the test leaf ${leaf.serialNumber} was not signed by the new default issuer`);
      const leafCert = new X509Certificate(leaf.certificate);
      if (!chains(leafCert, fresh, newRoot))
        throw new Error(`the test leaf ${leaf.serialNumber} does not chain to the root`);
      if (input.crossIssuerId && !chains(leafCert, await issuerCert(input.crossIssuerId), oldRoot))
        throw new Error(
          `the test leaf ${leaf.serialNumber} does not chain to the old root through the cross-signed issuer`,
        );

      const before = await readCertificate(vault, input.mount, input.beforeLeafSerial);
      if (before.revokedAt)
        throw new Error(`the old issuer's leaf ${input.beforeLeafSerial} was revoked at ${before.revokedAt}`);
      if (!chains(new X509Certificate(before.certificate), old))
        throw new Error(`the old issuer's leaf ${input.beforeLeafSerial} no longer chains to the root`);
      return { testLeafSerial: leaf.serialNumber };
    },

    /**
     * Root rotation: the new issuer's chain names its cross-signed twin and both roots
     * (manual_chain), so a leaf's ca_chain lets a client reach whichever root it trusts.
     */
    async caLinkCrossChain(
      input: MountRef & { issuerId: string; crossIssuerId: string; root: RootStore; newRoot: RootStore },
    ): Promise<{ manualChain: string[] }> {
      const vault = clusters.get(input.cluster);
      const wanted = [
        fingerprint((await readRoot(vault, input.newRoot)).pem),
        fingerprint((await readRoot(vault, input.root)).pem),
      ];
      const found = new Map<string, string>();
      for (const { issuerId } of await listIssuers(vault, input.mount)) {
        const print = fingerprint((await readIssuer(vault, input.mount, issuerId)).certificate);
        if (wanted.includes(print) && !found.has(print)) found.set(print, issuerId);
      }
      const rootIds = wanted.map((print) => found.get(print));
      if (rootIds.some((id) => id === undefined))
        throw new Error(`both roots must be imported into ${input.mount} before the chain is linked`);
      const manualChain = [input.issuerId, input.crossIssuerId, ...(rootIds as string[])];
      await updateIssuer(vault, input.mount, input.issuerId, { manualChain });
      return { manualChain };
    },

    /**
     * Marks a root retired in its KV record (a new version; the certificate and key label kept):
     * `retired_at` and its successor. Retired already: nothing is written.
     */
    async caRetireRoot(input: {
      cluster?: string | undefined;
      root: RootStore;
      successor: RootStore;
    }): Promise<{ version: number; retiredAt: string }> {
      const vault = clusters.get(input.cluster);
      const current = await readSecret(vault, input.root.mount, input.root.path, { consistent: true });
      if (typeof current.data.retired_at === 'string')
        return { version: current.metadata.version, retiredAt: current.data.retired_at };
      const retiredAt = new Date().toISOString();
      const written = await writeSecret(
        vault,
        input.root.mount,
        input.root.path,
        {
          ...current.data,
          retired_at: retiredAt,
          successor: `${input.successor.mount}/${input.successor.path}`,
        },
        { cas: current.metadata.version },
      );
      return { version: written.version, retiredAt };
    },

    /** Narrows what an issuer may do (crl-signing,ocsp-signing; later read-only). */
    async caSetIssuerUsage(
      input: MountRef & { issuerId: string; usage: IssuerUsage[] },
    ): Promise<{ usage: string }> {
      const vault = clusters.get(input.cluster);
      const issuer = await updateIssuer(vault, input.mount, input.issuerId, { usage: input.usage });
      return { usage: issuer.usage };
    },

    /**
     * The rollback of a rotation's new issuer: the old default back if the new one had become it,
     * then every issuer using the key named `keyName`, then the key. Nothing there: nothing to do.
     */
    async caRemoveRotationIssuer(
      input: MountRef & { keyName: string; restoreDefault: string },
    ): Promise<{ removedIssuers: string[]; removedKey: string | null }> {
      const vault = clusters.get(input.cluster);
      const keyId = await findKeyByName(vault, input.mount, input.keyName);
      if (!keyId) return { removedIssuers: [], removedKey: null };
      const ours: string[] = [];
      for (const { issuerId } of await listIssuers(vault, input.mount))
        if ((await readIssuer(vault, input.mount, issuerId)).key_id === keyId) ours.push(issuerId);
      if (ours.includes(await readDefaultIssuer(vault, input.mount)))
        await setDefaultIssuer(vault, input.mount, input.restoreDefault);
      for (const id of ours) await deleteIssuer(vault, input.mount, id);
      await deleteKey(vault, input.mount, keyId);
      return { removedIssuers: ours, removedKey: keyId };
    },

    /** The expired old issuer deleted, then its key (unless another issuer still uses it). */
    async caDeleteIssuer(input: MountRef & { issuerId: string }): Promise<{ deleted: boolean }> {
      const vault = clusters.get(input.cluster);
      let keyId: string;
      try {
        keyId = (await readIssuer(vault, input.mount, input.issuerId)).key_id;
      } catch (err) {
        if (isVaultFailure(err, VaultErrorType.NotFound)) return { deleted: false }; // gone already
        throw err;
      }
      if ((await readDefaultIssuer(vault, input.mount)) === input.issuerId)
        throw bad(
          'CaIssuerInUse',
          `issuer ${input.issuerId} is the default of ${input.mount} again; not deleted`,
        );
      await deleteIssuer(vault, input.mount, input.issuerId);
      const stillUsed = await Promise.all(
        (await listIssuers(vault, input.mount)).map(
          async (i) => (await readIssuer(vault, input.mount, i.issuerId)).key_id === keyId,
        ),
      );
      if (keyId && !stillUsed.includes(true)) await deleteKey(vault, input.mount, keyId);
      return { deleted: true };
    },

    /** Tidy: expired leaves and revocation entries, and expired issuers past Vault's safety buffer. */
    async caTidy(input: MountRef): Promise<{ started: true }> {
      const vault = clusters.get(input.cluster);
      await tidy(vault, input.mount, {
        tidyCertStore: true,
        tidyRevokedCerts: true,
        tidyExpiredIssuers: true,
      });
      return { started: true };
    },
  });
}

export type CaRotationActivities = ReturnType<typeof createCaRotationActivities>;
