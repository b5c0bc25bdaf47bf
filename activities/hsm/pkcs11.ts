// PKCS#11 access through graphene-pk11: open a token by label, describe what it can do, make
// and use EC keys that never leave it. SoftHSM 2.6 lacks CKM_ECDSA_SHA384, so callers hash in
// software and sign the digest with plain CKM_ECDSA, which every PKCS#11 token offers.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import graphene from 'graphene-pk11';

export interface HsmConfig {
  modulePath: string;
  tokenLabel: string;
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

export interface HsmSession {
  info(): HsmTokenInfo;
  generateEcKeyPair(label: string, curve: 'P-256' | 'P-384'): { label: string; publicKey: KeyObject };
  /** Hashes in software, signs the digest inside the token; returns r||s (IEEE P1363). */
  signEcdsa(keyLabel: string, data: Buffer, hash: 'sha256' | 'sha384'): Buffer;
  close(): void;
}

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
    for (let i = 0; i < slots.length; i++) {
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
  const findPrivateKey = (label: string): graphene.Key => {
    const found = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label });
    if (found.length === 0) throw new Error(`no private key labelled "${label}" on the token`);
    return found.items(0).toType<graphene.Key>();
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
      const keys = session.generateKeyPair(
        graphene.KeyGenMechanism.EC,
        {
          keyType: graphene.KeyType.EC,
          label,
          token: true,
          verify: true,
          paramsEC: graphene.NamedCurve.getByName(CURVES[curve]).value,
        },
        {
          keyType: graphene.KeyType.EC,
          label,
          token: true,
          sign: true,
          private: true,
          sensitive: true,
          extractable: false,
        },
      );
      return { label, publicKey: ecPublicKey(keys.publicKey, curve) };
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
