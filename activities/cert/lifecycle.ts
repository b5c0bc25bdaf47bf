// The certificate lifecycle's side effects: read what a role would grant (for
// the policy, before any request), issue and deploy in one step, revoke, prove the revocation
// through the CRL and a signature-checked OCSP answer, and remove deployed files.
//
// Issue and deploy are one activity so the private key never leaves it: the key is generated
// here, written to its 0600 file, and its CSR is signed through the role (`sign/<role>`, which
// enforces the role as `issue/<role>` does). Signing is exactly-once where issuing is not: a lost
// reply is settled by finding the certificate Vault stored for this public key, whereas with
// `issue` the key would exist only in the lost reply. With a user's CSR (--csr) the key stays
// with the user and only the certificate and chain are deployed. The workflow gets public facts.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import * as x509 from '@peculiar/x509';
import { ApplicationFailure } from '@temporalio/common';
import { keptAlive } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { fetchCrl } from '../../vault/pki/crl.js';
import { revoke, serialHex, signCsr } from '../../vault/pki/issue.js';
import { listIssuers, readIssuer } from '../../vault/pki/issuers.js';
import type { KeyType } from '../../vault/pki/keys.js';
import { queryOcspVerified } from '../../vault/pki/ocsp.js';
import { type RoleSettings, readRole } from '../../vault/pki/roles.js';
import { readMountTune } from '../../vault/sys.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';
import { nodeCrypto } from '../hsm/ca-certificates.js';
import { type StagedFile, stageFile } from '../staged-file.js';
import {
  CERT_DEPLOY_FAILED,
  checkWritable,
  type ReloadOutcome,
  replaceFiles,
  runReloadCommand,
} from './files.js';

/** A WebCrypto key pair as @peculiar/x509 takes it for a CSR. */
type CsrKeys = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'];

/** Bad certificate input that no retry fixes (an unknown role, a CSR of the wrong kind). */
export const CERT_BAD_INPUT = 'CertBadInput';
/** The revocation is not (yet) visible in the CRL or OCSP: retried. */
export const CERT_NOT_YET_REVOKED = 'CertNotYetRevoked';

export interface CertTarget {
  cluster?: string | undefined;
  mount: string;
  role: string;
}

/** Where the certificate goes on the worker's machine (absolute paths). */
export interface CertDeploy {
  certFile: string;
  /** The private key's file (mode 0600); not with a user's CSR, whose key stays with the user. */
  keyFile?: string | undefined;
  /** The issuing CA and the rest of the chain, PEM. */
  chainFile?: string | undefined;
  /** Run with `sh -c` after the files are in place, e.g. `systemctl reload nginx`. */
  reloadCommand?: string | undefined;
}

export interface CertKey {
  keyType: KeyType;
  /** 0: the type's default size (rsa 2048, ec 256) or no size (ed25519). */
  keyBits: number;
}

export interface CertPlanInput extends CertTarget {
  /** The user's CSR (public), when the key stays with the user. */
  csr?: string | undefined;
  /** The key to make when the role allows any type (`key_type any`); default EC P-256. */
  key?: Partial<CertKey> | undefined;
}

/** What the role (and the CSR) would put in a certificate: the facts the policy judges. */
export interface CertPlan extends CertKey {
  keyUsages: string[];
  extKeyUsages: string[];
  roleTtlSeconds: number;
  roleMaxTtlSeconds: number;
  mountDefaultTtlSeconds: number;
  mountMaxTtlSeconds: number;
  /** Whether the role takes the SANs from the CSR (the workflow's names travel in the CSR). */
  usesCsrSans: boolean;
  /** The names in the user's CSR, if one was given. */
  csrNames: { commonName: string; dnsNames: string[]; ipSans: string[] } | null;
}

export interface CertIssueInput extends CertTarget {
  commonName: string;
  altNames: string[];
  ipSans: string[];
  ttl?: string | undefined;
  /** The key to generate (from the plan); ignored with a CSR. */
  key: CertKey;
  csr?: string | undefined;
  deploy: CertDeploy;
}

/** A deployed certificate's public facts. */
export interface IssuedCertFacts {
  serial: string;
  issuerId: string;
  subject: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the certificate, colon-separated hex. */
  fingerprint: string;
  /** The reload command's outcome (null without one): a failed reload is reported, not fatal. */
  reload: ReloadOutcome | null;
}

export interface CertRevokeInput extends CertTarget {
  serial: string;
}

export interface CertRevocationProof {
  serial: string;
  crl: { revoked: true; thisUpdate: string };
  ocsp: { status: 'revoked'; revokedAt: string | null; signedBy: 'issuer' | 'delegated-responder' };
}

function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: CERT_BAD_INPUT, nonRetryable: true, message });
}

const DEFAULT_BITS: Record<KeyType, number> = { rsa: 2048, ec: 256, ed25519: 0 };

/** The WebCrypto algorithm for a key, with the hash its CSR is signed with. */
function keyAlgorithm(key: CertKey) {
  const bits = key.keyBits || DEFAULT_BITS[key.keyType];
  if (key.keyType === 'rsa')
    return {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: bits >= 3072 ? 'SHA-384' : 'SHA-256',
    };
  if (key.keyType === 'ec') {
    const curve = { 256: ['P-256', 'SHA-256'], 384: ['P-384', 'SHA-384'], 521: ['P-521', 'SHA-512'] }[bits];
    if (!curve) throw badInput(`ec keys are 256, 384 or 521 bits, not ${bits}`);
    return { name: 'ECDSA', namedCurve: curve[0], hash: curve[1] };
  }
  return { name: 'Ed25519' };
}

/** The key a CSR carries: its type and size, as Vault and the policy name them. */
function csrKey(csr: x509.Pkcs10CertificateRequest): CertKey {
  const alg = csr.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (alg.name === 'ECDSA' || alg.name === 'ECDH')
    return { keyType: 'ec', keyBits: Number((alg.namedCurve ?? 'P-0').slice(2)) };
  if (alg.name.startsWith('RSA')) return { keyType: 'rsa', keyBits: alg.modulusLength ?? 0 };
  if (alg.name === 'Ed25519') return { keyType: 'ed25519', keyBits: 0 };
  throw badInput(`the CSR's key is ${alg.name}: use an RSA, EC or Ed25519 key`);
}

function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw badInput(`the CSR is not a PEM certificate request: ${err instanceof Error ? err.message : err}`);
  }
}

function sanNames(extensions: readonly x509.Extension[]): { dns: string[]; ip: string[] } {
  const out = { dns: [] as string[], ip: [] as string[] };
  for (const ext of extensions)
    if (ext instanceof x509.SubjectAlternativeNameExtension)
      for (const name of ext.names.items) {
        if (name.type === 'dns') out.dns.push(name.value);
        if (name.type === 'ip') out.ip.push(name.value);
      }
  return out;
}

/** The extended key usages a role gives its certificates: its flags and its own list. */
function extKeyUsages(role: RoleSettings): string[] {
  const usages = [
    ...(role.server_flag ? ['ServerAuth'] : []),
    ...(role.client_flag ? ['ClientAuth'] : []),
    ...(role.code_signing_flag ? ['CodeSigning'] : []),
    ...(role.email_protection_flag ? ['EmailProtection'] : []),
    ...(role.ext_key_usage ?? []),
  ];
  return [...new Set(usages)];
}

const pem = (text: string) => `${text.trim()}\n`;

export function createCertificateActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);
  /** Issuer ids by mount and certificate fingerprint: looked up once, the list re-read on a miss. */
  const issuerIds = new Map<string, Map<string, string>>();

  async function issuerIdOf(vault: VaultClient, mount: string, issuingCa: string): Promise<string> {
    const fingerprint = new X509Certificate(issuingCa).fingerprint256;
    const known = issuerIds.get(mount)?.get(fingerprint);
    if (known) return known;
    const byFingerprint = new Map<string, string>();
    for (const { issuerId } of await listIssuers(vault, mount)) {
      const issuer = await readIssuer(vault, mount, issuerId);
      byFingerprint.set(new X509Certificate(issuer.certificate).fingerprint256, issuerId);
    }
    issuerIds.set(mount, byFingerprint);
    const found = byFingerprint.get(fingerprint);
    if (!found) throw new Error(`no issuer of ${mount} holds the certificate that signed this leaf`);
    return found;
  }

  return keptAlive({
    /** Reads the role (and the mount's TTLs, and the CSR) to say what a certificate would get. */
    async certPlan(input: CertPlanInput): Promise<CertPlan> {
      const vault = clusters.get(input.cluster);
      let role: RoleSettings;
      try {
        // Any node's view will do for a plan; the issuing write that follows goes to the active one.
        role = await readRole(vault, input.mount, input.role, { consistent: false });
      } catch (err) {
        if (isVaultFailure(err, VaultErrorType.NotFound))
          throw badInput(`${input.mount} has no role "${input.role}": name one of its roles (--role)`);
        throw err;
      }
      const tune = await readMountTune(vault, input.mount);
      let key: CertKey;
      let csrNames: CertPlan['csrNames'] = null;
      if (input.csr) {
        const csr = parseCsr(input.csr);
        key = csrKey(csr);
        const sans = sanNames(csr.extensions);
        csrNames = {
          commonName: csr.subjectName.getField('CN')[0] ?? '',
          dnsNames: sans.dns,
          ipSans: sans.ip,
        };
      } else if (!role.key_type || role.key_type === 'any') {
        const keyType = input.key?.keyType ?? 'ec';
        key = { keyType, keyBits: input.key?.keyBits || DEFAULT_BITS[keyType] };
      } else {
        const keyType = role.key_type as KeyType;
        key = { keyType, keyBits: role.key_bits || DEFAULT_BITS[keyType] };
      }
      if (role.key_type && role.key_type !== 'any' && role.key_type !== key.keyType)
        throw badInput(`role "${input.role}" signs ${role.key_type} keys only, not ${key.keyType}`);
      return {
        ...key,
        keyUsages: role.key_usage ?? [],
        extKeyUsages: extKeyUsages(role),
        roleTtlSeconds: role.ttl ?? 0,
        roleMaxTtlSeconds: role.max_ttl ?? 0,
        mountDefaultTtlSeconds: tune.defaultLeaseTtlSeconds,
        mountMaxTtlSeconds: tune.maxLeaseTtlSeconds,
        usesCsrSans: role.use_csr_sans ?? true,
        csrNames,
      };
    },

    /**
     * Generates the key (unless a CSR is given), has its CSR signed through the role, and puts
     * key, certificate and chain in place; then the reload command. Returns public facts only.
     * A retry after a failure past the signing makes a new key and certificate; the earlier one
     * was never deployed and runs out at its TTL.
     */
    async certIssueAndDeploy(input: CertIssueInput): Promise<IssuedCertFacts> {
      const { deploy } = input;
      for (const path of [deploy.certFile, deploy.keyFile, deploy.chainFile])
        if (path !== undefined && !isAbsolute(path))
          throw badInput(`${JSON.stringify(path)} must be an absolute path on the worker`);
      if (!input.csr && !deploy.keyFile) throw badInput('name the key file (keyFile): the key is made here');
      const vault = clusters.get(input.cluster);

      let csrPem = input.csr;
      let keyPem: string | undefined;
      if (!csrPem) {
        const algorithm = keyAlgorithm(input.key);
        const keys = (await nodeCrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CsrKeys;
        const csr = await x509.Pkcs10CertificateRequestGenerator.create(
          {
            name: [{ CN: [input.commonName] }],
            keys,
            signingAlgorithm: algorithm,
            extensions: [
              new x509.SubjectAlternativeNameExtension([
                ...[...new Set([input.commonName, ...input.altNames])].map((value) => ({
                  type: 'dns' as const,
                  value,
                })),
                ...input.ipSans.map((value) => ({ type: 'ip' as const, value })),
              ]),
            ],
          },
          nodeCrypto,
        );
        csrPem = csr.toString('pem');
        keyPem = x509.PemConverter.encode(
          await nodeCrypto.subtle.exportKey('pkcs8', keys.privateKey),
          'PRIVATE KEY',
        );
      }

      // Where the files go is checked, and the key staged, before Vault is asked: an unwritable
      // directory costs no certificate.
      await checkWritable([deploy.certFile, ...(deploy.chainFile ? [deploy.chainFile] : [])]);
      const stagedKey: StagedFile[] =
        keyPem && deploy.keyFile ? [await stageFile(deploy.keyFile, keyPem, 0o600, CERT_DEPLOY_FAILED)] : [];
      let signed: Awaited<ReturnType<typeof signCsr>>;
      try {
        signed = await signCsr(vault, input.mount, input.role, {
          csr: csrPem,
          commonName: input.commonName,
          ...(input.ttl ? { ttl: input.ttl } : {}),
        });
      } catch (err) {
        await Promise.all(stagedKey.map((k) => k.discard()));
        throw err;
      }
      const chain = signed.caChain.length > 0 ? signed.caChain : [signed.issuingCa];
      await replaceFiles(
        [
          { path: deploy.certFile, content: pem(signed.certificate), mode: 0o644 },
          ...(deploy.chainFile
            ? [{ path: deploy.chainFile, content: chain.map(pem).join(''), mode: 0o644 }]
            : []),
        ],
        stagedKey,
      );
      const reload = deploy.reloadCommand ? await runReloadCommand(deploy.reloadCommand) : null;

      const cert = new x509.X509Certificate(signed.certificate);
      const sans = sanNames(cert.extensions);
      return {
        serial: signed.serialNumber,
        issuerId: await issuerIdOf(vault, input.mount, signed.issuingCa || (chain[0] as string)),
        subject: cert.subject,
        sans: [...sans.dns, ...sans.ip],
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
        fingerprint: new X509Certificate(signed.certificate).fingerprint256,
        reload,
      };
    },

    /** Revokes the certificate; revoking one already revoked answers its first revocation time. */
    async certRevoke(input: CertRevokeInput): Promise<{ revokedAt: string }> {
      const vault = clusters.get(input.cluster);
      return { revokedAt: (await revoke(vault, input.mount, input.serial)).toISOString() };
    },

    /**
     * Proof of the revocation from both channels a client may use: the issuer's CRL lists the
     * serial, and its OCSP responder says revoked in a response signed by the issuer.
     */
    async certVerifyRevoked(input: CertRevokeInput & { issuerId: string }): Promise<CertRevocationProof> {
      const vault = clusters.get(input.cluster);
      const bare = (s: string) => serialHex(s).replace(/^0+/, '');
      const crl = await fetchCrl(vault, input.mount, input.issuerId);
      if (!crl.revokedSerials.some((s) => bare(s) === bare(input.serial)))
        throw ApplicationFailure.create({
          type: CERT_NOT_YET_REVOKED,
          message: `the CRL of issuer ${input.issuerId} (${crl.thisUpdate.toISOString()}) does not list ${input.serial} yet`,
        });
      const issuer = await readIssuer(vault, input.mount, input.issuerId);
      const ocsp = await queryOcspVerified(vault, input.mount, {
        serialNumber: input.serial,
        issuerPem: issuer.certificate,
      });
      if (ocsp.status !== 'revoked')
        throw ApplicationFailure.create({
          type: CERT_NOT_YET_REVOKED,
          message: `OCSP answers "${ocsp.status}" for ${input.serial}`,
        });
      return {
        serial: input.serial,
        crl: { revoked: true, thisUpdate: crl.thisUpdate.toISOString() },
        ocsp: {
          status: 'revoked',
          revokedAt: ocsp.revokedAt?.toISOString() ?? null,
          signedBy: ocsp.signedBy,
        },
      };
    },

    /** Removes the deployed files while the certificate file still holds this certificate. */
    async certRemoveFiles(input: {
      deploy: CertDeploy;
      fingerprint: string;
    }): Promise<{ removed: string[] }> {
      const { certFile, keyFile, chainFile } = input.deploy;
      let current: string | undefined;
      try {
        current = new X509Certificate(await readFile(certFile)).fingerprint256;
      } catch {
        current = undefined;
      }
      if (current !== input.fingerprint) return { removed: [] };
      const paths = [certFile, keyFile, chainFile].filter((p): p is string => p !== undefined);
      for (const path of paths) await rm(path, { force: true });
      return { removed: paths };
    },
  });
}

export type CertificateActivities = ReturnType<typeof createCertificateActivities>;
