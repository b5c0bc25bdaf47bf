// PKCS#11 access through graphene-pk11: open a token by label, describe what it can do, make
// and use EC keys that never leave it. SoftHSM 2.6 lacks CKM_ECDSA_SHA384, so callers hash in
// software and sign the digest with plain CKM_ECDSA, which every PKCS#11 token offers.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import graphene from 'graphene-pk11';

export interface HsmConfig {
  modulePath: string;
  /** The token by its label; or by `slot`, its position in the module's list of slots with a token. */
  tokenLabel?: string | undefined;
  slot?: number | undefined;
  /** The user PIN, passed in from memory; never logged or returned. */
  pin: string;
}

export interface HsmTokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  /** Whether the token hashes for ECDSA itself; when false we hash in software. */
  ecdsaWithHash: boolean;
  ecdsa: boolean;
  ecKeyGen: boolean;
}

/** What a key on the token is, as far as a CA cares. */
export type HsmKeyType = { kind: 'ec'; curve: 'P-256' | 'P-384' } | { kind: 'rsa'; bits: number };

/** The facts that show a private key cannot leave the token. */
export interface HsmPrivateKeyFacts {
  sensitive: boolean;
  extractable: boolean;
  /** Never extractable since it was made (CKA_NEVER_EXTRACTABLE). */
  neverExtractable: boolean;
}

export interface HsmSession {
  info(): HsmTokenInfo;
  generateEcKeyPair(label: string, curve: 'P-256' | 'P-384'): { label: string; publicKey: KeyObject };
  /** An RSA key pair (public exponent 65537) whose private half is sensitive and not extractable. */
  generateRsaKeyPair(label: string, bits: 2048 | 3072 | 4096): { label: string; publicKey: KeyObject };
  /** The public half of the key pair labelled `label`, and its type; undefined when there is none. */
  findKeyPair(
    label: string,
  ): { publicKey: KeyObject; type: HsmKeyType; facts: HsmPrivateKeyFacts } | undefined;
  /** Hashes in software, signs the digest inside the token; returns r||s (IEEE P1363). */
  signEcdsa(keyLabel: string, data: Buffer, hash: 'sha256' | 'sha384'): Buffer;
  /** RSASSA-PKCS1-v1_5 inside the token (the token hashes). */
  signRsaPkcs1(keyLabel: string, data: Buffer, hash: 'sha256' | 'sha384' | 'sha512'): Buffer;
  close(): void;
}

const RSA_MECHANISMS = {
  sha256: 'SHA256_RSA_PKCS',
  sha384: 'SHA384_RSA_PKCS',
  sha512: 'SHA512_RSA_PKCS',
} as const;

const CURVES = { 'P-256': 'secp256r1', 'P-384': 'secp384r1' } as const;

// C_Initialize/C_Finalize act on the whole process, so sessions share one initialised module
// per library path and the last one to close finalises it.
const loaded = new Map<string, { mod: graphene.Module; users: number }>();

function acquireModule(path: string): graphene.Module {
  let entry = loaded.get(path);
  if (!entry) {
    const mod = graphene.Module.load(path, 'vaultops-hsm');
    mod.initialize();
    entry = { mod, users: 0 };
    loaded.set(path, entry);
  }
  entry.users += 1;
  return entry.mod;
}

function releaseModule(path: string): void {
  const entry = loaded.get(path);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users === 0) {
    loaded.delete(path);
    entry.mod.finalize();
  }
}

export function openHsm(config: HsmConfig): HsmSession {
  const mod = acquireModule(config.modulePath);
  try {
    const slots = mod.getSlots(true);
    let slot: graphene.Slot | undefined;
    if (config.tokenLabel === undefined) {
      if (config.slot === undefined || config.slot >= slots.length) {
        throw new Error(
          `no PKCS#11 token in slot ${config.slot} of ${config.modulePath}: it has ${slots.length} slot(s) with a token`,
        );
      }
      slot = slots.items(config.slot);
    }
    for (let i = 0; !slot && i < slots.length; i++) {
      const candidate = slots.items(i);
      if (candidate.getToken().label.trim() === config.tokenLabel) slot = candidate;
    }
    if (!slot) {
      throw new Error(
        `no PKCS#11 token labelled "${config.tokenLabel}" in ${config.modulePath}; check the label and SOFTHSM2_CONF`,
      );
    }
    const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    try {
      session.login(config.pin, graphene.UserType.USER);
    } catch (err) {
      // Login state is per application and token: a second session shares the first one's login.
      if (!(err instanceof Error && err.message.includes('CKR_USER_ALREADY_LOGGED_IN'))) {
        session.close();
        throw err;
      }
    }
    return wrapSession(config.modulePath, slot, session);
  } catch (err) {
    releaseModule(config.modulePath);
    throw err;
  }
}

function wrapSession(modulePath: string, slot: graphene.Slot, session: graphene.Session): HsmSession {
  const findPrivateKeys = (label: string) => session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label });
  const findPrivateKey = (label: string): graphene.Key => {
    const found = findPrivateKeys(label);
    if (found.length === 0) throw new Error(`no private key labelled "${label}" on the token`);
    // Two keys under one label would make "the root key" ambiguous: refuse rather than guess.
    if (found.length > 1)
      throw new Error(`${found.length} private keys are labelled "${label}" on the token`);
    return found.items(0).toType<graphene.Key>();
  };

  /** A key pair on the token whose private half is sensitive and never leaves it. */
  const generateKeyPair = (
    label: string,
    mechanism: graphene.KeyGenMechanism,
    keyType: graphene.KeyType,
    publicParams: graphene.ITemplate,
  ): graphene.IKeyPair => {
    if (findPrivateKeys(label).length > 0)
      throw new Error(`a key labelled "${label}" is already on the token`);
    return session.generateKeyPair(
      mechanism,
      { keyType, label, token: true, verify: true, ...publicParams },
      { keyType, label, token: true, sign: true, private: true, sensitive: true, extractable: false },
    );
  };

  return {
    info() {
      const token = slot.getToken();
      const mechanisms = new Set<string>();
      const list = slot.getMechanisms();
      for (let i = 0; i < list.length; i++) mechanisms.add(list.items(i).name);
      return {
        label: token.label.trim(),
        manufacturer: token.manufacturerID.trim(),
        model: token.model.trim(),
        serialNumber: token.serialNumber.trim(),
        ecdsa: mechanisms.has('ECDSA'),
        ecdsaWithHash: mechanisms.has('ECDSA_SHA384'),
        ecKeyGen: mechanisms.has('EC_KEY_PAIR_GEN'),
      };
    },

    generateEcKeyPair(label, curve) {
      const keys = generateKeyPair(label, graphene.KeyGenMechanism.EC, graphene.KeyType.EC, {
        paramsEC: graphene.NamedCurve.getByName(CURVES[curve]).value,
      });
      return { label, publicKey: ecPublicKey(keys.publicKey, curve) };
    },

    generateRsaKeyPair(label, bits) {
      const keys = generateKeyPair(label, graphene.KeyGenMechanism.RSA, graphene.KeyType.RSA, {
        modulusBits: bits,
        publicExponent: Buffer.from([1, 0, 1]),
      });
      return { label, publicKey: rsaPublicKey(keys.publicKey) };
    },

    findKeyPair(label) {
      const found = session.find({ class: graphene.ObjectClass.PUBLIC_KEY, label });
      if (found.length === 0 || findPrivateKeys(label).length === 0) return undefined;
      const key = found.items(0).toType<graphene.PublicKey>();
      const privateKey = findPrivateKey(label);
      const attrs = privateKey.getAttribute({ sensitive: null, extractable: null, neverExtractable: null });
      const facts = {
        sensitive: attrs.sensitive === true,
        extractable: attrs.extractable === true,
        neverExtractable: attrs.neverExtractable === true,
      };
      if (key.type === graphene.KeyType.RSA) {
        const publicKey = rsaPublicKey(key);
        return {
          publicKey,
          type: { kind: 'rsa', bits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0 },
          facts,
        };
      }
      if (key.type === graphene.KeyType.EC) {
        const curve = curveOf(key);
        return { publicKey: ecPublicKey(key, curve), type: { kind: 'ec', curve }, facts };
      }
      throw new Error(`the key labelled "${label}" is neither EC nor RSA`);
    },

    signRsaPkcs1(keyLabel, data, hash) {
      return Buffer.from(session.createSign(RSA_MECHANISMS[hash], findPrivateKey(keyLabel)).once(data));
    },

    signEcdsa(keyLabel, data, hash) {
      const digest = createHash(hash).update(data).digest();
      return Buffer.from(session.createSign('ECDSA', findPrivateKey(keyLabel)).once(digest));
    },

    close() {
      // No C_Logout: it would log out every session of this process; closing the last one does it.
      try {
        session.close();
      } finally {
        releaseModule(modulePath);
      }
    },
  };
}

/** CKA_EC_POINT holds a DER OCTET STRING around the uncompressed point 04||X||Y. */
function ecPublicKey(key: graphene.Key, curve: 'P-256' | 'P-384'): KeyObject {
  const der = key.getAttribute({ pointEC: null }).pointEC as Buffer;
  const size = curve === 'P-256' ? 32 : 48;
  const point = der.subarray(der.length - (1 + 2 * size));
  if (point[0] !== 0x04) throw new Error('token returned a compressed or malformed EC point');
  return createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: curve,
      x: point.subarray(1, 1 + size).toString('base64url'),
      y: point.subarray(1 + size).toString('base64url'),
    },
  });
}

function rsaPublicKey(key: graphene.Key): KeyObject {
  const { modulus, publicExponent } = key.getAttribute({ modulus: null, publicExponent: null });
  return createPublicKey({
    format: 'jwk',
    key: {
      kty: 'RSA',
      n: (modulus as Buffer).toString('base64url'),
      e: (publicExponent as Buffer).toString('base64url'),
    },
  });
}

/** CKA_EC_PARAMS holds the curve's DER OID. */
function curveOf(key: graphene.Key): 'P-256' | 'P-384' {
  // graphene maps CKA_EC_PARAMS to `paramsECDSA` when reading (`paramsEC` comes back empty).
  const params = key.getAttribute({ paramsECDSA: null }).paramsECDSA as Buffer;
  for (const curve of ['P-256', 'P-384'] as const) {
    if (graphene.NamedCurve.getByName(CURVES[curve]).value.equals(params)) return curve;
  }
  throw new Error('the EC key is on a curve other than P-256 or P-384');
}
