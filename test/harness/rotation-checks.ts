// What a rotation that met a fault must still show: the secret rotated once (one new KV version,
// labelled, unlocked, no pending sibling), and from the history, how often each step's activity
// ran and what it returned (references only). Shared by the seal and worker-kill suites.
import type { WorkflowHandle } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { expect } from 'vitest';
import { parseRotationLabels, pendingPath } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { readMetadata } from '../../vault/kv.js';

/** Once: `path` has exactly base+1 versions, current/previous labelled, unlocked, no pending sibling. */
export async function expectRotatedOnce(
  vault: VaultClient,
  mount: string,
  path: string,
  base: number,
): Promise<void> {
  const meta = await readMetadata(vault, mount, path, { consistent: true });
  expect(meta.current_version, `${path}: versions after the rotation`).toBe(base + 1);
  expect(Object.keys(meta.versions).map(Number)).toEqual(Array.from({ length: base + 1 }, (_, i) => i + 1));
  const labels = parseRotationLabels(meta.custom_metadata);
  expect(labels).toMatchObject({ current: base + 1, previous: base, state: 'retired' });
  expect(labels.rotation, 'the lock is released').toBeUndefined();
  expect(labels.pending).toBeUndefined();
  const sibling = await readMetadata(vault, mount, pendingPath(path), { consistent: true }).catch((e) => e);
  expect(isVaultFailure(sibling, VaultErrorType.NotFound), 'the pending sibling is gone').toBe(true);
}

export interface ActivityRuns {
  scheduled: number;
  /** Each completion's result, decoded (undefined for an activity that returns nothing). */
  completed: unknown[];
  /** Each failed attempt's failure type. */
  failed: string[];
  /**
   * The attempt number each run ended on: above 1 when earlier attempts were retried, e.g. after
   * timing out on a worker that died while running them (retried attempts leave no event).
   */
  attempts: number[];
}

/** How the activities of each type fared in the workflow's history, by activity type. */
export async function activityRuns(
  handle: WorkflowHandle,
  options: { codecs?: PayloadCodec[] } = {},
): Promise<Map<string, ActivityRuns>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map<string, string>();
  const runs = new Map<string, ActivityRuns>();
  const of = (scheduledEventId: unknown) => {
    const type = typeOf.get(String(scheduledEventId)) ?? 'unknown';
    const known = runs.get(type);
    if (known) return known;
    const fresh: ActivityRuns = { scheduled: 0, completed: [], failed: [], attempts: [] };
    runs.set(type, fresh);
    return fresh;
  };
  const decode = async (payload: Payload | undefined) => {
    let opened = payload;
    for (const codec of [...(options.codecs ?? [])].reverse())
      [opened] = (await codec.decode([opened as Payload])) as [Payload];
    const data = opened?.data; // empty for an activity that returns nothing
    return data?.length ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
  };
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name) {
      typeOf.set(String(e.eventId), scheduled.activityType.name);
      of(e.eventId).scheduled += 1;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) of(done.scheduledEventId).completed.push(await decode(done.result?.payloads?.[0] as Payload));
    const failed = e.activityTaskFailedEventAttributes;
    if (failed)
      of(failed.scheduledEventId).failed.push(failed.failure?.applicationFailureInfo?.type ?? 'unknown');
    const started = e.activityTaskStartedEventAttributes;
    if (started) of(started.scheduledEventId).attempts.push(started.attempt ?? 1);
  }
  return runs;
}
