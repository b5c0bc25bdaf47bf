// A CA rotation survives its workers being SIGKILLed (issue 8), for real: an OpenBao dev server, a
// Temporal dev server, a SoftHSM2 token, and `vaultops worker` as its own process with encrypted
// payloads and an `hsm:` section. The worker reaches Vault through a proxy that can hold a reply.
// One rotation meets two kills: in the middle of the import (Vault has taken the signed
// intermediate, the worker never hears), and during the grace period (no step in flight). Each
// time a new worker takes over; the rotation completes with exactly one new issuer, the default,
// the old one narrowed, each step's activity completed once, and neither the history nor the
// workers' logs hold the HSM PIN, a key or the root token. The time to resume is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HsmConfig } from '../../activities/hsm/pkcs11.js';
import { initSoftHsmToken } from '../../client/stack/softhsm.js';
import type { VaultClient } from '../../vault/client.js';
import { listIssuers, readDefaultIssuer, readIssuer } from '../../vault/pki/issuers.js';
import { type CaRotationInput, caRotationWorkflow } from '../../workflows/ca/rotation.js';
import { approveUpdate } from '../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import { bootstrappedMount, makeHsmRoot } from '../harness/ca-fixtures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { type LossyProxy, nthWriteTo, startLossyProxy } from '../harness/lossy-proxy.js';
import { activityRuns } from '../harness/rotation-checks.js';
import type { Spawned } from '../harness/spawned.js';
import { waitFor } from '../harness/wait.js';
import { startWorkerStack, type WorkerStack } from '../harness/worker-process.js';

const TASK_QUEUE = 'ca-rotation-worker-kill';
const dir = mkdtempSync(join(tmpdir(), 'vaultops-ca-kill-'));
const token = initSoftHsmToken({ dir: join(dir, 'softhsm'), label: 'vaultops-ca-kill' });
const hsm: HsmConfig = { modulePath: token.modulePath, tokenLabel: token.label, pin: token.userPin };
const root = { mount: 'secret', path: 'vaultops/ca/root' };
let stack: WorkerStack | undefined;
let proxy: LossyProxy | undefined;
let vault: VaultClient;

beforeAll(async () => {
  process.env.SOFTHSM2_CONF = token.confPath;
  rememberSecret(token.userPin, 'HSM user PIN');
  stack = await startWorkerStack({
    taskQueue: TASK_QUEUE,
    name: 'ca-rotation-worker-kill',
    workerVaultAddress: async (address) => {
      proxy = await startLossyProxy(address);
      return proxy.address;
    },
    workerConfig: ['hsm:', `  module: "${token.modulePath}"`, `  token_label: "${token.label}"`],
    workerEnv: { SOFTHSM2_CONF: token.confPath, VAULTOPS_HSM_PIN: token.userPin },
  });
  ({ vault } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

const stepState = async (handle: WorkflowHandle<typeof caRotationWorkflow>, step: string) =>
  (await handle.query(workflowStatusQuery)).steps.find((s) => s.name === step)?.state;

async function kill(worker: Spawned): Promise<number> {
  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBeNull(); // killed by the signal, no exit code
  return Date.now();
}

describe('a CA rotation whose workers are killed', () => {
  it('killed mid-import and during the grace period: new workers finish it, one new issuer, every step once', async () => {
    const s = stack as WorkerStack;
    await makeHsmRoot(vault, hsm, root, { subject: 'CN=vaultops worker-kill test root' });
    const { mount, oldIssuerId } = await bootstrappedMount(vault, hsm, {
      root,
      baseUrl: s.vaultServer.address,
      roleMaxTtl: '2s',
    });
    const issuersBefore = (await listIssuers(vault, mount)).length;
    const input: CaRotationInput = {
      mount,
      root,
      newIssuerName: 'int-new',
      commonName: 'worker-kill test Intermediate (EC)',
      keyType: 'ec',
      keyBits: 256,
      intermediateTtlMs: 30 * 24 * 3600_000,
      baseUrl: s.vaultServer.address,
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '10m' },
      graceMs: 8000,
      crlSigningMs: 500,
      keepOldIssuer: true,
      rolesFollow: ['server'],
    };
    const first = await s.startWorker();
    const held = (proxy as LossyProxy).holdReply(nthWriteTo(`${mount}/intermediate/set-signed`));
    const handle = await s.client.workflow.start(caRotationWorkflow, {
      taskQueue: TASK_QUEUE,
      workflowId: `ca-rotate:default:${mount}:int-new`,
      args: [input],
    });
    await waitFor(
      async () => (await stepState(handle, 'approve')) === 'waiting-approval',
      60_000,
      'approval',
    );
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'worker-kill test' }] });

    // Kill 1: Vault has imported the new intermediate; the worker dies before it hears so.
    await held.reached;
    expect(await stepState(handle, 'import')).toBe('running');
    const firstKill = await kill(first);
    held.release(); // to a dead worker
    const second = await s.startWorker();
    await waitFor(async () => (await stepState(handle, 'import')) === 'done', 60_000, 'import resumed');
    const importResumedMs = Date.now() - firstKill;

    // Kill 2: during the grace period, when the new issuer is the default and nothing is in flight.
    await waitFor(async () => (await stepState(handle, 'grace')) === 'running', 60_000, 'grace');
    const secondKill = await kill(second);
    await sleep(1000);
    const third = await s.startWorker();
    const result = await handle.result();
    const doneMs = Date.now() - secondKill;

    // One new issuer, the default; the old one narrowed to read-only and kept.
    expect(result.oldIssuerId).toBe(oldIssuerId);
    expect(await readDefaultIssuer(vault, mount)).toBe(result.newIssuerId);
    expect((await listIssuers(vault, mount)).length).toBe(issuersBefore + 1);
    expect((await listIssuers(vault, mount)).filter((i) => i.issuerName === 'int-new')).toHaveLength(1);
    expect((await readIssuer(vault, mount, oldIssuerId)).usage).toBe('read-only');
    const report = await handle.query(workflowStatusQuery);
    expect(report.steps.filter((step) => step.state !== 'done').map((step) => step.name)).toEqual([]);

    // Every step's activity completed once; the import's first attempt died with its worker.
    const runs = await activityRuns(handle, { codecs: s.codecs() });
    for (const type of [
      'caRotationPlan',
      'caIntermediateCsr',
      'caSignIntermediateInHsm',
      'caImportIntermediate',
      'caPublishTrustBundle',
      'caSwitchIssuer',
      'caVerifyRotation',
      'caTidy',
    ]) {
      expect(runs.get(type)?.completed, `${type} completions`).toHaveLength(1);
      expect(runs.get(type)?.failed ?? [], `${type} failures`).toEqual([]);
    }
    expect(runs.get('caImportIntermediate')?.attempts).toEqual([2]);

    const scan = await expectNoSecretsInHistory(
      s.client,
      { workflowIds: [handle.workflowId] },
      { codecs: s.codecs() },
    );
    const logs = [first, second, third].map((w) => w.output()).join('');
    for (const secret of [token.userPin, s.vaultServer.rootToken])
      expect(logs.includes(secret), 'a secret in the workers’ logs').toBe(false);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    process.stdout.write(
      `ca rotation worker kill: the import was retried and done ${importResumedMs} ms after the kill mid-import ` +
        `(10 s heartbeat timeout); killed during the 8 s grace, the rotation completed ${doneMs} ms after that kill; ` +
        `one new issuer; every step once; history scan: ${scan.runs} run(s), ${scan.events} events, no secret\n`,
    );
  }, 240_000);
});
