// CA bootstrap (`vaultops ca bootstrap`): an intermediate PKI mount whose key Vault
// generates and keeps, signed by the HSM root. Each activity checks before it creates, so a retry
// finds what its predecessor made: the mount, the intermediate's key (by name), the imported
// issuer (by certificate). Certificates and CSRs are public; no key leaves Vault or the token.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ApplicationFailure } from '@temporalio/common';
import { keptAlive } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { exactlyOnce } from '../../vault/exactly-once.js';
import { readSecret } from '../../vault/kv.js';
import { signCsr } from '../../vault/pki/issue.js';
import {
  generateIntermediateCsrForKey,
  listIssuers,
  readIssuer,
  setDefaultIssuer,
  setIssuerUrls,
  setSignedIntermediate,
  updateIssuer,
} from '../../vault/pki/issuers.js';
import { generateNamedKey, type KeySpec } from '../../vault/pki/keys.js';
import { type RoleSpec, readRole, writeRole } from '../../vault/pki/roles.js';
import { enableSecretsEngine, listSecretsEngines, tuneMaxLeaseTtl } from '../../vault/sys.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { nodeCrypto, signIntermediate } from '../hsm/ca-certificates.js';
import { type HsmConfig, openHsm } from '../hsm/pkcs11.js';

/** A WebCrypto key pair as @peculiar/x509 takes it for a CSR. */
type CsrKeys = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'];

export interface IntermediateRef {
  cluster?: string | undefined;
  /** The intermediate PKI mount, e.g. `pki_int`. */
  mount: string;
}

export interface RootStore {
  mount: string;
  path: string;
}

const bad = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

/** The root's certificate and its token key label, as `ca init-root` stored them. */
export async function readRoot(
  vault: VaultClient,
  store: RootStore,
): Promise<{ pem: string; keyLabel: string }> {
  try {
    const { data } = await readSecret(vault, store.mount, store.path, { consistent: true });
    if (typeof data.certificate !== 'string' || typeof data.key_label !== 'string')
      throw bad(
        'RootMissing',
        `${store.mount}/${store.path} holds no root certificate; run vaultops ca init-root`,
      );
    return { pem: data.certificate, keyLabel: data.key_label };
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound))
      throw bad('RootMissing', `no root at ${store.mount}/${store.path}; run vaultops ca init-root first`);
    throw err;
  }
}

/**
 * The CSR of a test leaf, for a key of the kind a role asks for (Vault refuses a CSR of another
 * type). The key is made here, never extractable, and dropped with the CSR's caller.
 */
export async function testLeafCsr(
  role: { key_type?: string; key_bits?: number },
  commonName: string,
): Promise<string> {
  const bits = role.key_bits ?? 0;
  const algorithm =
    role.key_type === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: Math.max(bits, 2048),
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : { name: 'ECDSA', namedCurve: bits === 384 ? 'P-384' : 'P-256', hash: 'SHA-256' };
  const keys = (await nodeCrypto.subtle.generateKey(algorithm, false, ['sign', 'verify'])) as CsrKeys;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: `CN=${commonName}`, keys, signingAlgorithm: algorithm },
    nodeCrypto,
  );
  return csr.toString('pem');
}

export function createCaBootstrapActivities(
  deps: ClusterDeps & {
    hsm?: HsmConfig | undefined;
  },
) {
  const clusters = resolveClusters(deps);

  return keptAlive({
    /** The PKI mount, enabled if missing, its maximum TTL tuned to what the intermediate needs. */
    async caEnsurePkiMount(input: IntermediateRef & { maxTtl: string }): Promise<{ created: boolean }> {
      const vault = clusters.get(input.cluster);
      const pkiMount = async () =>
        (await listSecretsEngines(vault)).find((m) => m.path === `${input.mount}/`);
      const existing = await pkiMount();
      if (existing && existing.type !== 'pki')
        throw bad(
          'CaBadMount',
          `${input.mount}/ is a ${existing.type} mount, not pki; choose another --mount`,
        );
      if (!existing) {
        // Enabling twice is refused ("path is already in use"), so a lost reply is settled by the
        // mount table: our earlier send landed if the pki mount is there now.
        await exactlyOnce(
          () => enableSecretsEngine(vault, input.mount, 'pki'),
          async () => ((await pkiMount())?.type === 'pki' ? { done: true, value: null } : { done: false }),
        );
      }
      await tuneMaxLeaseTtl(vault, input.mount, input.maxTtl);
      return { created: !existing };
    },

    /**
     * The intermediate's key, generated in Vault under `keyName` (found again on a retry), and a
     * CSR for it. A CSR is public; it goes to the HSM step through the history.
     */
    async caIntermediateCsr(
      input: IntermediateRef & KeySpec & { keyName: string; commonName: string },
    ): Promise<{ csr: string; keyId: string }> {
      const vault = clusters.get(input.cluster);
      const keyId = await generateNamedKey(vault, input.mount, input);
      const csr = await generateIntermediateCsrForKey(vault, input.mount, {
        keyRef: keyId,
        commonName: input.commonName,
      });
      return { csr, keyId };
    },

    /** The HSM root signs an intermediate's CSR (or cross-signs one); the certificate (public) comes back. */
    async caSignIntermediateInHsm(input: {
      cluster?: string | undefined;
      root: RootStore;
      csr: string;
      ttlMs: number;
    }): Promise<{ certificate: string; fingerprint: string }> {
      if (!deps.hsm)
        throw bad(
          'HsmNotConfigured',
          'no HSM is configured for this worker: add an "hsm:" section to its configuration',
        );
      const root = await readRoot(clusters.get(input.cluster), input.root);
      const session = openHsm(deps.hsm);
      try {
        const now = Date.now();
        // A CA cannot outlive its issuer: capped at the root's own expiry (which matters most for
        // an old root cross-signing in a root rotation).
        const rootNotAfter = Date.parse(new X509Certificate(root.pem).validTo);
        const certificate = await signIntermediate(session, {
          issuerPem: root.pem,
          issuerKeyLabel: root.keyLabel,
          csrPem: input.csr,
          notBefore: new Date(now - 60_000),
          notAfter: new Date(Math.min(now + input.ttlMs, rootNotAfter)),
        });
        return { certificate, fingerprint: new X509Certificate(certificate).fingerprint256 };
      } finally {
        session.close();
      }
    },

    /**
     * Imports the signed intermediate with the root as its chain, names it, points its URLs at
     * its own CRL and CA certificate, and makes it the mount's default issuer. Imported before: the
     * issuer holding this certificate is found and brought to the same state.
     */
    async caImportIntermediate(
      input: IntermediateRef & {
        root: RootStore;
        certificate: string;
        issuerName: string;
        /** Where clients reach Vault, e.g. https://vault.example.com:8200 (for AIA and CRL URLs). */
        baseUrl: string;
        /** Make it the mount's default issuer (default true; a rotation switches later, on its own step). */
        makeDefault?: boolean;
      },
    ): Promise<{ issuerId: string }> {
      const vault = clusters.get(input.cluster);
      const root = await readRoot(vault, input.root);
      const imported = await setSignedIntermediate(
        vault,
        input.mount,
        `${input.certificate.trim()}\n${root.pem.trim()}\n`,
      );
      let issuerId = imported.intermediateIssuer;
      if (!issuerId) {
        const wanted = new X509Certificate(input.certificate).fingerprint256;
        for (const { issuerId: id } of await listIssuers(vault, input.mount)) {
          const issuer = await readIssuer(vault, input.mount, id);
          if (new X509Certificate(issuer.certificate).fingerprint256 === wanted) issuerId = id;
        }
      }
      if (!issuerId) throw new Error('Vault kept no issuer for the signed intermediate');
      await updateIssuer(vault, input.mount, issuerId, { issuerName: input.issuerName });
      await setIssuerUrls(vault, input.mount, issuerId, input.baseUrl);
      if (input.makeDefault ?? true) await setDefaultIssuer(vault, input.mount, issuerId);
      return { issuerId };
    },

    /** The roles of the declarative spec, written as given (a write sets the whole role). */
    async caWriteRoles(
      input: IntermediateRef & { roles: Record<string, RoleSpec> },
    ): Promise<{ roles: string[] }> {
      const vault = clusters.get(input.cluster);
      for (const [name, role] of Object.entries(input.roles)) await writeRole(vault, input.mount, name, role);
      return { roles: Object.keys(input.roles) };
    },

    /**
     * Proof the CA works: a test leaf signed through `role` (for a key made here and dropped)
     * whose chain verifies to the HSM root: leaf by intermediate, intermediate by root.
     */
    async caVerifyLeaf(
      input: IntermediateRef & { root: RootStore; role: string; commonName: string },
    ): Promise<{ serial: string; chainVerified: true }> {
      const vault = clusters.get(input.cluster);
      const root = new X509Certificate((await readRoot(vault, input.root)).pem);
      // On the active node: the role was written a step before, and a standby may lag behind.
      const spec = await readRole(vault, input.mount, input.role);
      const csr = await testLeafCsr(spec, input.commonName);
      const leaf = await signCsr(vault, input.mount, input.role, {
        csr,
        commonName: input.commonName,
        ttl: '5m',
      });
      const leafCert = new X509Certificate(leaf.certificate);
      const inter = new X509Certificate(leaf.issuingCa);
      if (!leafCert.verify(inter.publicKey) || !leafCert.checkIssued(inter))
        throw new Error(`the test leaf ${leaf.serialNumber} does not verify against its issuing CA`);
      if (!inter.verify(root.publicKey) || !inter.checkIssued(root))
        throw new Error('the issuing CA does not verify against the HSM root');
      return { serial: leaf.serialNumber, chainVerified: true };
    },
  });
}

export type CaBootstrapActivities = ReturnType<typeof createCaBootstrapActivities>;
