// A namespace migration survives its worker being SIGKILLed in the middle of the KV copy (issue
// 11, item 4), for real: an OpenBao dev server with namespaces, a Temporal dev server and
// `vaultops worker` as its own process with encrypted payloads. The source mount holds enough
// secrets (three versions each, in folders) for many batches and several continue-as-new runs.
// The worker is killed once part of the mount has reached the target; a new worker process
// resumes from the heartbeated cursor. The migration completes, verified, and at the target every
// secret has exactly the source's versions (1, 2, 3: none written twice, none missing) with the
// source's data. The histories hold no secret value.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvPathsAfter } from '../../activities/migrate/kv-walk.js';
import type { MigrateRunInput } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { readMetadata, readSecret, writeSecret } from '../../vault/kv.js';
import { createNamespace } from '../../vault/sys.js';
import { migrateWorkflow } from '../../workflows/migrate/migrate.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { migrationDriver } from '../harness/migrate-driver.js';
import { startWorkerStack, type WorkerStack } from '../harness/worker-process.js';

const TASK_QUEUE = 'migrate-worker-kill';
const SECRETS = 240;
const VERSIONS = 3;
const BATCH = 12; // 20 batches
const MOUNT = 'app-kv';

let stack: WorkerStack | undefined;
let vault: VaultClient;

beforeAll(async () => {
  stack = await startWorkerStack({ taskQueue: TASK_QUEUE, name: 'migrate-worker-kill' });
  ({ vault } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const pathOf = (i: number) => `team-${i % 6}/svc-${String(i).padStart(4, '0')}`;

/** The source namespace with SECRETS secrets of VERSIONS versions; one value is remembered. */
async function seed(from: string): Promise<void> {
  await createNamespace(vault, from);
  const src = vault.withNamespace(from);
  await src.write(`sys/mounts/${MOUNT}`, { type: 'kv', options: { version: '2' } });
  const value = `kill-value-${randomBytes(8).toString('hex')}`;
  rememberSecret(value, 'a migrated KV value');
  const writes = Array.from({ length: SECRETS }, (_, i) => async () => {
    for (let v = 1; v <= VERSIONS; v++)
      await writeSecret(src, MOUNT, pathOf(i), { value: i === 0 ? value : `v${v}-${i}`, n: v });
  });
  for (let i = 0; i < writes.length; i += 16) await Promise.all(writes.slice(i, i + 16).map((w) => w()));
}

const copiedSoFar = async (target: VaultClient) =>
  (await kvPathsAfter(target, MOUNT, null, SECRETS + 1).catch(() => ({ paths: [] }))).paths.length;

describe('a migration whose worker is killed in the middle of the KV copy', () => {
  it('resumes on a new worker: every version at the target exactly once, verified', async () => {
    const s = stack as WorkerStack;
    const tag = randomBytes(3).toString('hex');
    const from = `src-${tag}`;
    const to = `dst-${tag}`;
    await seed(from);
    const input: MigrateRunInput = {
      id: `kill-${tag}`,
      from,
      to,
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
      graceMs: 500,
      kvBatchSize: BATCH,
      batchesPerRun: 4,
    };
    const first = await s.startWorker();
    const workflowId = `migrate:${input.id}`;
    const started = await s.client.workflow.start(migrateWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [input],
    });
    const done = migrationDriver(s.client, workflowId).complete({ timeoutMs: 150_000 });
    done.catch(() => undefined); // awaited below; a failure while killing must not go unhandled

    // Part of the mount is at the target, part is not: the copy is under way.
    const target = vault.withNamespace(to);
    let atKill = await copiedSoFar(target);
    while (atKill < SECRETS / 6) {
      await sleep(20);
      atKill = await copiedSoFar(target);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const afterKill = await copiedSoFar(target);
    expect(afterKill).toBeLessThan(SECRETS);
    await sleep(1000);
    expect(await copiedSoFar(target)).toBe(afterKill); // nothing moves without a worker

    const second = await s.startWorker();
    const result = await done;
    expect(result.kv).toMatchObject({ paths: SECRETS, mismatched: 0 });
    expect(result.runs).toBeGreaterThanOrEqual(SECRETS / BATCH / 4);
    expect(result.kv.sourceDigest).toBe(result.kv.targetDigest);

    // Exactly the source's versions at the target, with the source's data.
    const src = vault.withNamespace(from);
    const at = await kvPathsAfter(target, MOUNT, null, SECRETS + 1);
    expect(at.paths).toEqual((await kvPathsAfter(src, MOUNT, null, SECRETS + 1)).paths);
    expect(at.paths).toHaveLength(SECRETS);
    for (let i = 0; i < SECRETS; i++) {
      const meta = await readMetadata(target, MOUNT, pathOf(i));
      expect(meta.current_version, pathOf(i)).toBe(VERSIONS);
      expect(Object.keys(meta.versions).sort(), pathOf(i)).toEqual(['1', '2', '3']);
    }
    for (const i of [0, 1, SECRETS / 2, SECRETS - 1])
      for (let v = 1; v <= VERSIONS; v++)
        expect((await readSecret(target, MOUNT, pathOf(i), { version: v })).data).toEqual(
          (await readSecret(src, MOUNT, pathOf(i), { version: v })).data,
        );

    // What the kill cost, from the chain of runs: KV batches that ran more than one attempt.
    let retried = 0;
    const eventsOf = async (runId: string) =>
      (await s.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    let runId: string | undefined = started.firstExecutionRunId;
    while (runId) {
      const events = await eventsOf(runId);
      retried += events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
      const next: string | null | undefined =
        events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      runId = next ?? undefined;
    }
    const scan = await expectNoSecretsInHistory(
      s.client,
      { workflowIds: [workflowId] },
      { codecs: s.codecs() },
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    process.stdout.write(
      `migrate worker kill: ${atKill} of ${SECRETS} secrets at the target when killed, ${afterKill} after; ` +
        `completed in ${result.runs} runs, ${retried} activity attempt(s) after the first, ` +
        `${result.kv.versionsWritten} versions reported written (the rest found at the target by the retry); ` +
        `history scan: ${scan.runs} runs, ${scan.events} events, no secret\n`,
    );
  }, 240_000);
});
