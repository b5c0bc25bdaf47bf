// A sealed box: encrypts a short secret to a recipient's X25519 public key, so that only the holder
// of the private key can read it. ECIES-style: a fresh ephemeral key pair per box, X25519 agreement,
// HKDF-SHA256 over both public keys, AES-256-GCM with the public keys as associated data.
// Break-glass delivery uses it: the worker seals the wrapping token to the requesting CLI's key.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { SealedBox } from './break-glass/break-glass.js';

const ALG = 'X25519-HKDF-SHA256-A256GCM' as const;
const INFO = Buffer.from('vaultops break-glass sealed box v1');

export interface RecipientKeyPair {
  /** SPKI DER, base64: goes into the workflow input. */
  publicKey: string;
  /** PKCS#8 PEM: stays in a 0600 file on the requester's machine. */
  privateKeyPem: string;
}

export function generateRecipientKeyPair(): RecipientKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function x25519PublicKey(spkiBase64: string): KeyObject {
  const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'x25519') throw new Error('the recipient key is not an X25519 public key');
  return key;
}

/** Throws, saying why, when the text is not an X25519 public key (SPKI DER, base64). */
export function checkRecipientKey(spkiBase64: string): void {
  x25519PublicKey(spkiBase64);
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function boxKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), INFO, 32));
}

export function seal(recipientPublicKey: string, plaintext: string): SealedBox {
  const recipient = x25519PublicKey(recipientPublicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const ephemeralDer = spki(ephemeral.publicKey);
  const recipientDer = spki(recipient);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey(shared, ephemeralDer, recipientDer), iv);
  cipher.setAAD(Buffer.concat([ephemeralDer, recipientDer]));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: ALG,
    ephemeralPublicKey: ephemeralDer.toString('base64'),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Opens a box sealed to this private key; throws when the key is another's or the box was altered. */
export function open(privateKeyPem: string, box: SealedBox): string {
  if (box.alg !== ALG) throw new Error(`unknown sealed box algorithm "${box.alg}"`);
  const privateKey = createPrivateKey(privateKeyPem);
  const ephemeral = x25519PublicKey(box.ephemeralPublicKey);
  const ephemeralDer = spki(ephemeral);
  const recipientDer = spki(createPublicKey(privateKey));
  const shared = diffieHellman({ privateKey, publicKey: ephemeral });
  const decipher = createDecipheriv(
    'aes-256-gcm',
    boxKey(shared, ephemeralDer, recipientDer),
    Buffer.from(box.iv, 'base64'),
  );
  decipher.setAAD(Buffer.concat([ephemeralDer, recipientDer]));
  decipher.setAuthTag(Buffer.from(box.tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(box.ciphertext, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new Error('the sealed box does not open with this key (another request’s key, or altered)');
  }
}
