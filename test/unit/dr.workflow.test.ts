// DR protect and drill in the time-skipping environment, with stand-in DR activities over an
// in-memory manifest: protect records a usable entry with its baseline only after the hash is read
// back; a snapshot that fails, or whose stored hash does not match, is recorded failed and never
// usable; a drill refuses a snapshot whose file no longer matches its hash (and marks it failed),
// reports exactly what differs when the restored cluster is not alike, and verifies it when it is.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import { type DrFingerprint, fingerprintDifferences, type SnapshotEntry } from '../../common/dr/snapshots.js';
import { drDrillWorkflow } from '../../workflows/dr/drill.js';
import { drProtectWorkflow } from '../../workflows/dr/protect.js';
import { failureOf, useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'dr-unit' });

const fingerprint = (over: Partial<DrFingerprint> = {}): DrFingerprint => ({
  mounts: ['cubbyhole/ cubbyhole', 'secret/ kv v2', 'sys/ system'],
  authMethods: ['token/ token'],
  policies: { default: 'aa'.repeat(32), 'app-read': 'bb'.repeat(32) },
  kvKeyCounts: { secret: { count: 26, capped: false } },
  canaryId: 'canary-1',
  ...over,
});

type FailAt = 'snapshot' | 'stored-hash' | 'restore-hash';

/** Stand-ins for the DR activities: a manifest in memory and a "restored" fingerprint to compare. */
function standInDr(options: { failAt?: FailAt; restored?: DrFingerprint } = {}) {
  const manifest: SnapshotEntry[] = [];
  const removed: string[] = [];
  const calls: string[] = [];
  const refuse = (type: string, message: string) =>
    ApplicationFailure.create({ type, nonRetryable: true, message });
  const activities: Partial<Activities> = {
    async drWriteCanary() {
      calls.push('canary');
      return { canaryId: 'canary-1', writtenAt: new Date().toISOString() };
    },
    async drFingerprint() {
      calls.push('fingerprint');
      return fingerprint();
    },
    async drTakeSnapshot(input) {
      calls.push('snapshot');
      if (options.failAt === 'snapshot') throw refuse('VaultUnavailable', 'stand-in: snapshot cut short');
      return {
        id: input.id,
        file: `${input.id}.snap`,
        sha256: 'ab'.repeat(32),
        size: 4096,
        raftIndex: 70,
        raftIndexSource: 'snapshot-meta' as const,
        takenAt: new Date().toISOString(),
        sourceCluster: input.cluster,
      };
    },
    async drVerifyStored(input) {
      calls.push('verify-stored');
      if (options.failAt === 'stored-hash')
        throw refuse('DrSnapshotCorrupt', `stand-in: ${input.file} sha256 differs from what streamed in`);
      return { ok: true as const };
    },
    async drRecordSnapshot(entry) {
      calls.push(`record:${entry.status}`);
      manifest.splice(0, manifest.length, ...manifest.filter((e) => e.id !== entry.id), entry);
      return entry;
    },
    async drFailSnapshot(input) {
      calls.push('fail');
      if (input.file) removed.push(input.file);
      const failed = { ...input.entry, status: 'failed' as const, file: null, sha256: null, size: null };
      manifest.splice(0, manifest.length, ...manifest.filter((e) => e.id !== failed.id), failed);
    },
    async drApplyRetention() {
      calls.push('retention');
      return { kept: manifest.map((e) => e.id), dropped: [] };
    },
    async drChooseSnapshot() {
      calls.push('choose');
      return manifest.filter((e) => e.status !== 'failed').at(-1) ?? null;
    },
    async drRestoreSnapshot(input) {
      calls.push('restore');
      if (options.failAt === 'restore-hash')
        throw refuse(
          'DrSnapshotCorrupt',
          `snapshot ${input.id}: the stored file's sha256 differs; not restored`,
        );
      return { uploadMs: 1200, credentials: 'source' as const, initialised: false };
    },
    async drAwaitRestored() {
      calls.push('await');
      return { ready: true as const };
    },
    async drCompare(input) {
      calls.push('compare');
      const restored = options.restored ?? fingerprint();
      return { fingerprint: restored, differences: fingerprintDifferences(input.baseline, restored) };
    },
    async drRecordDrill(input) {
      calls.push('record-drill');
      const i = manifest.findIndex((e) => e.id === input.id);
      const e = manifest[i] as SnapshotEntry;
      manifest[i] = {
        ...e,
        status: input.drill.differences.length === 0 ? 'verified' : e.status,
        lastDrill: input.drill,
      };
      return manifest[i] as SnapshotEntry;
    },
  };
  return { activities, manifest, removed, calls };
}

const withWorker = <T>(activities: Partial<Activities>, fn: (taskQueue: string) => Promise<T>) =>
  bed.withWorker(activities, fn);

/** Runs a protect; `keep` keeps its history under that name (see test/histories/keep.ts). */
async function protect(taskQueue: string, keep?: string) {
  const handle = await bed.env.client.workflow.start(drProtectWorkflow, {
    taskQueue,
    workflowId: `${taskQueue}-protect-${Math.random()}`,
    args: [{ cluster: 'primary' }],
  });
  const result = await handle.result();
  if (keep) await keepHistory(keep, handle);
  return result;
}
async function drill(taskQueue: string, keep?: string) {
  const handle = await bed.env.client.workflow.start(drDrillWorkflow, {
    taskQueue,
    workflowId: `${taskQueue}-drill-${Math.random()}`,
    args: [{ sourceCluster: 'primary', targetCluster: 'standby' }],
  });
  const result = await handle.result();
  if (keep) await keepHistory(keep, handle);
  return result;
}

describe('drProtectWorkflow', () => {
  it('records a usable entry with the canary and baseline, after the stored hash is read back', async () => {
    const dr = standInDr();
    const result = await withWorker(dr.activities, (tq) => protect(tq, 'dr-protect-usable'));
    expect(dr.calls).toEqual([
      'canary',
      'fingerprint',
      'snapshot',
      'fingerprint',
      'verify-stored',
      'record:usable',
      'retention',
    ]);
    expect(result.entry).toMatchObject({
      status: 'usable',
      canaryIds: ['canary-1'],
      raftIndex: 70,
      sourceCluster: 'primary',
      baseline: { before: fingerprint(), after: fingerprint() },
    });
    expect(result.entry.id).toMatch(/^primary-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(dr.manifest).toHaveLength(1);
  });

  it('a snapshot that fails is recorded as failed, never usable', async () => {
    const dr = standInDr({ failAt: 'snapshot' });
    const cause = await failureOf(withWorker(dr.activities, protect));
    expect(cause.message).toMatch(/cut short/);
    expect(dr.calls).not.toContain('record:usable');
    expect(dr.manifest).toEqual([
      expect.objectContaining({ status: 'failed', file: null, reason: expect.stringMatching(/cut short/) }),
    ]);
  });

  it('a stored file whose hash is not what streamed in is removed and recorded as failed', async () => {
    const dr = standInDr({ failAt: 'stored-hash' });
    const cause = await failureOf(withWorker(dr.activities, protect));
    expect(cause.type).toBe('DrSnapshotCorrupt');
    expect(dr.removed).toHaveLength(1);
    expect(dr.manifest.map((e) => e.status)).toEqual(['failed']);
    expect(dr.calls).not.toContain('retention');
  });
});

describe('drDrillWorkflow', () => {
  it('verifies a snapshot whose restore matches the baseline, with RPO and restore time', async () => {
    const dr = standInDr();
    const report = await withWorker(dr.activities, async (tq) => {
      await protect(tq);
      return drill(tq, 'dr-drill-verified');
    });
    expect(report).toMatchObject({
      outcome: 'verified',
      differences: [],
      restoreMs: 1200,
      credentials: 'source',
    });
    expect(report.rpoMs).toBeGreaterThanOrEqual(0);
    expect(report.readyMs).toBeGreaterThanOrEqual(0);
    expect(dr.manifest[0]).toMatchObject({ status: 'verified', lastDrill: { targetCluster: 'standby' } });
  });

  it('refuses a snapshot whose file no longer matches its hash, and marks it failed', async () => {
    const dr = standInDr({ failAt: 'restore-hash' });
    const cause = await withWorker(dr.activities, async (tq) => {
      await protect(tq);
      return failureOf(drill(tq));
    });
    expect(cause.type).toBe('DrSnapshotCorrupt');
    expect(dr.calls).not.toContain('compare');
    expect(dr.manifest[0]).toMatchObject({ status: 'failed', file: null });
  });

  it('reports exactly what differs, and does not mark the snapshot verified', async () => {
    const restored = fingerprint({
      mounts: ['cubbyhole/ cubbyhole', 'sys/ system'],
      policies: { default: 'aa'.repeat(32), 'app-read': 'cc'.repeat(32) },
      kvKeyCounts: {},
      canaryId: null,
    });
    const dr = standInDr({ restored });
    const report = await withWorker(dr.activities, async (tq) => {
      await protect(tq);
      return drill(tq);
    });
    expect(report.outcome).toBe('differs');
    expect(report.differences).toEqual([
      'mount secret/ kv v2: missing after restore',
      `policy app-read: text differs (sha256 ${'cc'.repeat(6)}, expected ${'bb'.repeat(6)})`,
      'kv secret: no keys after restore, expected 26',
      'canary: absent after restore, expected id canary-1',
    ]);
    expect(dr.manifest[0]).toMatchObject({
      status: 'usable',
      lastDrill: { differences: report.differences },
    });
  });

  it('fails with DrNoSnapshot when there is nothing to restore', async () => {
    const dr = standInDr();
    const cause = await withWorker(dr.activities, (tq) => failureOf(drill(tq)));
    expect(cause.type).toBe('DrNoSnapshot');
    expect(dr.calls).toEqual(['choose']);
  });
});

describe('fingerprintDifferences', () => {
  it('accepts a value equal to the baseline before or after the snapshot', () => {
    const before = fingerprint();
    const after = fingerprint({
      kvKeyCounts: { secret: { count: 27, capped: false } },
      canaryId: 'canary-1',
    });
    expect(
      fingerprintDifferences(
        { before, after },
        fingerprint({ kvKeyCounts: { secret: { count: 27, capped: false } } }),
      ),
    ).toEqual([]);
    expect(
      fingerprintDifferences(
        { before, after },
        fingerprint({ kvKeyCounts: { secret: { count: 30, capped: false } } }),
      ),
    ).toEqual(['kv secret: 30 keys after restore, expected 26 or 27']);
  });

  it('names extra mounts, auth methods and policies the source did not have', () => {
    const base = fingerprint();
    const restored = fingerprint({
      authMethods: ['token/ token', 'userpass/ userpass'],
      policies: { ...base.policies, extra: 'dd'.repeat(32) },
    });
    expect(fingerprintDifferences({ before: base, after: base }, restored)).toEqual([
      "auth method userpass/ userpass: not in the snapshot's source",
      "policy extra: not in the snapshot's source",
    ]);
  });
});
