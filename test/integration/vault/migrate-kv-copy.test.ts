// The KV v2 copy core of a namespace migration against the real servers. On OpenBao the source is
// `<admin>/team-a` and the target the nested `<admin>/team-b`; Vault Community has no namespaces,
// so there the source and target are two mounts of the root namespace (the cross-cluster
// Vault -> OpenBao copy needs both servers in one test: a later slice).
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../activities/migrate/digest.js';
import { copyKvMountBatch, type KvBatchResult } from '../../../activities/migrate/kv-batches.js';
import {
  copyKvBatch,
  createKvCopyActivities,
  type KvCopyCursor,
  type KvCopyInput,
  type KvCopyResult,
  type KvLocation,
} from '../../../activities/migrate/kv-copy.js';
import { ledgerAt } from '../../../activities/migrate/ledger.js';
import { rollbackMigration } from '../../../activities/migrate/rollback.js';
import { type KvTotals, ledgerLocation, type MigrateContext } from '../../../common/migrate/run.js';
import type { VaultClient } from '../../../vault/client.js';
import {
  destroy,
  readMetadata,
  readSecret,
  softDelete,
  writeMetadata,
  writeSecret,
} from '../../../vault/kv.js';
import { createNamespace } from '../../../vault/sys.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
let source: KvLocation;
let target: KvLocation;
let src: VaultClient;
let dst: VaultClient;

beforeAll(async () => {
  if (server().flavour === 'openbao') {
    const admin = unique('admin');
    await createNamespace(root, admin);
    await createNamespace(root.withNamespace(admin), 'team-a');
    await createNamespace(root.withNamespace(admin), 'team-b');
    source = { namespace: `${admin}/team-a`, mount: 'secret' };
    target = { namespace: `${admin}/team-b`, mount: 'secret' };
  } else {
    source = { namespace: '', mount: unique('kv-src') };
    target = { namespace: '', mount: unique('kv-dst') };
  }
  src = root.withNamespace(source.namespace);
  dst = root.withNamespace(target.namespace);
  await src.write(`sys/mounts/${source.mount}`, { type: 'kv', options: { version: '2' } });
  await dst.write(`sys/mounts/${target.mount}`, { type: 'kv', options: { version: '2' } });
});

afterAll(async () => {
  await root.close();
});

/** Five versions: v2 soft-deleted, v3 destroyed; custom metadata, max_versions, cas_required. */
async function historyWithGaps(path: string) {
  await writeMetadata(src, source.mount, path, {
    maxVersions: 7,
    casRequired: true,
    customMetadata: { owner: 'team-a', ticket: 'OPS-11' },
  });
  for (let v = 1; v <= 5; v++)
    await writeSecret(src, source.mount, path, { password: `pw-${v}-${unique('x')}`, n: v }, { cas: v - 1 });
  await softDelete(src, source.mount, path, [2]);
  await destroy(src, source.mount, path, [3]);
}

const live = async (vault: VaultClient, mount: string, path: string, version: number) =>
  digestOf((await readSecret(vault, mount, path, { version })).data);

describe(`KV v2 copy on ${server().flavour}`, () => {
  it('copies every version in order, with deleted and destroyed versions and metadata, verified by digest', async () => {
    const path = `app/${unique('db')}`;
    await historyWithGaps(path);
    // A secret whose oldest versions were pruned by max_versions: 3 and 4 remain of 4.
    const pruned = `app/${unique('pruned')}`;
    await writeMetadata(src, source.mount, pruned, { maxVersions: 2 });
    for (let v = 1; v <= 4; v++) await writeSecret(src, source.mount, pruned, { v });

    const result = await copyKvBatch(src, dst, { source, target, paths: [path, pruned] });

    expect(result.reports.flatMap((r) => r.mismatches)).toEqual([]);
    expect(result.mismatched).toBe(0);
    expect(result.paths).toBe(2);
    expect(result.versionsWritten).toBe(9); // 5 + 4, pruned placeholders included
    const report = result.reports.find((r) => r.path === path);
    expect(report?.versions.map((v) => [v.version, v.state])).toEqual([
      [1, 'live'],
      [2, 'deleted'],
      [3, 'destroyed'],
      [4, 'live'],
      [5, 'live'],
    ]);
    expect(report?.placeholders).toBe(2);
    // Digests, checked here independently of the activity's own verification.
    for (const v of [1, 4, 5]) {
      const expected = await live(src, source.mount, path, v);
      expect(await live(dst, target.mount, path, v)).toBe(expected);
      expect(report?.versions.find((d) => d.version === v)).toMatchObject({
        source: expected,
        target: expected,
      });
    }
    const [a, b] = [await readMetadata(src, source.mount, path), await readMetadata(dst, target.mount, path)];
    expect(b.current_version).toBe(5);
    expect(b.max_versions).toBe(a.max_versions);
    expect(b.cas_required).toBe(true);
    expect(b.custom_metadata).toEqual({ owner: 'team-a', ticket: 'OPS-11' });
    expect(b.versions['2']?.deletion_time).not.toBe('');
    expect(b.versions['2']?.destroyed).toBe(false);
    expect(b.versions['3']?.destroyed).toBe(true);
    expect(b.versions['4']?.deletion_time).toBe('');
    // No value reaches the result: only digests and counts.
    expect(JSON.stringify(result)).not.toMatch(/pw-\d/);

    const prunedThere = await readMetadata(dst, target.mount, pruned);
    expect(Object.keys(prunedThere.versions).sort()).toEqual(['3', '4']);
    expect(prunedThere.current_version).toBe(4);
    expect(prunedThere.max_versions).toBe(2);

    // Run again: everything is there already; nothing is written twice.
    const again = await copyKvBatch(src, dst, { source, target, paths: [path, pruned] });
    expect(again.versionsWritten).toBe(0);
    expect(again.versionsAlreadyThere).toBe(9);
    expect(again.mismatched).toBe(0);
    expect((await readMetadata(dst, target.mount, path)).current_version).toBe(5);
  });

  it('notices a target that differs from the source', async () => {
    const path = `drift/${unique('s')}`;
    await writeSecret(src, source.mount, path, { v: 1 });
    await writeSecret(src, source.mount, path, { v: 2 });
    await writeSecret(dst, target.mount, path, { v: 'not the source' });
    const result = await copyKvBatch(src, dst, { source, target, paths: [path] });
    expect(result.mismatched).toBe(1);
    expect(result.reports[0]?.mismatches).toEqual(['version 1 holds other data']);
    expect(JSON.stringify(result)).not.toContain('not the source');
  });

  it('resumes an interrupted batch from its heartbeat cursor and copies no version twice', async () => {
    const folder = unique('many');
    const paths = Array.from({ length: 6 }, (_, i) => `${folder}/s${i}`);
    for (const p of paths) for (let v = 1; v <= 3; v++) await writeSecret(src, source.mount, p, { p, v });
    const { migrateKvCopy } = createKvCopyActivities({ vault: root });
    const input: KvCopyInput = { source, target, paths, concurrency: 1 };

    // First attempt: cancelled (a worker going away) once it has heartbeated two paths done.
    const first = new MockActivityEnvironment({ startToCloseTimeoutMs: 60_000 });
    let cursor: KvCopyCursor | undefined;
    first.on('heartbeat', (details: KvCopyCursor | undefined) => {
      if (!details) return;
      cursor = details;
      if (details.done.paths === 2) first.cancel();
    });
    await expect(first.run(migrateKvCopy, input)).rejects.toThrow();
    expect(cursor?.after).toBe(paths[1]);
    // The heartbeat carries the cursor and a rollup, not each version's digest.
    expect(cursor?.done).toMatchObject({ paths: 2, versionsWritten: 6, mismatched: 0 });
    expect(Object.keys(cursor ?? {}).sort()).toEqual(['after', 'done']);
    for (const p of paths.slice(2))
      await expect(readMetadata(dst, target.mount, p)).rejects.toThrow(/404|not found/i);

    // A worker that died mid-secret leaves the next one half copied: its version 1 is there.
    const half = paths[2] as string;
    await writeSecret(
      dst,
      target.mount,
      half,
      (await readSecret(src, source.mount, half, { version: 1 })).data,
      {
        cas: 0,
      },
    );

    const second = new MockActivityEnvironment({
      startToCloseTimeoutMs: 60_000,
      attempt: 2,
      heartbeatDetails: cursor,
    });
    const result: KvCopyResult = await second.run(migrateKvCopy, input);
    expect(result.paths).toBe(6);
    expect(result.mismatched).toBe(0);
    // This attempt's own paths in detail; the first attempt's in the rollup (paths, counts, digests).
    expect(result.reports.map((r) => r.path)).toEqual(paths.slice(2));
    // 18 versions in all, each written once: 6 by the first attempt, 1 "by the dead worker", 11 now.
    expect(result.versionsWritten).toBe(17);
    expect(result.reports.find((r) => r.path === half)).toMatchObject({ written: 2, alreadyThere: 1 });
    for (const p of paths) expect((await readMetadata(dst, target.mount, p)).current_version).toBe(3);
    // The digests rolled up over two attempts are those of one uninterrupted pass over the batch.
    expect(result.sourceDigest).toBe(result.targetDigest);
    const whole = await copyKvBatch(src, dst, { source, target, paths });
    expect(whole.versionsWritten).toBe(0);
    expect([whole.sourceDigest, whole.targetDigest]).toEqual([result.sourceDigest, result.targetDigest]);
  });

  it('copies in batches: `next` is where the following call starts', async () => {
    const folder = unique('batch');
    const paths = Array.from({ length: 5 }, (_, i) => `${folder}/k${i}`);
    for (const p of paths) await writeSecret(src, source.mount, p, { p });
    const first = await copyKvBatch(src, dst, { source, target, paths, limit: 3 });
    expect(first.reports.map((r) => r.path)).toEqual(paths.slice(0, 3));
    expect(first.next).toBe(paths[2]);
    const rest = await copyKvBatch(src, dst, { source, target, paths, limit: 3, after: first.next });
    expect(rest.reports.map((r) => r.path)).toEqual(paths.slice(3));
    expect(rest.next).toBeNull();
  });

  it('into an existing target mount: one ledger write per batch, and rollback removes exactly the paths it created', async () => {
    // A source mount of its own (the batch walks the whole mount), and a target mount that was
    // there before the migration: each new path is the migration's, recorded in the ledger.
    const mount = unique('lsrc');
    const prefix = `${unique('p')}-`;
    await src.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
    await dst.write(`sys/mounts/${prefix}${mount}`, { type: 'kv', options: { version: '2' } });
    const paths = Array.from({ length: 7 }, (_, i) => `app/k${i}`);
    for (const p of paths) for (let v = 1; v <= 2; v++) await writeSecret(src, mount, p, { p, v });
    // Already at the target before the migration: two identical copies and one path of its own.
    const preexisting = [paths[1] as string, paths[5] as string];
    for (const p of preexisting)
      for (let v = 1; v <= 2; v++)
        await writeSecret(
          dst,
          `${prefix}${mount}`,
          p,
          (await readSecret(src, mount, p, { version: v })).data,
        );
    await writeSecret(dst, `${prefix}${mount}`, 'theirs/only', { mine: false });

    const id = unique('ledger');
    const ctx: MigrateContext = {
      id,
      mapping: { from: source.namespace, to: target.namespace, prefix },
      ledger: ledgerLocation(id, undefined, 'secret'),
    };
    const ledger = ledgerAt(root, ctx.ledger);
    let after: string | null = null;
    let totals: KvTotals | undefined;
    let batches = 0;
    do {
      const batch: KvBatchResult = await new MockActivityEnvironment().run(
        copyKvMountBatch,
        src,
        dst,
        ledger,
        ctx.mapping,
        {
          mount,
          after,
          limit: 3,
          ...(totals ? { totals } : {}),
        },
      );
      ({ totals, next: after } = batch);
      batches++;
    } while (after !== null);
    expect(batches).toBe(3);
    expect(totals).toMatchObject({ paths: 7, mismatched: 0 });
    // One compare-and-set write per batch that had a new path (all three), not one per path.
    expect((await readMetadata(root, 'secret', ctx.ledger.path)).current_version).toBe(3);
    const created = paths.filter((p) => !preexisting.includes(p));
    expect((await ledger.entries()).map((e) => `${e.kind} ${e.name}`)).toEqual(
      created.map((p) => `kv-secret ${prefix}${mount}/${p}`),
    );

    const rolled = await rollbackMigration(dst, root, ledger, root, ctx);
    expect(rolled.failed).toEqual([]);
    expect([...rolled.removed].sort()).toEqual(created.map((p) => `kv-secret ${prefix}${mount}/${p}`).sort());
    for (const p of created)
      await expect(readMetadata(dst, `${prefix}${mount}`, p)).rejects.toThrow(/404|not found/i);
    for (const p of [...preexisting, 'theirs/only'])
      expect((await readMetadata(dst, `${prefix}${mount}`, p)).current_version, p).toBeGreaterThan(0);
  });
});
