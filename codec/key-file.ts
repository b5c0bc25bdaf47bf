// Keyrings kept in files. A local key file holds the data keys themselves (the dev stack's, mode
// 0600); a wrapped-keys file holds them only as Vault transit ciphertext (transit-keys.ts opens it).
// Either way the newest entry seals new payloads and older ones stay for reading old history.
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CodecError, checkKeyring, type Keyring } from './codec.js';

/** The dev stack's key file, under its state dir; history (SQLite) outlives restarts, so must the key. */
export const devKeyFile = (stateDir: string) => join(stateDir, 'codec-keys.json');

const entry = z.object({ id: z.string().regex(/^[\w.-]{1,64}$/), created: z.string() });
const keyFileSchema = z.object({ keys: z.array(entry.extend({ key: z.string() })).min(1) });
const wrappedFileSchema = z.object({ keys: z.array(entry.extend({ wrapped: z.string() })).min(1) });
export type KeyFile = z.infer<typeof keyFileSchema>;
export type WrappedKeyFile = z.infer<typeof wrappedFileSchema>;

/** A key id that sorts by creation and never repeats: 20260102T030405Z-1a2b3c. */
export const newKeyId = () =>
  `${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;

export function readJsonFile<S extends z.ZodType>(
  schema: S,
  path: string,
  what: string,
): z.output<S> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CodecError(`${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  const parsed = schema.safeParse(
    (() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })(),
  );
  if (!parsed.success)
    throw new CodecError(`${what} ${path} is not a vaultops key file (bad JSON or fields)`);
  return parsed.data;
}

/** Written whole to a temporary file and renamed, at mode 0600, so a reader never sees half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  const tmp = join(dirname(path), `.${process.pid}-${Date.now()}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * Creates `path` with `value` only if it does not exist (written whole and flushed under a
 * temporary name, then hard-linked into place, which fails if another process got there first).
 * Returns false when the file existed already.
 */
export function createJsonFile(path: string, value: unknown): boolean {
  const tmp = join(dirname(path), `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function keyringOf(file: KeyFile, source: string): Keyring {
  const keys = new Map(file.keys.map((k) => [k.id, Buffer.from(k.key, 'base64')] as const));
  return checkKeyring({ current: (file.keys.at(-1) as { id: string }).id, keys, source });
}

/**
 * The keyring in a local key file. `create` makes the file with one fresh key when it is absent
 * (the worker and the dev stack); a reader (the CLI) must not invent a key nobody else has.
 */
export function loadKeyFile(path: string, options: { create: boolean }): Keyring {
  const source = `key file ${path}`;
  let file = readJsonFile(keyFileSchema, path, 'key file');
  if (!file) {
    if (!options.create) {
      throw new CodecError(
        `${source} does not exist: the worker creates it on first start; give the CLI the same file`,
      );
    }
    const fresh = {
      keys: [{ id: newKeyId(), key: randomBytes(32).toString('base64'), created: new Date().toISOString() }],
    };
    // Two processes starting at once (a worker and the dev stack) must end with one key: the first
    // to link its file wins, and the other reads the winner's instead of replacing it.
    file = createJsonFile(path, fresh) ? fresh : readJsonFile(keyFileSchema, path, 'key file');
    if (!file) throw new CodecError(`${source} vanished while it was being created; start again`);
  } else if ((statSync(path).mode & 0o077) !== 0) {
    throw new CodecError(`${source} is readable by other users: chmod 600 ${path}`);
  }
  return keyringOf(file, source);
}

/** Adds a fresh key that seals from now on; the old keys stay to read old payloads. Returns its id. */
export function rotateKeyFile(path: string): string {
  const file = readJsonFile(keyFileSchema, path, 'key file');
  if (!file) throw new CodecError(`key file ${path} does not exist`);
  const id = newKeyId();
  file.keys.push({ id, key: randomBytes(32).toString('base64'), created: new Date().toISOString() });
  writeJsonFile(path, file);
  return id;
}

export { wrappedFileSchema };
