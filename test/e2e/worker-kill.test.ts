// Worker robustness for real: an OpenBao dev server, a Temporal dev server and `vaultops worker`
// as its own process, with encrypted payloads (a key file the worker and this test share). The
// ordered-writes example writes markers with a pause between them; the worker is SIGKILLed after
// a few markers and a new worker process takes over. The workflow completes with every marker at
// KV version 1 and no other (no Vault write done twice), in step order, and its history carries
// no secret. The figures (markers before the kill, time to resume) are printed.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VaultDevServer } from '../../client/stack/vault-dev.js';
import type { VaultClient } from '../../vault/client.js';
import { readMetadata } from '../../vault/kv.js';
import { orderedWritesWorkflow } from '../fixtures/workflows/ordered-writes.js';
import { expectNoSecretsInHistory } from '../harness/history-scan.js';
import { startWorkerStack, type WorkerStack } from '../harness/worker-process.js';

const TASK_QUEUE = 'worker-kill';

let stack: WorkerStack | undefined;
let vaultServer: VaultDevServer;
let vault: VaultClient;

beforeAll(async () => {
  stack = await startWorkerStack({ taskQueue: TASK_QUEUE, name: 'worker-kill', withExamples: true });
  ({ vaultServer, vault } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const startWorker = () => (stack as WorkerStack).startWorker();

const markerPath = (prefix: string, i: number) => `${prefix}/step-${String(i).padStart(2, '0')}`;

async function markers(prefix: string): Promise<string[]> {
  const body = (await vault.list(`secret/metadata/${prefix}/`).catch(() => ({ data: { keys: [] } }))) as {
    data: { keys: string[] };
  };
  return body.data.keys;
}

interface KillCase {
  name: string;
  steps: number;
  pauseMs: number;
  killAfter: number;
}

async function killAndResume({ name, steps, pauseMs, killAfter }: KillCase): Promise<void> {
  const prefix = `kill-${randomBytes(4).toString('hex')}`;
  const first = await startWorker();
  const { client } = stack as WorkerStack;
  const handle = await client.workflow.start(orderedWritesWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: `worker-kill-${prefix}`,
    args: [{ mount: 'secret', prefix, steps, pauseMs }],
  });

  while ((await markers(prefix)).length < killAfter) await sleep(20);
  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  expect(await first.exited).toBeNull(); // killed by the signal, no exit code
  const beforeKill = (await markers(prefix)).length;

  // A while with no worker at all: nothing may move.
  await sleep(2000);
  const duringOutage = (await markers(prefix)).length;
  expect(duringOutage).toBe(beforeKill);

  const restartAt = Date.now();
  const second = await startWorker();
  const pollingAt = Date.now();
  while ((await markers(prefix)).length <= duringOutage) {
    if (Date.now() - restartAt > 90_000) throw new Error('no marker within 90 s of the new worker');
    await sleep(20);
  }
  const resumedAt = Date.now();
  const result = await handle.result();
  const doneAt = Date.now();

  expect(result.written).toEqual(
    Array.from({ length: steps }, (_, i) => `step-${String(i + 1).padStart(2, '0')}`),
  );
  const created: string[] = [];
  for (let i = 1; i <= steps; i++) {
    const meta = await readMetadata(vault, 'secret', markerPath(prefix, i));
    // Exactly once: version 1 and no other.
    expect(meta.current_version, markerPath(prefix, i)).toBe(1);
    expect(Object.keys(meta.versions)).toEqual(['1']);
    created.push(meta.created_time);
  }
  expect(created).toEqual([...created].sort());

  // The history, decoded through the shared key, holds no Vault token.
  const scan = await expectNoSecretsInHistory(
    client,
    { workflowIds: [handle.workflowId] },
    { codecs: (stack as WorkerStack).codecs() },
  );

  // What the kill cost, from the history: workflow tasks that timed out on the dead worker's
  // sticky queue, and activity attempts after the first (an activity cut off mid-write).
  const events = (await handle.fetchHistory()).events ?? [];
  const taskTimeouts = events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
  const retried = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(first.output() + second.output()).not.toContain(vaultServer.rootToken);
  process.stdout.write(
    `worker kill (${name}): ${beforeKill} of ${steps} markers before SIGKILL, ${duringOutage} after 2 s without a worker; ` +
      `the new worker polled ${pollingAt - restartAt} ms after its start; the next marker came ` +
      `${resumedAt - restartAt} ms after the new worker started (${resumedAt - pollingAt} ms after it polled, ` +
      `${resumedAt - killedAt} ms after the kill); all ${steps} done ${doneAt - restartAt} ms after the restart, ` +
      `each at version 1; ${taskTimeouts} workflow task(s) timed out on the dead worker, ${retried} activity retries; ` +
      `history scan: ${scan.runs} run, ${scan.events} events, no secret\n`,
  );
}

describe('a worker killed in the middle of a workflow', () => {
  it(
    'resumes on a new worker process when killed between steps; every write once, in order',
    () => killAndResume({ name: 'between steps', steps: 8, pauseMs: 1000, killAfter: 3 }),
    240_000,
  );

  it(
    'resumes when killed while steps run back to back (possibly mid-write); every write once',
    () => killAndResume({ name: 'back to back', steps: 20, pauseMs: 0, killAfter: 6 }),
    240_000,
  );
});
