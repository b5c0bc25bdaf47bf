// `ca init-root` against a real Vault-API server and a real SoftHSM2 token: the workflow makes the
// root key in the token and a self-signed root stored in KV, which `openssl verify` accepts; run
// again it finds both and makes nothing; an adopt of a missing key, a key of another type, and a
// store path that holds another key's root are refused; a worker without an HSM says what to add.
// No PIN in the history.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCaRootActivities } from '../../../activities/ca/root.js';
import type { HsmConfig } from '../../../activities/hsm/pkcs11.js';
import { readSecret } from '../../../vault/kv.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { type CaInitRootInput, caInitRootWorkflow } from '../../../workflows/ca/init-root.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const hsmToken = inject('hsm');
const hsm: HsmConfig = { modulePath: hsmToken.modulePath, tokenLabel: hsmToken.label, pin: hsmToken.userPin };
const vault = rootClient();
const mount = unique('kv-ca');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-ca-root-'));
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  process.env.SOFTHSM2_CONF = hsmToken.confPath;
  rememberSecret(hsmToken.userPin, 'HSM user PIN');
  await vault.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

async function initRoot(input: CaInitRootInput, withHsm = true) {
  const taskQueue = unique('ca-root');
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: createCaRootActivities({ vault, ...(withHsm ? { hsm } : {}) }),
    workflowBundle: bundle,
  });
  const workflowId = unique('ca-init-root');
  ran.push(workflowId);
  return worker.runUntil(
    env.client.workflow.execute(caInitRootWorkflow, { taskQueue, workflowId, args: [input] }),
  );
}

const request = (over: Partial<CaInitRootInput> = {}): CaInitRootInput => ({
  keyLabel: unique('root'),
  keyType: 'ec-p384',
  subject: 'CN=vaultops test root R1, O=vaultops',
  ttlMs: 10 * 365 * 24 * 3600_000,
  store: { mount, path: unique('ca/root') },
  ...over,
});

describe(`ca init-root on ${server().flavour} and SoftHSM2`, () => {
  it('makes the root key in the token and a self-signed root in KV; run again, it makes nothing', async () => {
    const input = request();
    const first = await initRoot(input);
    expect(first.key).toMatchObject({ keyLabel: input.keyLabel, keyType: 'ec-p384', created: true });
    expect(first.certificate).toMatchObject({ issued: true, version: 1 });

    const stored = await readSecret(vault, mount, input.store.path);
    const pem = String(stored.data.certificate);
    const file = join(dir, 'root.pem');
    writeFileSync(file, pem);
    const verified = spawnSync('openssl', ['verify', '-CAfile', file, file], { encoding: 'utf8' });
    expect(`${verified.stdout}${verified.stderr}`).toContain(': OK');
    const text = spawnSync(
      'openssl',
      ['x509', '-in', file, '-noout', '-subject', '-fingerprint', '-sha256'],
      {
        encoding: 'utf8',
      },
    ).stdout;
    expect(text).toMatch(/CN\s*=\s*vaultops test root R1/);
    expect(text.replace(/\s/g, '')).toContain(first.certificate.fingerprint);

    const again = await initRoot(input);
    expect(again.key.created).toBe(false);
    expect(again.certificate).toEqual({ ...first.certificate, issued: false });
    expect((await readSecret(vault, mount, input.store.path)).metadata.version).toBe(1);
  });

  it('adopts a key already on the token; refuses a missing one, another type, and another key at the store path', async () => {
    const made = request({ keyType: 'rsa-2048' });
    await initRoot(made);
    const adopted = await initRoot({ ...made, adopt: true, store: { mount, path: unique('ca/adopted') } });
    expect(adopted.key).toMatchObject({ created: false, keyType: 'rsa-2048' });
    expect(adopted.certificate.issued).toBe(true);

    expect(await failureType(initRoot(request({ adopt: true })))).toBe('RootKeyMissing');
    expect(await failureType(initRoot({ ...made, keyType: 'ec-p384' }))).toBe('RootKeyMismatch');
    // Another key, the first root's store path: replacing a root is a root rotation, not an init.
    await expect(initRoot(request({ store: made.store }))).rejects.toThrow();
    expect(await failureType(initRoot(request({ store: made.store })))).toBe('RootExists');
  });

  it('a worker without an HSM says what to configure', async () => {
    expect(await failureType(initRoot(request(), false))).toBe('HsmNotConfigured');
  });

  it('leaves no PIN or key material in the history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
