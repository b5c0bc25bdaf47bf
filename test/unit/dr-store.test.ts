// The directory snapshot store and the snapshot inspector, on a temp directory: a snapshot is
// hashed while it streams and named only when whole; a failed write leaves no file under any
// name; manifest updates are atomic and serialised (concurrent updates all land, a failed one
// leaves the old manifest); meta.json's raft index is read from a gzipped tar, and a snapshot cut
// short is told apart from a whole one.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryStore } from '../../activities/dr/directory-store.js';
import { findTarEntry, raftSnapshotInspector } from '../../activities/dr/raft-meta.js';
import type { SnapshotEntry } from '../../common/dr/snapshots.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vaultops-dr-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const entry = (id: string): SnapshotEntry => ({
  id,
  file: `${id}.snap`,
  sha256: 'x',
  size: 1,
  raftIndex: 1,
  raftIndexSource: 'snapshot-meta',
  takenAt: new Date().toISOString(),
  sourceCluster: 'primary',
  canaryIds: ['c'],
  status: 'usable',
});

/** A minimal ustar archive: enough for the inspector, which reads names and sizes. */
function tar(files: [string, Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of files) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write('0000644\0', 100, 'ascii');
    header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe('directory snapshot store', () => {
  it('streams a snapshot in, hashing it, and names it only when complete', async () => {
    const store = directoryStore(dir);
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const stored = await store.put('snap-1', (sink) =>
      pipeline(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), sink),
    );
    expect(stored).toEqual({
      file: 'snap-1.snap',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
    expect(readdirSync(dir)).toEqual(['snap-1.snap']);
    expect(await store.digest('snap-1.snap')).toEqual({ sha256: stored.sha256, size: stored.size });
    expect((await store.list()).map((f) => f.file)).toEqual(['snap-1.snap']);
  });

  it('leaves nothing behind when the stream fails part-way', async () => {
    const store = directoryStore(dir);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1));
        this.destroy(new Error('connection reset mid-snapshot'));
      },
    });
    await expect(store.put('snap-2', (sink) => pipeline(failing, sink))).rejects.toThrow(/connection reset/);
    expect(readdirSync(dir)).toEqual([]);
    // A failure before any byte arrives: likewise.
    await expect(
      store.put('snap-3', async () => {
        throw new Error('sealed');
      }),
    ).rejects.toThrow(/sealed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an id that is not a plain file name', async () => {
    const store = directoryStore(dir);
    await expect(store.put('../escape', async (sink) => void sink.end())).rejects.toThrow(/not a file name/);
    expect(() => store.open('../manifest.json')).toThrow(/not a file name/);
  });

  it('updates the manifest atomically and one at a time', async () => {
    const store = directoryStore(dir);
    expect(await store.readManifest()).toEqual({ version: 1, snapshots: [] });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.updateManifest((m) => ({ ...m, snapshots: [...m.snapshots, entry(`s${i}`)] })),
      ),
    );
    const after = await store.readManifest();
    expect(after.snapshots.map((s) => s.id).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `s${i}`).sort(),
    );
    // Only the manifest remains: no temp file, no lock.
    expect(readdirSync(dir)).toEqual(['manifest.json']);
    // A change that throws leaves the manifest as it was, and releases the lock.
    const before = readFileSync(join(dir, 'manifest.json'), 'utf8');
    await expect(
      store.updateManifest(() => {
        throw new Error('bad change');
      }),
    ).rejects.toThrow(/bad change/);
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(before);
    await store.updateManifest((m) => ({ ...m, snapshots: m.snapshots.slice(1) }));
    expect((await store.readManifest()).snapshots).toHaveLength(19);
  });

  it('takes over a lock left by a process that died holding it', async () => {
    const store = directoryStore(dir);
    writeFileSync(join(dir, 'manifest.lock'), '');
    const { utimesSync } = await import('node:fs');
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, 'manifest.lock'), old, old);
    await store.updateManifest((m) => ({ ...m, snapshots: [entry('after-crash')] }));
    expect((await store.readManifest()).snapshots.map((s) => s.id)).toEqual(['after-crash']);
  });

  it('refuses a manifest file that is not one', async () => {
    writeFileSync(join(dir, 'manifest.json'), '{"hello": 1}');
    await expect(directoryStore(dir).readManifest()).rejects.toThrow(/not a vaultops snapshot manifest/);
  });
});

describe('raft snapshot inspector', () => {
  const meta = Buffer.from(JSON.stringify({ Version: 1, ID: '3-70-1', Index: 70, Term: 3 }));
  const state = Buffer.alloc(200_000, 9);
  const archive = gzipSync(
    tar([
      ['meta.json', meta],
      ['state.bin', state],
      ['SHA256SUMS', Buffer.from('x')],
    ]),
  );

  const run = async (bytes: Buffer, chunk = 1000) => {
    const inspector = raftSnapshotInspector();
    const out: Buffer[] = [];
    const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) =>
      bytes.subarray(i * chunk, (i + 1) * chunk),
    );
    await pipeline(Readable.from(chunks), inspector.stream, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c);
    });
    return { inspector, passed: Buffer.concat(out) };
  };

  it('reads the index and term from meta.json and passes the bytes through unchanged', async () => {
    const { inspector, passed } = await run(archive);
    expect(inspector.meta()).toEqual({ index: 70, term: 3 });
    expect(inspector.complete()).toBe(true);
    expect(passed.equals(archive)).toBe(true);
  });

  it('says a snapshot cut short is not complete', async () => {
    const { inspector } = await run(archive.subarray(0, archive.length - 200));
    expect(inspector.complete()).toBe(false);
    expect(inspector.meta()).toEqual({ index: 70, term: 3 }); // read before the cut
  });

  it('says nothing of bytes that are no gzip at all (and passes them on)', async () => {
    const junk = Buffer.from('not a snapshot at all, just text');
    const { inspector, passed } = await run(junk);
    expect(inspector.meta()).toBeNull();
    expect(inspector.complete()).toBe(false);
    expect(passed.equals(junk)).toBe(true);
  });

  it('finds an entry after others, and asks for more while it is incomplete', () => {
    const t = tar([
      ['a.txt', Buffer.from('hello')],
      ['meta.json', meta],
    ]);
    expect(findTarEntry(t, 'meta.json')?.toString()).toBe(meta.toString());
    expect(findTarEntry(t.subarray(0, 700), 'meta.json')).toBe('more');
    expect(findTarEntry(t, 'missing.json')).toBe('absent');
  });
});
