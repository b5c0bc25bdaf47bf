// Where DR snapshots live, behind one interface so that an object store is one more file beside
// directory-store.ts. A snapshot is written whole or not at all: `put` hashes the bytes as they
// stream in and only a complete, durable file takes the snapshot's name. The manifest (one JSON
// record per snapshot) is replaced atomically, under the store's lock.
import type { Readable, Writable } from 'node:stream';
import type { SnapshotManifest } from '../../common/dr/snapshots.js';

export interface StoredSnapshot {
  /** The file's name in the store. */
  file: string;
  sha256: string;
  size: number;
}

export interface SnapshotStore {
  /** Where the store is (a directory, a bucket URL), for messages. */
  readonly location: string;
  /**
   * Stores the bytes `write` pipes into the sink it is given, as snapshot `id`. Resolves once they
   * are durable under their final name; if `write` fails, nothing is left under any name.
   * Storing the same id again replaces it (a retried attempt).
   */
  put(id: string, write: (sink: Writable) => Promise<void>): Promise<StoredSnapshot>;
  /** The stored bytes, streamed. */
  open(file: string): Readable;
  /** SHA-256 and size of the stored bytes, read afresh (a restore checks them first). */
  digest(file: string): Promise<{ sha256: string; size: number }>;
  /** The snapshot files present, with when each was last written. */
  list(): Promise<{ file: string; modifiedMs: number }[]>;
  /** Removes a snapshot file; one already gone is fine. */
  remove(file: string): Promise<void>;
  readManifest(): Promise<SnapshotManifest>;
  /**
   * Reads the manifest, applies `change` and writes the result atomically, with no other update
   * in between (the store's lock). Returns what was written.
   */
  updateManifest(change: (manifest: SnapshotManifest) => SnapshotManifest): Promise<SnapshotManifest>;
}
