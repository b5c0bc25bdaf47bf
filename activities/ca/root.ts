// The root CA in the HSM (`vaultops ca init-root`): make or adopt the root key in the
// PKCS#11 token, then a self-signed root certificate, stored (it is public) in KV so every later
// step (bootstrap, rotation, trust bundles) finds it. Each activity checks before it creates, so a
// retry after a crash finds the key or certificate it made. The key never leaves the token; the
// workflow carries its label and the certificate's fingerprint.
import { createHash, X509Certificate } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { RootKeyType } from '../../common/ca/facts.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { readSecret, writeSecret } from '../../vault/kv.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { createRootCertificate } from '../hsm/ca-certificates.js';
import { type HsmConfig, type HsmKeyType, type HsmSession, openHsm } from '../hsm/pkcs11.js';

export interface RootKeyRequest {
  keyLabel: string;
  keyType: RootKeyType;
  /** The key must already be on the token (adopt an existing root); never create one. */
  adopt: boolean;
}

export interface RootKeyFacts {
  keyLabel: string;
  keyType: RootKeyType;
  /** Made by this request (false: it was there already, adopted or made by an earlier attempt). */
  created: boolean;
  /** SHA-256 of the public key (SPKI DER), hex: what identifies the key outside the token. */
  publicKeySha256: string;
}

export interface RootCertificateRequest {
  cluster?: string | undefined;
  keyLabel: string;
  subject: string;
  ttlMs: number;
  /** Where the certificate (public) is kept: a KV v2 mount and path. */
  store: { mount: string; path: string };
}

export interface RootCertificateFacts {
  /** SHA-256 fingerprint of the certificate, colon-separated hex as openssl prints it. */
  fingerprint: string;
  serial: string;
  notAfter: string;
  /** The KV version that holds it, and whether this request issued it. */
  version: number;
  issued: boolean;
}

const bad = (type: string, message: string) =>
  ApplicationFailure.create({ type, nonRetryable: true, message });

function keyTypeOf(type: HsmKeyType): RootKeyType | undefined {
  if (type.kind === 'ec') return type.curve === 'P-384' ? 'ec-p384' : 'ec-p256';
  if (type.bits === 4096) return 'rsa-4096';
  if (type.bits === 2048) return 'rsa-2048';
  return undefined;
}

export function createCaRootActivities(
  deps: ClusterDeps & {
    /** The token's settings (`hsm:` in the configuration); absent: CA activities refuse. */
    hsm?: HsmConfig | undefined;
  },
) {
  const clusters = resolveClusters(deps);
  const withToken = async <T>(fn: (session: HsmSession) => Promise<T> | T): Promise<T> => {
    if (!deps.hsm) {
      throw bad(
        'HsmNotConfigured',
        'no HSM is configured for this worker: add an "hsm:" section (module, token_label, pin_env) to its configuration',
      );
    }
    const session = openHsm(deps.hsm);
    try {
      return await fn(session);
    } finally {
      session.close();
    }
  };

  return {
    /** Finds the root key on the token, or makes it there (sensitive, never extractable). */
    async caEnsureRootKey(request: RootKeyRequest): Promise<RootKeyFacts> {
      return withToken((session) => {
        let created = false;
        let pair = session.findKeyPair(request.keyLabel);
        if (!pair && request.adopt) {
          throw bad('RootKeyMissing', `no key pair labelled "${request.keyLabel}" is on the token to adopt`);
        }
        if (!pair) {
          const [kind, size] = request.keyType.split('-') as ['ec' | 'rsa', string];
          if (kind === 'ec') session.generateEcKeyPair(request.keyLabel, size === 'p384' ? 'P-384' : 'P-256');
          else session.generateRsaKeyPair(request.keyLabel, Number(size) as 2048 | 4096);
          created = true;
          pair = session.findKeyPair(request.keyLabel);
          if (!pair) throw new Error(`the token did not keep the key "${request.keyLabel}" it made`);
        }
        const found = keyTypeOf(pair.type);
        if (found !== request.keyType) {
          throw bad(
            'RootKeyMismatch',
            `the key labelled "${request.keyLabel}" on the token is ${found ?? JSON.stringify(pair.type)}, not ${request.keyType}`,
          );
        }
        if (pair.facts.extractable || !pair.facts.sensitive) {
          throw bad(
            'RootKeyExtractable',
            `the key labelled "${request.keyLabel}" can leave the token (extractable or not sensitive); a root key must not`,
          );
        }
        const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
        return {
          keyLabel: request.keyLabel,
          keyType: request.keyType,
          created,
          publicKeySha256: createHash('sha256').update(spki).digest('hex'),
        };
      });
    },

    /**
     * The root certificate for the token key, self-signed in the token and stored in KV. One
     * already stored for the same key is the answer, as it is (a retry, or init-root run again);
     * one for another key is refused, since replacing a root is a root rotation.
     */
    async caIssueRootCertificate(request: RootCertificateRequest): Promise<RootCertificateFacts> {
      if (!(request.ttlMs > 0)) throw bad('RootBadInput', 'the root certificate needs a positive TTL');
      const vault = clusters.get(request.cluster);
      const { mount, path } = request.store;
      let stored: { pem: string; version: number } | undefined;
      try {
        const secret = await readSecret(vault, mount, path, { consistent: true });
        if (typeof secret.data.certificate === 'string')
          stored = { pem: secret.data.certificate, version: secret.metadata.version };
      } catch (err) {
        if (!isVaultFailure(err, VaultErrorType.NotFound)) throw err;
      }
      return withToken(async (session) => {
        const pair = session.findKeyPair(request.keyLabel);
        if (!pair) throw bad('RootKeyMissing', `no key pair labelled "${request.keyLabel}" is on the token`);
        const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
        if (stored) {
          const cert = new X509Certificate(stored.pem);
          const sameKey = cert.publicKey.export({ format: 'der', type: 'spki' }).equals(spki);
          if (!sameKey) {
            throw bad(
              'RootExists',
              `${mount}/${path} already holds a root certificate for another key (${cert.subject.replace(/\n/g, ', ')}); replacing a root is a root rotation, or choose another --store path`,
            );
          }
          return { ...factsOf(cert), version: stored.version, issued: false };
        }
        const now = Date.now();
        const pem = await createRootCertificate(session, {
          keyLabel: request.keyLabel,
          subject: request.subject,
          // A minute back, so that a relying party whose clock is a little behind accepts it.
          notBefore: new Date(now - 60_000),
          notAfter: new Date(now + request.ttlMs),
        });
        const cert = new X509Certificate(pem);
        const written = await writeSecret(
          vault,
          mount,
          path,
          { certificate: pem, key_label: request.keyLabel, fingerprint_sha256: cert.fingerprint256 },
          { cas: 0 },
        );
        return { ...factsOf(cert), version: written.version, issued: true };
      });
    },
  };
}

function factsOf(cert: X509Certificate) {
  return {
    fingerprint: cert.fingerprint256,
    serial: cert.serialNumber,
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

export type CaRootActivities = ReturnType<typeof createCaRootActivities>;
