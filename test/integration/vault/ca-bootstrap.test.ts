// `ca bootstrap` against a real Vault-API server and a real SoftHSM2 token: a root made in the
// token, then the bootstrap workflow with the real activities: mount, CSR from a key Vault keeps,
// an approval, the HSM's signature, the import (named, its own CRL and CA URLs, default issuer),
// roles, and a test leaf. A leaf issued afterwards verifies to the root with `openssl verify`; a
// rejected bootstrap signs nothing; the CSR and import steps find their own work on a retry.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCaBootstrapActivities } from '../../../activities/ca/bootstrap.js';
import { createCaRootActivities } from '../../../activities/ca/root.js';
import type { HsmConfig } from '../../../activities/hsm/pkcs11.js';
import { issue } from '../../../vault/pki/issue.js';
import { listIssuers, readDefaultIssuer } from '../../../vault/pki/issuers.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { type CaBootstrapInput, caBootstrapWorkflow } from '../../../workflows/ca/bootstrap.js';
import { approveUpdate, rejectUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const hsmToken = inject('hsm');
const hsm: HsmConfig = { modulePath: hsmToken.modulePath, tokenLabel: hsmToken.label, pin: hsmToken.userPin };
const vault = rootClient();
const kvMount = unique('kv-ca');
const root = { mount: kvMount, path: 'ca/root' };
const dir = mkdtempSync(join(tmpdir(), 'vaultops-ca-bootstrap-'));
const bootstrap = createCaBootstrapActivities({ vault, hsm });
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  process.env.SOFTHSM2_CONF = hsmToken.confPath;
  rememberSecret(hsmToken.userPin, 'HSM user PIN');
  await vault.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  const rootActivities = createCaRootActivities({ vault, hsm });
  const keyLabel = unique('root');
  await rootActivities.caEnsureRootKey({ keyLabel, keyType: 'ec-p384', adopt: false });
  await rootActivities.caIssueRootCertificate({
    keyLabel,
    subject: 'CN=vaultops bootstrap test root, O=vaultops',
    ttlMs: 10 * 365 * 24 * 3600_000,
    store: root,
  });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

const request = (mount: string): CaBootstrapInput => ({
  mount,
  root,
  commonName: 'vaultops test Intermediate CA',
  issuerName: 'int-2026',
  keyType: 'ec',
  keyBits: 256,
  intermediateTtlMs: 5 * 365 * 24 * 3600_000,
  baseUrl: server().address,
  roles: {
    server: { allowedDomains: ['example.test'], allowSubdomains: true, maxTtl: '720h', serverFlag: true },
    client: {
      allowedDomains: ['clients.example.test'],
      allowSubdomains: true,
      maxTtl: '72h',
      clientFlag: true,
      serverFlag: false,
    },
  },
  approval: { requester: 'alice', approvers: ['bob', 'carol'], quorum: 1, timeout: '1h' },
});

async function run(input: CaBootstrapInput, decide: 'approve' | 'reject') {
  const taskQueue = unique('ca-bootstrap');
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: bootstrap,
    workflowBundle: bundle,
  });
  const workflowId = unique('ca-bootstrap');
  ran.push(workflowId);
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(caBootstrapWorkflow, {
      taskQueue,
      workflowId,
      args: [input],
    });
    for (let waited = 0; ; waited += 100) {
      const status = await handle.query(workflowStatusQuery);
      if (status.steps.find((s) => s.name === 'approve')?.state === 'waiting-approval') break;
      if (waited > 60_000) throw new Error('the bootstrap never asked for its approval');
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.executeUpdate(decide === 'approve' ? approveUpdate : rejectUpdate, {
      args: [{ approver: 'bob', reason: 'test' }],
    });
    return handle.result();
  });
}

describe(`ca bootstrap on ${server().flavour} and SoftHSM2`, () => {
  it('makes an intermediate signed by the HSM root, its URLs, roles and a leaf that verifies to the root', async () => {
    const mount = unique('pki_int');
    const result = await run(request(mount), 'approve');
    expect(result.approvals.map((a) => a.approver)).toEqual(['bob']);
    expect(result.roles).toEqual(['server', 'client']);
    expect(await readDefaultIssuer(vault, mount)).toBe(result.issuerId);
    const issuer = (await vault.read(`${mount}/issuer/${result.issuerId}`)) as {
      data: { issuer_name: string; crl_distribution_points: string[]; issuing_certificates: string[] };
    };
    expect(issuer.data.issuer_name).toBe('int-2026');
    expect(issuer.data.crl_distribution_points).toEqual([
      `${server().address}/v1/${mount}/issuer/${result.issuerId}/crl/der`,
    ]);

    // An independent client: openssl verifies a freshly issued leaf up to the HSM root.
    const leaf = await issue(vault, mount, 'server', { commonName: 'api.example.test', ttl: '1h' });
    rememberSecret(String(leaf.privateKey), 'test leaf private key');
    const rootPem = String(
      ((await vault.read(`${kvMount}/data/ca/root`)) as { data: { data: { certificate: string } } }).data.data
        .certificate,
    );
    writeFileSync(join(dir, 'root.pem'), rootPem);
    writeFileSync(join(dir, 'inter.pem'), leaf.issuingCa);
    writeFileSync(join(dir, 'leaf.pem'), leaf.certificate);
    const verified = spawnSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'inter.pem'),
        join(dir, 'leaf.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(`${verified.stdout}${verified.stderr}`).toContain(': OK');
    // The client role refuses a server name: the spec's domains hold.
    await expect(issue(vault, mount, 'client', { commonName: 'api.example.test' })).rejects.toThrow();
  });

  it('a rejected bootstrap signs nothing', async () => {
    const mount = unique('pki_int');
    expect(await failureType(run(request(mount), 'reject'))).toBe('ApprovalRejected');
    expect(await listIssuers(vault, mount).catch(() => [])).toEqual([]);
  });

  it('the CSR and import steps find their own work when they run again', async () => {
    const mount = unique('pki_int');
    await bootstrap.caEnsurePkiMount({ mount, maxTtl: '87600h' });
    expect(await bootstrap.caEnsurePkiMount({ mount, maxTtl: '87600h' })).toEqual({ created: false });
    const spec = { mount, keyType: 'ec' as const, keyBits: 256, keyName: 'int-key', commonName: 'retry CA' };
    const first = await bootstrap.caIntermediateCsr(spec);
    const again = await bootstrap.caIntermediateCsr(spec);
    expect(again.keyId).toBe(first.keyId); // one key, whatever the retries
    const signed = await bootstrap.caSignIntermediateInHsm({ root, csr: first.csr, ttlMs: 24 * 3600_000 });
    const importInput = {
      mount,
      root,
      certificate: signed.certificate,
      issuerName: 'int-retry',
      baseUrl: server().address,
    };
    const imported = await bootstrap.caImportIntermediate(importInput);
    expect(await bootstrap.caImportIntermediate(importInput)).toEqual(imported);
    expect((await listIssuers(vault, mount)).filter((i) => i.issuerName === 'int-retry')).toHaveLength(1);
  });

  it('leaves no PIN or key material in the history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
