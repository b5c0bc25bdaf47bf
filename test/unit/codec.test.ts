// The payload codec: AES-256-GCM under a rotating keyring, key ids in the metadata, failures
// encoded too; and the local key file the dev stack keeps.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { CodecError, ENCODING, EncryptionCodec, KEY_ID_METADATA, type Keyring } from '../../codec/codec.js';
import { encryptingDataConverter } from '../../codec/data-converter.js';
import { createJsonFile, loadKeyFile, rotateKeyFile } from '../../codec/key-file.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-codec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyring = (current: string, ...ids: string[]): Keyring => ({
  current,
  keys: new Map(ids.map((id) => [id, KEYS[id] as Buffer])),
  source: 'test keyring',
});
const KEYS: Record<string, Buffer> = { old: randomBytes(32), new: randomBytes(32) };
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const report = { server: 'OpenBao 2.7.2', ready: true };

async function seal(codec: EncryptionCodec, value: unknown): Promise<Payload> {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  return sealed as Payload;
}
async function open(codec: EncryptionCodec, payload: Payload): Promise<unknown> {
  const [opened] = await codec.decode([payload]);
  return defaultPayloadConverter.fromPayload(opened as Payload);
}

describe('EncryptionCodec', () => {
  it('round-trips a payload, which on the wire is binary/encrypted and names its key', async () => {
    const codec = new EncryptionCodec(keyring('old', 'old'));
    const sealed = await seal(codec, report);
    expect(utf8(sealed.metadata?.encoding)).toBe(ENCODING);
    expect(utf8(sealed.metadata?.[KEY_ID_METADATA])).toBe('old');
    expect(utf8(sealed.data)).not.toContain('OpenBao');
    expect(await open(codec, sealed)).toEqual(report);
  });

  it('rotates: the newest key seals, and payloads sealed under the old key still open', async () => {
    const before = await seal(new EncryptionCodec(keyring('old', 'old')), report);
    const rotated = new EncryptionCodec(keyring('new', 'old', 'new'));
    expect(await open(rotated, before)).toEqual(report);
    const after = await seal(rotated, report);
    expect(utf8(after.metadata?.[KEY_ID_METADATA])).toBe('new');
    expect(await open(rotated, after)).toEqual(report);
  });

  it('refuses an altered payload, and one relabelled with another key id', async () => {
    const codec = new EncryptionCodec(keyring('new', 'old', 'new'));
    const sealed = await seal(codec, report);
    const data = Buffer.from(sealed.data ?? []);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(/key "new" failed authentication/);
    const relabelled = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_METADATA]: Buffer.from('old') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(CodecError);
  });

  it('names an unknown key id, and the keys it does hold', async () => {
    const sealed = await seal(new EncryptionCodec(keyring('new', 'new')), report);
    await expect(new EncryptionCodec(keyring('old', 'old')).decode([sealed])).rejects.toThrow(
      'payload is encrypted with key "new", which test keyring does not hold (it holds: old)',
    );
  });

  it('passes through payloads written before encryption was turned on', async () => {
    const plain = defaultPayloadConverter.toPayload(report);
    expect(await new EncryptionCodec(keyring('old', 'old')).decode([plain])).toEqual([plain]);
  });
});

describe('failures', () => {
  it('moves message and stack trace into an encrypted payload, and back', async () => {
    const converter = loadDataConverter(encryptingDataConverter(keyring('old', 'old')));
    const failure = await encodeErrorToFailure(
      converter,
      ApplicationFailure.create({ message: 'cannot read secret/db-password', type: 'VaultNotFound' }),
    );
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(utf8(failure.encodedAttributes?.metadata?.encoding)).toBe(ENCODING);
    expect(JSON.stringify(failure)).not.toContain('db-password');
    const err = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(err?.message).toBe('cannot read secret/db-password');
  });
});

describe('local key file', () => {
  it("is created only where none exists: a second creator keeps the first creator's keys", () => {
    // Two starts at once (a worker and the dev stack) both find no file; the loser must not
    // replace the winner's key, or one of them would seal payloads the other cannot open.
    const file = join(dir, 'created-once.json');
    expect(createJsonFile(file, { keys: ['first'] })).toBe(true);
    expect(createJsonFile(file, { keys: ['second'] })).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ keys: ['first'] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is created at mode 0600 with one key, then rotated; old payloads still open', async () => {
    const file = join(dir, 'codec-keys.json');
    expect(() => loadKeyFile(file, { create: false })).toThrow(/does not exist: the worker creates it/);
    const first = loadKeyFile(file, { create: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadKeyFile(file, { create: true }).current).toBe(first.current); // read, not replaced
    const sealed = await seal(new EncryptionCodec(first), report);

    const added = rotateKeyFile(file);
    const second = loadKeyFile(file, { create: false });
    expect(second.current).toBe(added);
    expect([...second.keys.keys()]).toEqual([first.current, added]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await open(new EncryptionCodec(second), sealed)).toEqual(report);
    expect(readFileSync(file, 'utf8')).toContain('"keys"');
  });

  it('is refused when other users can read it', async () => {
    const { chmodSync } = await import('node:fs');
    const file = join(dir, 'open-keys.json');
    loadKeyFile(file, { create: true });
    chmodSync(file, 0o644);
    expect(() => loadKeyFile(file, { create: false })).toThrow(`chmod 600 ${file}`);
  });
});
