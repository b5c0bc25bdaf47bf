// The payload codec: every payload is sealed with AES-256-GCM under the newest key of a keyring,
// and names its key in the metadata so the keyring can rotate: old payloads open with the key
// that sealed them. Only node:crypto and types: the worker, the CLI and the codec server load it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

export const ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Data keys by id; `current` seals new payloads. */
export interface Keyring {
  current: string;
  keys: ReadonlyMap<string, Buffer>;
  /** Where the keys come from, for error messages ("key file /x/codec-keys.json"). */
  source: string;
}

/** A payload this keyring cannot open: an unknown key, a wrong key or altered bytes. */
export class CodecError extends Error {
  override name = 'CodecError';
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export function checkKeyring(keyring: Keyring): Keyring {
  const current = keyring.keys.get(keyring.current);
  if (!current) throw new CodecError(`${keyring.source}: the current key "${keyring.current}" is missing`);
  for (const [id, key] of keyring.keys) {
    if (key.length !== 32) throw new CodecError(`${keyring.source}: key "${id}" is not 32 bytes (AES-256)`);
  }
  return keyring;
}

/**
 * The sealed payload's data is iv | ciphertext | tag; the plaintext is the original payload as JSON
 * (metadata and data in base64), so this module needs no protobuf. The key id is authenticated
 * data: a payload relabelled with another key id fails to open rather than opening wrongly.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly #keyring: Keyring;

  constructor(keyring: Keyring) {
    this.#keyring = checkKeyring(keyring);
  }

  get keyIds(): string[] {
    return [...this.#keyring.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.#seal(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.#open(p));
  }

  #seal(payload: Payload): Payload {
    const keyId = this.#keyring.current;
    const key = this.#keyring.keys.get(keyId) as Buffer;
    const inner = JSON.stringify({
      metadata: Object.fromEntries(
        Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
      ),
      data: Buffer.from(payload.data ?? []).toString('base64'),
    });
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(text(keyId));
    const sealed = Buffer.concat([iv, cipher.update(inner, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { encoding: text(ENCODING), [KEY_ID_METADATA]: text(keyId) }, data: sealed };
  }

  #open(payload: Payload): Payload {
    // Payloads written before the codec was turned on stay readable.
    if (str(payload.metadata?.encoding) !== ENCODING) return payload;
    const keyId = str(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new CodecError(`an encrypted payload has no "${KEY_ID_METADATA}" metadata`);
    const key = this.#keyring.keys.get(keyId);
    if (!key) {
      throw new CodecError(
        `payload is encrypted with key "${keyId}", which ${this.#keyring.source} does not hold ` +
          `(it holds: ${this.keyIds.join(', ')}); restore that key to decode it`,
      );
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) throw new CodecError(`payload under key "${keyId}" is truncated`);
    let inner: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(text(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      inner = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new CodecError(
        `payload under key "${keyId}" failed authentication: it was altered, or the key is not the one that sealed it`,
      );
    }
    const parsed = JSON.parse(inner) as { metadata: Record<string, string>; data: string };
    return {
      metadata: Object.fromEntries(
        Object.entries(parsed.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
      ),
      data: new Uint8Array(Buffer.from(parsed.data, 'base64')),
    };
  }
}
