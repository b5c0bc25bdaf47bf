// KV v1 data for the migration: a KV v1 mount has one value per key and no history, so each key's
// value is copied to the target's KV v1 mount of the same name and read back, and the two compared
// by digest. Run again after the freeze (the delta), it writes only the keys whose value moved on
// and removes at the target the keys this migration created that are gone at the source. A key
// the target held before with another value is a conflict; with the same value it is kept. Keys
// are ledgered before they are written unless the migration created the whole mount. Values stay
// inside the activity: the result is counts, names of mismatches and digests.
import type { TargetMapping } from '../../common/migrate/run.js';
import { inBatches } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import { vaultPath } from '../../vault/paths.js';
import { digestOf } from './digest.js';
import { walkKvPaths } from './inventory.js';
import type { Ledger } from './ledger.js';
import { migratedEngines } from './mounts.js';
import { newReport, readOrNone, targetConflict } from './sides.js';

const CONCURRENCY = 8;
const MAX_NAMED = 20;

export interface KvV1Report {
  created: string[];
  skipped: string[];
  caveats: string[];
  mounts: number;
  paths: number;
  written: number;
  /** Keys this migration created that are gone at the source (the delta removes them). */
  removed: number;
  mismatched: number;
  /** Up to 20 mismatching keys, by name. */
  mismatchedPaths: string[];
  /** sha256 over every (key, digest) at the source, and at the target after the copy. */
  sourceDigest: string;
  targetDigest: string;
}

/** The KV v1 mounts this migration moves, without their slash. */
export async function kvV1Mounts(source: VaultClient, mapping: TargetMapping) {
  return migratedEngines(source, mapping, (m) => m.type === 'kv' && (m.options?.version ?? '1') === '1');
}

/** A key may span folders ("dir/b"): vaultPath checks and encodes each segment. */
const keyPath = (mount: string, key: string) => vaultPath`${mount}/${key}`;

async function each<I, T>(items: I[], fn: (item: I) => Promise<T>): Promise<T[]> {
  return (await inBatches(items, CONCURRENCY, fn)).map((o) => {
    if (!o.ok) throw o.error;
    return o.value;
  });
}

export async function copyKvV1(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
  options: { delta: boolean },
): Promise<KvV1Report> {
  const out: KvV1Report = {
    ...newReport(),
    mounts: 0,
    paths: 0,
    written: 0,
    removed: 0,
    mismatched: 0,
    mismatchedPaths: [],
    sourceDigest: '',
    targetDigest: '',
  };
  const src: [string, string][] = [];
  const dst: [string, string][] = [];
  for (const { from, to } of await kvV1Mounts(source, mapping)) {
    out.mounts++;
    const entries = await ledger.entries();
    const wholeMount = entries.some((e) => e.kind === 'mount' && e.name === `${to}/`);
    const ours = (key: string) =>
      wholeMount || entries.some((e) => e.kind === 'kv1-secret' && e.name === `${to}/${key}`);
    const keys = await walkKvPaths(source, from, '1');
    const there = new Set(await walkKvPaths(target, to, '1'));
    let written = 0;
    for (let i = 0; i < keys.length; i += 100) {
      const chunk = keys.slice(i, i + 100);
      const values = await each(chunk, async (key) => ({
        key,
        a: await readOrNone(source, keyPath(from, key)),
        b: there.has(key) ? await readOrNone(target, keyPath(to, key)) : undefined,
      }));
      const pending = values.filter((v) => v.a !== undefined && digestOf(v.a) !== digestOf(v.b ?? null));
      const conflict = pending.find((v) => v.b !== undefined && !ours(v.key));
      if (conflict) throw targetConflict(`${to}/${conflict.key} exists at the target with another value`);
      // One ledger write for the chunk's new keys, before any of them is written.
      if (!wholeMount)
        await ledger.recordAll(
          pending
            .filter((v) => v.b === undefined)
            .map((v) => ({ kind: 'kv1-secret', name: `${to}/${v.key}` })),
        );
      await each(pending, (v) => target.put(keyPath(to, v.key), v.a));
      written += pending.length;
      // Read back: the copy is verified by digest, key by key.
      for (const v of values) {
        if (v.a === undefined) continue; // deleted at the source meanwhile
        const landed = await readOrNone(target, keyPath(to, v.key));
        const label = `${to}/${v.key}`;
        src.push([label, digestOf(v.a)]);
        dst.push([label, landed === undefined ? 'missing' : digestOf(landed)]);
        out.paths++;
        if (landed === undefined || digestOf(landed) !== digestOf(v.a)) {
          out.mismatched++;
          if (out.mismatchedPaths.length < MAX_NAMED) out.mismatchedPaths.push(label);
        }
      }
    }
    if (options.delta) {
      const atSource = new Set(keys);
      const gone = [...there].filter((k) => !atSource.has(k) && ours(k));
      await each(gone, (k) => target.delete(keyPath(to, k)));
      out.removed += gone.length;
    }
    out.written += written;
    if (written > 0) out.created.push(`${to}/ (${written} KV v1 ${written === 1 ? 'key' : 'keys'})`);
  }
  out.sourceDigest = digestOf(src);
  out.targetDigest = digestOf(dst);
  return out;
}
