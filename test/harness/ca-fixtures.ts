// The CA a rotation test starts from, made the way `ca init-root` and `ca bootstrap` make it but by
// calling their activities directly: a root key in the SoftHSM2 token with its self-signed
// certificate in KV, and an intermediate mount whose default issuer that root signed, with one
// server role. Shared by the rotation suites (integration, seal, worker kill).
import type { RootStore } from '../../activities/ca/bootstrap.js';
import { createCaBootstrapActivities } from '../../activities/ca/bootstrap.js';
import { createCaRootActivities } from '../../activities/ca/root.js';
import type { HsmConfig } from '../../activities/hsm/pkcs11.js';
import type { RootKeyType } from '../../common/ca/facts.js';
import type { VaultClient } from '../../vault/client.js';
import { readSecret } from '../../vault/kv.js';
import type { KeySpec } from '../../vault/pki/keys.js';
import { unique } from './vault.js';

const YEAR_MS = 365 * 24 * 3600_000;

/** A root key made in the token and its certificate stored at `store`; returns the certificate. */
export async function makeHsmRoot(
  vault: VaultClient,
  hsm: HsmConfig,
  store: RootStore,
  options: { keyType?: RootKeyType; subject?: string; ttlMs?: number } = {},
): Promise<string> {
  const rootActivities = createCaRootActivities({ vault, hsm });
  const keyLabel = unique('root');
  await rootActivities.caEnsureRootKey({ keyLabel, keyType: options.keyType ?? 'ec-p256', adopt: false });
  await rootActivities.caIssueRootCertificate({
    keyLabel,
    subject: options.subject ?? 'CN=vaultops test root, O=vaultops',
    ttlMs: options.ttlMs ?? 10 * YEAR_MS,
    store,
  });
  return String((await readSecret(vault, store.mount, store.path, { consistent: true })).data.certificate);
}

export interface BootstrappedMount {
  mount: string;
  oldIssuerId: string;
}

/**
 * A mount as `ca bootstrap` leaves it: an intermediate (RSA 2048 unless `key` says otherwise) named
 * `int-old`, signed by the HSM root, the default issuer, and a `server` role for *.example.test
 * whose leaves live at most `roleMaxTtl`.
 */
export async function bootstrappedMount(
  vault: VaultClient,
  hsm: HsmConfig,
  options: {
    root: RootStore;
    baseUrl: string;
    roleMaxTtl: string;
    key?: KeySpec;
    intermediateTtlMs?: number;
  },
): Promise<BootstrappedMount> {
  const bootstrap = createCaBootstrapActivities({ vault, hsm });
  const key = options.key ?? { keyType: 'rsa', keyBits: 2048 };
  const mount = unique('pki_int');
  await bootstrap.caEnsurePkiMount({ mount, maxTtl: '87600h' });
  const { csr } = await bootstrap.caIntermediateCsr({
    mount,
    ...key,
    keyName: 'int-old-key',
    commonName: `vaultops test Intermediate CA (${key.keyType.toUpperCase()})`,
  });
  const signed = await bootstrap.caSignIntermediateInHsm({
    root: options.root,
    csr,
    ttlMs: options.intermediateTtlMs ?? YEAR_MS,
  });
  const { issuerId } = await bootstrap.caImportIntermediate({
    mount,
    root: options.root,
    certificate: signed.certificate,
    issuerName: 'int-old',
    baseUrl: options.baseUrl,
  });
  await bootstrap.caWriteRoles({
    mount,
    roles: {
      server: {
        allowedDomains: ['example.test'],
        allowSubdomains: true,
        maxTtl: options.roleMaxTtl,
        keyType: key.keyType,
        ...(key.keyBits ? { keyBits: key.keyBits } : {}),
      },
    },
  });
  return { mount, oldIssuerId: issuerId };
}
