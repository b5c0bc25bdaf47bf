// The history scan (test/harness/history-scan.ts) can fail: a secret planted in a workflow input
// is found in the raw history, inside a plain payload and, through the codec, inside an encrypted
// one; a history without it passes.
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptionCodec, type Keyring } from '../../codec/codec.js';
import { encryptingDataConverter } from '../../codec/data-converter.js';
import { orderedWritesWorkflow } from '../fixtures/workflows/ordered-writes.js';
import { expectNoSecretsInHistory, rememberSecret, scanHistories } from '../harness/history-scan.js';
import { createTimeSkippingEnv } from '../harness/temporal.js';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTimeSkippingEnv();
});
afterAll(async () => {
  await env?.teardown();
});

const planted = `hvs.planted-${randomBytes(12).toString('hex')}`;
const keyring: Keyring = { current: 'test-1', keys: new Map([['test-1', randomBytes(32)]]), source: 'test' };

/** Starts the example with no worker: its input is in the history's first event, and stays there. */
async function startWith(client: Client, workflowId: string, prefix: string) {
  const handle = await client.workflow.start(orderedWritesWorkflow, {
    taskQueue: 'history-scan-no-worker',
    workflowId,
    args: [{ mount: 'secret', prefix, steps: 1, pauseMs: 0 }],
  });
  return handle.workflowId;
}

describe('history scan', () => {
  it('finds a secret planted in a workflow input (raw history and payload data)', async () => {
    rememberSecret(planted, 'planted token');
    const id = await startWith(env.client, 'scan-plain', `leak/${planted}`);
    const result = await scanHistories(env.client, { workflowIds: [id] });
    expect(result.runs).toBe(1);
    expect(result.findings).toContainEqual(
      expect.stringMatching(
        /^scan-plain\/\S+ event 1 EVENT_TYPE_WORKFLOW_EXECUTION_STARTED workflowExecutionStartedEventAttributes\.input\.payloads\[0\] \(payload data\): planted token$/,
      ),
    );
    await expect(expectNoSecretsInHistory(env.client, { workflowIds: [id] })).rejects.toThrow(
      /secrets found in Temporal history .*\n.*scan-plain.*planted token/,
    );
  });

  it('finds it inside an encrypted payload only through the codec', async () => {
    const encrypting = new Client({
      connection: env.connection,
      namespace: env.namespace ?? 'default',
      dataConverter: encryptingDataConverter(keyring),
    });
    const id = await startWith(encrypting, 'scan-encrypted', `leak/${planted}`);
    const secrets = [{ value: planted, label: 'planted token' }];
    // Without the codec the ciphertext hides it: why a suite on an encrypted stack passes its codec.
    expect((await scanHistories(env.client, { workflowIds: [id] }, { secrets })).findings).toEqual([]);
    const opened = await scanHistories(
      env.client,
      { workflowIds: [id] },
      { secrets, codecs: [new EncryptionCodec(keyring)] },
    );
    expect(opened.findings).toEqual([
      expect.stringMatching(/event 1 .*input\.payloads\[0\] \(codec-decoded\): planted token$/),
    ]);
  });

  it('finds a secret in a field that is no payload (the raw JSON)', async () => {
    // The client's identity is a plain string in the started event.
    const careless = new Client({
      connection: env.connection,
      namespace: env.namespace ?? 'default',
      identity: `ops@host token=${planted}`,
    });
    const id = await startWith(careless, 'scan-identity', 'clean');
    const { findings } = await scanHistories(env.client, { workflowIds: [id] });
    expect(findings.some((f) => f.includes('(raw JSON): planted token'))).toBe(true);
  });

  it('passes a history without the secret, and lists every run of the namespace', async () => {
    const id = await startWith(env.client, 'scan-clean', 'clean/markers');
    const clean = await expectNoSecretsInHistory(env.client, { workflowIds: [id] });
    expect(clean.runs).toBe(1);
    expect(clean.events).toBeGreaterThan(0);
    const all = await scanHistories(env.client, { all: true });
    expect(all.runs).toBe(4);
  });
});
