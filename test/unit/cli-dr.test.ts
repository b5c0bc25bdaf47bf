// `vaultops dr` input and the manifest listing: bad options are refused (exit 2) with what to fix
// before anything connects; good ones become the workflow input and the schedule; `dr snapshots`
// prints the manifest of a store directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directoryStore } from '../../activities/dr/directory-store.js';
import { drSnapshotsCommand, parseDrDrill, parseDrProtect } from '../../client/commands/dr/dr.js';
import { UsageError } from '../../client/commands/usage-error.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-dr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('dr protect options', () => {
  it('--every makes a skip-overlap schedule of drProtectWorkflow; retention defaults 7/7/4', () => {
    const plan = parseDrProtect({ every: '1h', cluster: 'primary' });
    expect(plan.input).toEqual({ cluster: 'primary', retention: { keepLast: 7, daily: 7, weekly: 4 } });
    expect(plan.now).toBe(false);
    expect(plan.schedule).toMatchObject({
      scheduleId: 'dr-protect-primary',
      workflowType: 'drProtectWorkflow',
      overlap: 'SKIP',
      spec: { intervals: [{ every: 3600_000 }] },
    });
  });

  it('--now alone runs once, no schedule; --keep/--daily/--weekly set retention', () => {
    const plan = parseDrProtect({ now: true, keep: '3', daily: '0', weekly: '2' });
    expect(plan).toMatchObject({ now: true, schedule: undefined });
    expect(plan.input).toEqual({ cluster: 'default', retention: { keepLast: 3, daily: 0, weekly: 2 } });
  });

  it('refuses what it cannot run', () => {
    expect(refused(() => parseDrProtect({}))).toMatch(/--every <interval>.*or --now/);
    expect(refused(() => parseDrProtect({ now: true, keep: '0' }))).toMatch(
      /--keep must be a whole number of at least 1/,
    );
    expect(refused(() => parseDrProtect({ now: true, daily: 'many' }))).toMatch(
      /--daily must be a whole number/,
    );
    expect(refused(() => parseDrProtect({ now: true, cluster: 'Prod' }))).toMatch(
      /--cluster must be a cluster name/,
    );
    expect(() => parseDrProtect({ every: 'often' })).toThrow(/every/);
  });
});

describe('dr drill options', () => {
  it('names source and target, and a snapshot if given', () => {
    expect(parseDrDrill({ from: 'primary', into: 'standby' })).toEqual({
      sourceCluster: 'primary',
      targetCluster: 'standby',
    });
    expect(parseDrDrill({ from: 'primary', into: 'scratch', snapshot: 'primary-x' })).toMatchObject({
      snapshotId: 'primary-x',
    });
  });

  it('refuses a drill into its own source', () => {
    expect(refused(() => parseDrDrill({ from: 'primary', into: 'primary' }))).toMatch(/another cluster/);
    expect(refused(() => parseDrDrill({ from: 'Primary', into: 'standby' }))).toMatch(/--from must be/);
  });
});

describe('dr snapshots', () => {
  it('says where to start when the manifest is empty, and lists entries newest first', async () => {
    const lines: string[] = [];
    await drSnapshotsCommand({ dir }, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/No snapshots in .*vaultops dr protect --now/);
    const store = directoryStore(dir);
    const base = {
      file: null,
      sha256: null,
      size: null,
      raftIndex: null,
      raftIndexSource: null,
      sourceCluster: 'primary',
      canaryIds: [],
    };
    await store.updateManifest((m) => ({
      ...m,
      snapshots: [
        { ...base, id: 'old', takenAt: '2026-11-01T00:00:00Z', status: 'failed', reason: 'sealed' },
        {
          ...base,
          id: 'new',
          takenAt: '2026-11-02T00:00:00Z',
          status: 'verified',
          size: 1234,
          raftIndex: 70,
        },
      ],
    }));
    lines.length = 0;
    await drSnapshotsCommand({ dir }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TAKEN/);
    expect(lines[1]).toMatch(/^new\s+verified\s+2026-11-02T00:00:00Z\s+primary\s+1234\s+70/);
    expect(lines[2]).toMatch(/^old\s+failed.*failed: sealed/);
  });
});
