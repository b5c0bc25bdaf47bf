// KV v2 data for the migration workflow, one batch per activity over copyKvBatch (kv-copy.ts):
// the batch's paths that the target lacks are recorded in the ledger first, in one write per batch
// (unless this migration created the whole mount: removing the mount removes them), then copied
// with their history. The result is counts and digests rolled up over the batch, never values or
// per-version lists, so the workflow's history (and the heartbeat) stays small. The delta copy compares current_version per path at the source
// and the target after writes stopped, and copies only what moved on.
import { Context } from '@temporalio/activity';
import {
  emptyTotals,
  type KvTotals,
  type LedgerEntry,
  type TargetMapping,
} from '../../common/migrate/run.js';
import { inBatches } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import { ifFound } from '../../vault/errors.js';
import { readMetadata } from '../../vault/kv.js';
import { digestOf } from './digest.js';
import { walkKvPaths } from './inventory.js';
import { copyKvBatch, cursorFrom, type KvCopyRollup } from './kv-copy.js';
import { kvPathsAfter } from './kv-walk.js';
import type { Ledger } from './ledger.js';
import { type MountPair, mountPair } from './mounts.js';

export interface KvBatchResult {
  totals: KvTotals;
  /** Pass as `after` for the next batch; null when the mount is done. */
  next: string | null;
}

const MAX_NAMED = 20;

/** Adds a batch's rollup to running totals; the digests chain over everything copied so far. */
export function addToTotals(totals: KvTotals, result: KvCopyRollup): KvTotals {
  return {
    paths: totals.paths + result.paths,
    versionsWritten: totals.versionsWritten + result.versionsWritten,
    placeholders: totals.placeholders + result.placeholders,
    mismatched: totals.mismatched + result.mismatched,
    mismatchedPaths: [...totals.mismatchedPaths, ...result.mismatchedPaths].slice(0, MAX_NAMED),
    sourceDigest: digestOf(`${totals.sourceDigest}${result.sourceDigest}`),
    targetDigest: digestOf(`${totals.targetDigest}${result.targetDigest}`),
  };
}

async function currentVersion(vault: VaultClient, mount: string, path: string): Promise<number | null> {
  return (
    (await ifFound(readMetadata(vault, mount, path, { consistent: true }), null))?.current_version ?? null
  );
}

/**
 * Records the paths the target lacks (those this batch may create), in one ledger write before
 * any of them is created, unless the whole mount is this migration's. A path the target has
 * already is not recorded, so rollback never removes it.
 */
async function recordNew(ledger: Ledger, target: VaultClient, mount: string, paths: string[]) {
  const entries = await ledger.entries();
  if (entries.some((e) => e.kind === 'mount' && e.name === `${mount}/`)) return;
  const versions = await inBatches(paths, 8, (p) => currentVersion(target, mount, p));
  const absent: LedgerEntry[] = [];
  for (const [i, v] of versions.entries()) {
    if (!v.ok) throw v.error;
    if (v.value === null) absent.push({ kind: 'kv-secret', name: `${mount}/${paths[i]}` });
  }
  await ledger.recordAll(absent);
}

/**
 * Records what `paths` may create at the target, then copies them with their history, resuming
 * where a retried attempt's heartbeat left off.
 */
async function recordAndCopy(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
  mounts: MountPair,
  paths: string[],
  limit: number,
): Promise<KvCopyRollup> {
  await recordNew(ledger, target, mounts.to, paths);
  return copyKvBatch(
    source,
    target,
    {
      source: { namespace: mapping.from, mount: mounts.from },
      target: { namespace: mapping.to, mount: mounts.to },
      paths,
      limit,
    },
    cursorFrom(Context.current().info.heartbeatDetails),
  );
}

export async function copyKvMountBatch(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
  input: { mount: string; after: string | null; limit: number; totals?: KvTotals },
): Promise<KvBatchResult> {
  const mounts = mountPair(mapping, `${input.mount}/`);
  // From the cursor on, without listing what sorts before it: each batch costs its own paths.
  const page = await kvPathsAfter(source, input.mount, input.after, input.limit);
  const batch = page.paths;
  const result = await recordAndCopy(
    source,
    target,
    ledger,
    mapping,
    mounts,
    batch,
    Math.max(batch.length, 1),
  );
  return {
    totals: addToTotals(input.totals ?? emptyTotals(), result),
    next: page.more ? (batch[batch.length - 1] ?? null) : null,
  };
}

export interface KvDeltaResult {
  totals: KvTotals;
  /** Paths whose current_version moved on (or which are new) since the copy. */
  changed: number;
  /** Paths the target has that the source no longer has (left at the target; reported). */
  goneAtSource: number;
}

export async function copyKvDelta(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
  input: { mount: string },
): Promise<KvDeltaResult> {
  const mounts = mountPair(mapping, `${input.mount}/`);
  const to = mounts.to;
  const [paths, copied] = await Promise.all([
    walkKvPaths(source, input.mount, '2'),
    walkKvPaths(target, to, '2'),
  ]);
  const versions = await inBatches(paths, 8, async (p) => ({
    p,
    source: await currentVersion(source, input.mount, p),
    target: await currentVersion(target, to, p),
  }));
  const changed: string[] = [];
  for (const v of versions) {
    if (!v.ok) throw v.error;
    if (v.value.source !== null && v.value.source !== v.value.target) changed.push(v.value.p);
  }
  const here = new Set(paths);
  let totals = emptyTotals();
  if (changed.length > 0) {
    const result = await recordAndCopy(source, target, ledger, mapping, mounts, changed, changed.length);
    totals = addToTotals(totals, result);
  }
  return { totals, changed: changed.length, goneAtSource: copied.filter((p) => !here.has(p)).length };
}
