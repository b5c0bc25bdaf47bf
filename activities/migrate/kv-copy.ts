// The KV v2 copy core of a migration: every retained version of each secret,
// in order, with its custom_metadata, max_versions, cas_required and delete_version_after, and its
// soft-deleted and destroyed versions reproduced, so that version N at the target is version N at
// the source. Values pass through this activity only; it returns counts and SHA-256 digests.
//
// What the KV v2 API allows, and so what "reproduced" means here:
// - Version numbers cannot be chosen: each write makes the next one. Versions are written in order,
//   each guarded by check-and-set on the target's current version, so a retry (or a resumed copy)
//   never writes one twice: it reads the target's current_version and goes on from there.
// - A destroyed version has no data: an empty placeholder is written, then destroyed.
// - A soft-deleted version's data cannot be read without undeleting it at the source (which this
//   copy does not do: the source stays read-only). It is written as an empty placeholder, then
//   deleted; undeleting it at the target yields {}. The plan names this caveat.
// - Versions the source pruned (below its oldest retained version) are written as placeholders and
//   pruned again by a temporary max_versions equal to the retained span.
// - created_time and deletion_time are the copy's own.

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { currentActivityScope, heartbeatWith, keptAlive } from '../../vault/activity-scope.js';
import { inBatches } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import { ifFound } from '../../vault/errors.js';
import {
  destroy,
  type KvMetadata,
  readMetadata,
  readSecret,
  softDelete,
  writeMetadata,
  writeSecret,
} from '../../vault/kv.js';
import { type ClusterClients, resolveClusters } from '../clusters.js';
import { digestOf } from './digest.js';
import { kvPathsAfter, pageOf } from './kv-walk.js';

export interface KvLocation {
  cluster?: string | undefined;
  /** "" for the root namespace. */
  namespace: string;
  /** The KV v2 mount, e.g. "secret". */
  mount: string;
}

export interface KvCopyInput {
  source: KvLocation;
  target: KvLocation;
  /** The secrets to copy; omitted: every secret under the source mount. Copied in sorted order. */
  paths?: string[];
  /** Start after this path (the `next` of the previous call). */
  after?: string | null;
  /** At most this many paths per call (keeps the result, and the history, small). Default 200. */
  limit?: number;
  /** Paths copied side by side. Default 4. */
  concurrency?: number;
}

export type VersionState = 'live' | 'deleted' | 'destroyed';

export interface VersionDigest {
  version: number;
  state: VersionState;
  /** sha256 of the version's data at the source and the target; null for a deleted or destroyed version. */
  source: string | null;
  target: string | null;
}

export interface PathCopyReport {
  path: string;
  currentVersion: number;
  /** Versions this call wrote (placeholders included). */
  written: number;
  /** Versions found already written at the target (an earlier, interrupted attempt). */
  alreadyThere: number;
  placeholders: number;
  /** The retained versions, oldest first. */
  versions: VersionDigest[];
  /** Every retained version's state and digest, current_version and metadata agree. */
  match: boolean;
  /** What disagrees, if anything (no values). */
  mismatches: string[];
}

/**
 * What a batch copied so far, rolled up: counts, up to MAX_NAMED mismatching paths, and digests
 * chained path by path over every (path, version, state, digest) at the source and the target.
 * Its size does not grow with the batch, so it fits in a heartbeat however many versions pass.
 */
export interface KvCopyRollup {
  paths: number;
  versionsWritten: number;
  versionsAlreadyThere: number;
  placeholders: number;
  mismatched: number;
  mismatchedPaths: string[];
  sourceDigest: string;
  targetDigest: string;
}

export interface KvCopyCursor {
  /** The last path fully copied; the next attempt starts after it. */
  after: string | null;
  /** What the attempts so far copied (no version twice: copySecret's check-and-set sees to that). */
  done: KvCopyRollup;
}

export interface KvCopyResult extends KvCopyRollup {
  /** This attempt's paths, with their version digests (a resumed attempt's earlier paths are in the rollup only). */
  reports: PathCopyReport[];
  /** Pass as `after` to copy the next batch; null when the source has no more paths. */
  next: string | null;
}

const MAX_NAMED = 20;

export const emptyRollup = (): KvCopyRollup => ({
  paths: 0,
  versionsWritten: 0,
  versionsAlreadyThere: 0,
  placeholders: 0,
  mismatched: 0,
  mismatchedPaths: [],
  sourceDigest: '',
  targetDigest: '',
});

/** Folds one path's report into a rollup; path by path, so where an attempt stopped does not matter. */
export function rollUp(into: KvCopyRollup, r: PathCopyReport): KvCopyRollup {
  const side = (which: 'source' | 'target') =>
    digestOf([r.path, r.versions.map((v) => [v.version, v.state, v[which]])]);
  return {
    paths: into.paths + 1,
    versionsWritten: into.versionsWritten + r.written,
    versionsAlreadyThere: into.versionsAlreadyThere + r.alreadyThere,
    placeholders: into.placeholders + r.placeholders,
    mismatched: into.mismatched + (r.match ? 0 : 1),
    mismatchedPaths: r.match ? into.mismatchedPaths : [...into.mismatchedPaths, r.path].slice(0, MAX_NAMED),
    sourceDigest: digestOf(`${into.sourceDigest}${side('source')}`),
    targetDigest: digestOf(`${into.targetDigest}${side('target')}`),
  };
}

/**
 * The cursor a previous attempt heartbeated; one from a worker of the version before (which
 * carried every report) is rolled up here, so a deploy in the middle of a batch resumes too.
 */
export function cursorFrom(details: unknown): KvCopyCursor | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  const d = details as { after?: string | null; done?: KvCopyRollup; reports?: PathCopyReport[] };
  if (d.done) return { after: d.after ?? null, done: d.done };
  if (Array.isArray(d.reports))
    return { after: d.after ?? null, done: d.reports.reduce(rollUp, emptyRollup()) };
  return undefined;
}

const DEFAULT_LIMIT = 200;
const DEFAULT_CONCURRENCY = 4;

const conflict = (message: string) =>
  ApplicationFailure.create({ type: 'KvCopyConflict', nonRetryable: true, message });

/** A version's state from its metadata; a deletion time in the future is only planned. */
function stateOf(v: { deletion_time: string; destroyed: boolean }, now: number): VersionState {
  if (v.destroyed) return 'destroyed';
  return v.deletion_time !== '' && Date.parse(v.deletion_time) <= now ? 'deleted' : 'live';
}

const metadataOrNothing = (vault: VaultClient, mount: string, path: string) =>
  ifFound(readMetadata(vault, mount, path, { consistent: true }), undefined);

/** Stops between versions when the activity is cancelled (a worker shutting down, a test). */
function throwIfCancelled(): void {
  const signal = currentActivityScope()?.signal;
  if (!signal?.aborted) return;
  throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}

/** Copies one secret's history; safe to run again on a partly copied target. */
export async function copySecret(
  source: VaultClient,
  target: VaultClient,
  mounts: { source: string; target: string },
  path: string,
): Promise<PathCopyReport> {
  const now = Date.now();
  const src = await readMetadata(source, mounts.source, path, { consistent: true });
  const retained = Object.keys(src.versions)
    .map(Number)
    .sort((a, b) => a - b);
  const current = src.current_version;
  const oldest = retained[0] ?? current + 1;
  const sourceDigests = new Map<number, string>();
  const readSource = async (version: number) => {
    const { data } = await readSecret(source, mounts.source, path, { version, consistent: true });
    const digest = digestOf(data);
    sourceDigests.set(version, digest);
    return data;
  };

  const before = await metadataOrNothing(target, mounts.target, path);
  const alreadyThere = before?.current_version ?? 0;
  if (alreadyThere > current)
    throw conflict(
      `${mounts.target}/${path} at the target has ${alreadyThere} versions, the source only ${current}: ` +
        'it is not a copy of this secret; remove it or choose another target',
    );

  let written = 0;
  let placeholders = 0;
  if (alreadyThere < current) {
    // Keep exactly the retained span while writing: placeholders below it are pruned as the
    // source pruned them. The source's own max_versions is set once all versions are in.
    await writeMetadata(target, mounts.target, path, { maxVersions: current - oldest + 1 });
    for (let version = alreadyThere + 1; version <= current; version++) {
      throwIfCancelled();
      const meta = src.versions[String(version)];
      const live = meta !== undefined && stateOf(meta, now) === 'live';
      const data = live ? await readSource(version) : {};
      const landed = await writeSecret(target, mounts.target, path, data, { cas: version - 1 });
      if (landed.version !== version)
        throw conflict(`${mounts.target}/${path}: wrote version ${landed.version}, expected ${version}`);
      written++;
      if (!live) placeholders++;
    }
  }

  // Deletion and destruction, for every retained version (an interrupted attempt may have written
  // a version and stopped before marking it).
  const mid = await readMetadata(target, mounts.target, path, { consistent: true });
  const toDestroy: number[] = [];
  const toDelete: number[] = [];
  for (const version of retained) {
    const want = stateOf(src.versions[String(version)] as KvMetadata['versions'][string], now);
    const there = mid.versions[String(version)];
    const have = there ? stateOf(there, Date.now()) : undefined;
    if (want === 'destroyed' && have !== 'destroyed') toDestroy.push(version);
    if (want === 'deleted' && have === 'live') toDelete.push(version);
  }
  if (toDestroy.length > 0) await destroy(target, mounts.target, path, toDestroy);
  if (toDelete.length > 0) await softDelete(target, mounts.target, path, toDelete);
  await writeMetadata(target, mounts.target, path, {
    maxVersions: src.max_versions,
    casRequired: src.cas_required,
    deleteVersionAfter: src.delete_version_after,
    customMetadata: src.custom_metadata ?? {},
  });

  return verify(
    target,
    mounts,
    path,
    { src, retained, sourceDigests, readSource, now },
    {
      written,
      alreadyThere,
      placeholders,
    },
  );
}

/** Compares the target with the source version by version, by digest; reads values, keeps digests. */
async function verify(
  target: VaultClient,
  mounts: { source: string; target: string },
  path: string,
  seen: {
    src: KvMetadata;
    retained: number[];
    sourceDigests: Map<number, string>;
    readSource: (version: number) => Promise<unknown>;
    now: number;
  },
  counts: { written: number; alreadyThere: number; placeholders: number },
): Promise<PathCopyReport> {
  const after = await readMetadata(target, mounts.target, path, { consistent: true });
  const mismatches: string[] = [];
  const versions: VersionDigest[] = [];
  for (const version of seen.retained) {
    const state = stateOf(seen.src.versions[String(version)] as KvMetadata['versions'][string], seen.now);
    const there = after.versions[String(version)];
    // Deleted at the target a moment ago: judged by the clock now, not when the copy began.
    const targetState = there ? stateOf(there, Date.now()) : undefined;
    let sourceDigest: string | null = null;
    let targetDigest: string | null = null;
    if (state === 'live') {
      if (!seen.sourceDigests.has(version)) await seen.readSource(version);
      sourceDigest = seen.sourceDigests.get(version) ?? null;
      if (targetState === 'live')
        targetDigest = digestOf(
          (await readSecret(target, mounts.target, path, { version, consistent: true })).data,
        );
    }
    if (targetState !== state)
      mismatches.push(`version ${version} is ${targetState ?? 'missing'}, not ${state}`);
    else if (sourceDigest !== targetDigest) mismatches.push(`version ${version} holds other data`);
    versions.push({ version, state, source: sourceDigest, target: targetDigest });
  }
  const extra = Object.keys(after.versions)
    .map(Number)
    .filter((v) => !seen.retained.includes(v));
  if (extra.length > 0) mismatches.push(`versions ${extra.join(', ')} are retained at the target only`);
  if (after.current_version !== seen.src.current_version)
    mismatches.push(`current version ${after.current_version}, not ${seen.src.current_version}`);
  if (after.max_versions !== seen.src.max_versions) mismatches.push(`max_versions ${after.max_versions}`);
  if (after.cas_required !== seen.src.cas_required) mismatches.push(`cas_required ${after.cas_required}`);
  if (digestOf(after.custom_metadata ?? {}) !== digestOf(seen.src.custom_metadata ?? {}))
    mismatches.push('custom_metadata differs');
  return {
    path,
    currentVersion: seen.src.current_version,
    ...counts,
    versions,
    match: mismatches.length === 0,
    mismatches,
  };
}

/**
 * Copies a batch of secrets (sorted; those after `input.after`, at most `limit`). Heartbeats a
 * cursor (the last path done, and the rollup so far) after each group of paths, and resumes from
 * the last heartbeat's cursor on a retry;
 * within a secret, the target's current_version says where to go on. Without `input.paths`, the
 * batch comes from a walk of the source that starts at the cursor (kv-walk.ts).
 */
export async function copyKvBatch(
  source: VaultClient,
  target: VaultClient,
  input: KvCopyInput,
  resumeFrom?: KvCopyCursor,
): Promise<KvCopyResult> {
  const mounts = { source: input.source.mount, target: input.target.mount };
  const after = input.after ?? null;
  const limit = input.limit ?? DEFAULT_LIMIT;
  // The batch is the same on every attempt; a retry skips what its predecessor heartbeated.
  const page = input.paths
    ? pageOf(input.paths, after, limit)
    : await kvPathsAfter(source, mounts.source, after, limit);
  const resumed = resumeFrom?.after ?? null;
  const batch = page.paths.filter((p) => resumed === null || p > resumed);
  const cursor: KvCopyCursor = { after: resumed ?? after, done: resumeFrom?.done ?? emptyRollup() };
  const reports: PathCopyReport[] = [];
  const concurrency = input.concurrency ?? DEFAULT_CONCURRENCY;
  for (let i = 0; i < batch.length; i += concurrency) {
    throwIfCancelled();
    const group = batch.slice(i, i + concurrency);
    const outcomes = await inBatches(group, concurrency, (path) => copySecret(source, target, mounts, path));
    for (const outcome of outcomes) {
      if (!outcome.ok) throw outcome.error;
      reports.push(outcome.value);
      cursor.done = rollUp(cursor.done, outcome.value);
    }
    cursor.after = group[group.length - 1] ?? cursor.after;
    if (currentActivityScope()) heartbeatWith(cursor);
  }
  return {
    ...cursor.done,
    reports,
    next: page.more ? (page.paths[page.paths.length - 1] ?? null) : null,
  };
}

export function createKvCopyActivities(deps: { vault: VaultClient; clusters?: ClusterClients | undefined }) {
  const clusters = resolveClusters(deps);
  return keptAlive({
    /** Copies KV v2 secrets with their whole history; returns counts and digests, never values. */
    async migrateKvCopy(input: KvCopyInput): Promise<KvCopyResult> {
      const source = clusters.get(input.source.cluster).withNamespace(input.source.namespace);
      const target = clusters.get(input.target.cluster).withNamespace(input.target.namespace);
      return copyKvBatch(source, target, input, cursorFrom(Context.current().info.heartbeatDetails));
    },
  });
}
