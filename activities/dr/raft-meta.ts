// The raft index a snapshot was taken at, read from the snapshot itself as it streams past. A raft
// snapshot (Vault and OpenBao alike, hashicorp/raft-snapshot) is a gzipped tar whose first entry
// is meta.json ({"Index", "Term", ...}): only its first few kilobytes are decompressed, and the
// bytes pass through unchanged. Anything unexpected means "unknown", never a failed snapshot.
import { Transform } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';

export interface RaftSnapshotMeta {
  index: number;
  term: number;
}

/** How much decompressed data to look through for meta.json before giving up. */
const LOOK_LIMIT = 256 * 1024;
const BLOCK = 512;

/** Parses tar entries from the start of `data`; meta.json's content once it is all there. */
export function findTarEntry(data: Buffer, name: string): Buffer | 'more' | 'absent' {
  let offset = 0;
  while (offset + BLOCK <= data.length) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return 'absent'; // end of archive
    const entryName = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    if (!Number.isFinite(size) || size < 0) return 'absent';
    const start = offset + BLOCK;
    if (entryName === name) return start + size <= data.length ? data.subarray(start, start + size) : 'more';
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return 'more';
}

export function parseRaftMeta(json: Buffer): RaftSnapshotMeta | null {
  try {
    const meta = JSON.parse(json.toString('utf8')) as { Index?: unknown; Term?: unknown };
    return typeof meta.Index === 'number' && typeof meta.Term === 'number'
      ? { index: meta.Index, term: meta.Term }
      : null;
  } catch {
    return null;
  }
}

export interface RaftSnapshotInspector {
  /** Pass the snapshot through this; its bytes come out unchanged. */
  stream: Transform;
  /** meta.json's index and term, once the stream has ended; null if not found. */
  meta(): RaftSnapshotMeta | null;
  /**
   * Whether the gzip stream ended where gzip says it ends. A snapshot cut short (a connection
   * dropped mid-body, a server that stopped writing) is not complete, whatever its HTTP status.
   */
  complete(): boolean;
}

/**
 * A pass-through stream that decompresses the snapshot on the way: meta.json is read from the
 * first kilobytes, and the whole must decompress to its end. Decompression keeps pace with the
 * download (backpressure), so memory stays bounded.
 */
export function raftSnapshotInspector(): RaftSnapshotInspector {
  let meta: RaftSnapshotMeta | null = null;
  let looking = true;
  let complete = false;
  let broken = false;
  const chunks: Buffer[] = [];
  let seen = 0;
  const gunzip: Gunzip = createGunzip();
  const stopLooking = () => {
    looking = false;
    chunks.length = 0;
  };
  gunzip.on('error', () => {
    broken = true;
    stopLooking();
  });
  gunzip.on('end', () => {
    complete = !broken;
  });
  gunzip.on('data', (out: Buffer) => {
    if (!looking) return;
    chunks.push(out);
    seen += out.length;
    const found = findTarEntry(Buffer.concat(chunks), 'meta.json');
    if (found === 'absent' || (found === 'more' && seen > LOOK_LIMIT)) stopLooking();
    else if (found !== 'more') {
      meta = parseRaftMeta(found);
      stopLooking();
    }
  });
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (broken || gunzip.write(chunk)) return done(null, chunk);
      gunzip.once('drain', () => done(null, chunk));
    },
    flush(done) {
      if (broken) return done();
      let called = false;
      const finish = () => {
        if (called) return;
        called = true;
        done();
      };
      for (const event of ['end', 'close', 'error']) gunzip.once(event, finish);
      gunzip.end();
    },
  });
  return { stream, meta: () => meta, complete: () => complete };
}
