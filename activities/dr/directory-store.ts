// A SnapshotStore in a directory: `<id>.snap` files and `manifest.json`. A snapshot streams into a
// private temp file while it is hashed, is fsynced, and is renamed to its name only when complete
// (the directory is fsynced too, so the name survives a crash). The manifest is replaced the same
// way, under a lock file, so readers see the old manifest or the new one, never half of one.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SnapshotManifest } from '../../common/dr/snapshots.js';
import { fsyncPath } from './fsync.js';
import type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';

const MANIFEST = 'manifest.json';
const LOCK = 'manifest.lock';
const SNAPSHOT_SUFFIX = '.snap';
/** A lock older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 60_000;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const emptyManifest = (): SnapshotManifest => ({ version: 1, snapshots: [] });

/** The default directory: $VAULTOPS_SNAPSHOT_DIR, else `<state dir>/snapshots`. */
export function defaultSnapshotDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.VAULTOPS_SNAPSHOT_DIR ||
    join(env.VAULTOPS_STATE_DIR || join(process.cwd(), '.vaultops', 'dev'), 'snapshots')
  );
}

export function directoryStore(dir: string): SnapshotStore {
  let ready: Promise<unknown> | undefined;
  // Created on first use, private: snapshots hold every secret of the cluster (encrypted).
  const ensureDir = () => {
    ready ??= mkdir(dir, { recursive: true, mode: 0o700 });
    return ready;
  };
  const path = (file: string) => {
    if (!SAFE_ID.test(file)) throw new Error(`snapshot store: "${file}" is not a file name of this store`);
    return join(dir, file);
  };

  const syncDir = () => fsyncPath(dir);

  /** Writes `bytes` (or what `write` streams) to a temp file, fsyncs it and renames it to `name`. */
  const writeAtomically = async (
    name: string,
    write: (sink: Writable) => Promise<void>,
  ): Promise<{ sha256: string; size: number }> => {
    await ensureDir();
    const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.partial`);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const stored = pipeline(tap, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    try {
      await write(tap);
      await stored;
      await fsyncPath(temp, 'r+');
      await rename(temp, path(name));
      await syncDir();
      return { sha256: hash.digest('hex'), size };
    } catch (err) {
      // The file stream must be closed before the temp file goes, or it could be made again.
      tap.destroy(err instanceof Error ? err : new Error(String(err)));
      await stored.catch(() => undefined);
      await rm(temp, { force: true });
      throw err;
    }
  };

  const readManifest = async (): Promise<SnapshotManifest> => {
    try {
      const parsed = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as SnapshotManifest;
      if (parsed.version !== 1 || !Array.isArray(parsed.snapshots))
        throw new Error(`${join(dir, MANIFEST)} is not a vaultops snapshot manifest (version 1)`);
      return parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
      throw err;
    }
  };

  // Updates from this process queue here; the lock file orders them with other processes'.
  let queue: Promise<unknown> = Promise.resolve();
  const withLock = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(() => withLockFile(fn));
    queue = run.catch(() => undefined);
    return run;
  };

  /** One manifest update at a time, across processes: an O_EXCL lock file. */
  const withLockFile = async <T>(fn: () => Promise<T>): Promise<T> => {
    await ensureDir();
    const lock = join(dir, LOCK);
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lock, 'wx', 0o600);
        await handle.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > STALE_LOCK_MS) await rm(lock, { force: true });
        else await sleep(Math.min(20 * 2 ** Math.min(attempt, 5), 500));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  };

  return {
    location: dir,

    async put(id: string, write: (sink: Writable) => Promise<void>): Promise<StoredSnapshot> {
      const file = `${id}${SNAPSHOT_SUFFIX}`;
      path(file); // refuse a bad id before anything is written
      const { sha256, size } = await writeAtomically(file, write);
      return { file, sha256, size };
    },

    open(file: string): Readable {
      return createReadStream(path(file));
    },

    async digest(file: string) {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(path(file)) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { sha256: hash.digest('hex'), size };
    },

    async list() {
      await ensureDir();
      const files = (await readdir(dir))
        .filter((f) => f.endsWith(SNAPSHOT_SUFFIX) && !f.startsWith('.'))
        .sort();
      return Promise.all(files.map(async (file) => ({ file, modifiedMs: (await stat(path(file))).mtimeMs })));
    },

    async remove(file: string) {
      await rm(path(file), { force: true });
    },

    readManifest,

    updateManifest(change) {
      return withLock(async () => {
        const next = change(await readManifest());
        await writeAtomically(MANIFEST, async (sink) => {
          sink.end(`${JSON.stringify(next, null, 2)}\n`);
        });
        return next;
      });
    },
  };
}
