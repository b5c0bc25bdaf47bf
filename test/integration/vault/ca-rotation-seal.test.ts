// A CA rotation with Vault sealed in the middle, for real: a 1-node raft cluster, a Temporal dev
// server, the worker with the real activities, the SoftHSM2 token and the seal guard. Vault is
// sealed while the rotation waits for its approval; once approved, the HSM signing step (which
// reads the root from KV) meets the seal and queues (`queued-sealed`), nothing moves while sealed,
// and after the unseal the rotation completes: one new issuer, the default, the old one narrowed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HsmConfig } from '../../../activities/hsm/pkcs11.js';
import type { RaftCluster } from '../../../client/stack/raft-cluster.js';
import type { VaultClient } from '../../../vault/client.js';
import { listIssuers, readDefaultIssuer, readIssuer } from '../../../vault/pki/issuers.js';
import { seal, unseal } from '../../../vault/sys.js';
import { type CaRotationInput, caRotationWorkflow } from '../../../workflows/ca/rotation.js';
import { approveUpdate } from '../../../workflows/lib/approval.js';
import { sealGuardId, sealGuardStateQuery } from '../../../workflows/lib/seal-signals.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { bootstrappedMount, makeHsmRoot } from '../../harness/ca-fixtures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { type RaftWorker, startRaftWorker } from '../../harness/raft-worker.js';
import { server, unique } from '../../harness/vault.js';
import { waitFor } from '../../harness/wait.js';

const flavour = server().flavour;
const cluster = `raft-${flavour}`;
const taskQueue = 'ca-rotation-seal';
const hsmToken = inject('hsm');
const hsm: HsmConfig = { modulePath: hsmToken.modulePath, tokenLabel: hsmToken.label, pin: hsmToken.userPin };
const root = { mount: 'secret', path: 'vaultops/ca/root' };
let stack: RaftWorker | undefined;
let raft: RaftCluster;
let vault: VaultClient;

beforeAll(async () => {
  process.env.SOFTHSM2_CONF = hsmToken.confPath;
  rememberSecret(hsmToken.userPin, 'HSM user PIN');
  stack = await startRaftWorker({ flavour, cluster, taskQueue, hsm });
  ({ raft, vault } = stack);
  await makeHsmRoot(vault, hsm, root, { subject: 'CN=vaultops seal test root', ttlMs: 365 * 24 * 3600_000 });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const stepState = async (handle: WorkflowHandle<typeof caRotationWorkflow>, step: string) =>
  (await handle.query(workflowStatusQuery)).steps.find((s) => s.name === step)?.state;

describe(`ca rotation with ${flavour} sealed mid-rotation`, () => {
  it('the signing step queues while sealed and the rotation completes after the unseal', async () => {
    const { mount, oldIssuerId } = await bootstrappedMount(vault, hsm, {
      root,
      baseUrl: raft.nodes[0]?.address ?? 'http://127.0.0.1:8200',
      roleMaxTtl: '2s',
      intermediateTtlMs: 30 * 24 * 3600_000,
    });

    const input: CaRotationInput = {
      cluster,
      mount,
      root,
      newIssuerName: 'int-new',
      commonName: 'seal test Intermediate (EC)',
      keyType: 'ec',
      keyBits: 256,
      intermediateTtlMs: 7 * 24 * 3600_000,
      baseUrl: raft.nodes[0]?.address ?? 'http://127.0.0.1:8200',
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '10m' },
      crlSigningMs: 500,
      keepOldIssuer: true,
    };
    const env = (stack as RaftWorker).env;
    const handle = await env.client.workflow.start(caRotationWorkflow, {
      taskQueue,
      workflowId: unique('ca-rotate-seal'),
      args: [input],
    });
    await waitFor(
      async () => (await stepState(handle, 'approve')) === 'waiting-approval',
      30_000,
      'approval',
    );
    await seal(vault);
    await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'sealed test' }] });
    await waitFor(async () => (await stepState(handle, 'sign')) === 'queued-sealed', 30_000, 'sign queued');
    const guard = await env.client.workflow.getHandle(sealGuardId(cluster)).query(sealGuardStateQuery);
    expect(guard.sealed).toBe(true);
    expect(guard.queue.map((q) => `${q.workflowId}:${q.step}`)).toContain(`${handle.workflowId}:sign`);
    // Nothing moves while sealed.
    await sleep(1500);
    expect(await stepState(handle, 'sign')).toBe('queued-sealed');
    expect(await stepState(handle, 'import')).toBe('pending');

    await unseal(vault, raft.unsealKey);
    const result = await handle.result();
    expect(result.oldIssuerId).toBe(oldIssuerId);
    expect(await readDefaultIssuer(vault, mount)).toBe(result.newIssuerId);
    expect((await readIssuer(vault, mount, oldIssuerId)).usage).toBe('read-only');
    expect((await listIssuers(vault, mount)).filter((i) => i.issuerName === 'int-new')).toHaveLength(1);
    const report = await handle.query(workflowStatusQuery);
    expect(report.steps.filter((s) => s.state !== 'done')).toEqual([]);
    await expectNoSecretsInHistory(env.client, { workflowIds: [handle.workflowId] });
  }, 120_000);
});
