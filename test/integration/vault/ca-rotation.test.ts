// `ca rotate` against a real Vault-API server and a real SoftHSM2 token. A mount bootstrapped
// with an RSA 2048 intermediate (signed by an EC P-384 root in the token) is rotated to EC P-256
// with its role following, WHILE a loop issues leaves through the role: no issuance fails, and
// every leaf, old issuer's and new, verifies with `openssl verify` against the root and the
// published trust bundle. The old issuer ends narrowed (read-only, kept) or deleted, the new one is
// the default; a rejected rotation leaves the old default and removes the new key; a grace period
// shorter than the roles' leaf TTL is refused; the activities find their own work again; and no
// private key reaches the history. The grace period and retirement waits pass in skipped time.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCaBootstrapActivities } from '../../../activities/ca/bootstrap.js';
import {
  createCaRotationActivities,
  rotationLockPath,
  trustBundlePath,
} from '../../../activities/ca/rotation.js';
import type { HsmConfig } from '../../../activities/hsm/pkcs11.js';
import { readSecret } from '../../../vault/kv.js';
import { issue, readCertificate } from '../../../vault/pki/issue.js';
import { listIssuers, readDefaultIssuer, readIssuer } from '../../../vault/pki/issuers.js';
import { readRole } from '../../../vault/pki/roles.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import {
  type CaRotationInput,
  type CaRotationResult,
  caRotationWorkflow,
} from '../../../workflows/ca/rotation.js';
import { approveUpdate, rejectUpdate } from '../../../workflows/lib/approval.js';
import { workflowStatusQuery } from '../../../workflows/lib/status.js';
import { bootstrappedMount, makeHsmRoot } from '../../harness/ca-fixtures.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const hsmToken = inject('hsm');
const hsm: HsmConfig = { modulePath: hsmToken.modulePath, tokenLabel: hsmToken.label, pin: hsmToken.userPin };
const vault = rootClient();
const kvMount = unique('kv-ca');
const root = { mount: kvMount, path: 'ca/root' };
const dir = mkdtempSync(join(tmpdir(), 'vaultops-ca-rotation-'));
const bootstrap = createCaBootstrapActivities({ vault, hsm });
const rotation = createCaRotationActivities({ vault });
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  process.env.SOFTHSM2_CONF = hsmToken.confPath;
  rememberSecret(hsmToken.userPin, 'HSM user PIN');
  await vault.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  const rootPem = await makeHsmRoot(vault, hsm, root, {
    keyType: 'ec-p384',
    subject: 'CN=vaultops rotation test root, O=vaultops',
  });
  writeFileSync(join(dir, 'root.pem'), rootPem);
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A mount as `ca bootstrap` leaves it: an RSA 2048 intermediate, default, and a 1-minute server role. */
const bootstrapped = () =>
  bootstrappedMount(vault, hsm, { root, baseUrl: server().address, roleMaxTtl: '1m' });

const request = (mount: string, overrides: Partial<CaRotationInput> = {}): CaRotationInput => ({
  mount,
  root,
  newIssuerName: 'int-new',
  commonName: 'vaultops test Intermediate CA (EC)',
  keyType: 'ec',
  keyBits: 256,
  intermediateTtlMs: 2 * 365 * 24 * 3600_000,
  baseUrl: server().address,
  approval: { requester: 'alice', approvers: ['bob', 'carol'], quorum: 1, timeout: '1h' },
  rolesFollow: ['server'],
  keepOldIssuer: true,
  ...overrides,
});

async function run(input: CaRotationInput, decide: 'approve' | 'reject' | 'none'): Promise<CaRotationResult> {
  const taskQueue = unique('ca-rotation');
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: { ...bootstrap, ...rotation },
    workflowBundle: bundle,
  });
  const workflowId = unique('ca-rotate');
  ran.push(workflowId);
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(caRotationWorkflow, {
      taskQueue,
      workflowId,
      args: [input],
    });
    if (decide !== 'none') {
      for (let waited = 0; ; waited += 100) {
        const status = await handle.query(workflowStatusQuery);
        if (status.steps.find((s) => s.name === 'approve')?.state === 'waiting-approval') break;
        if (waited > 60_000) throw new Error('the rotation never asked for its approval');
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.executeUpdate(decide === 'approve' ? approveUpdate : rejectUpdate, {
        args: [{ approver: 'bob', reason: 'test' }],
      });
    }
    return handle.result();
  });
}

/** `openssl verify` of each PEM file against the root, with the given intermediates untrusted. */
function opensslVerify(intermediatesPem: string, leaves: string[]): string[] {
  const inter = join(dir, `${unique('inter')}.pem`);
  writeFileSync(inter, intermediatesPem);
  const files = leaves.map((pem, i) => {
    const file = join(dir, `${unique(`leaf${i}`)}.pem`);
    writeFileSync(file, pem);
    return file;
  });
  const verified = spawnSync(
    'openssl',
    ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', inter, ...files],
    {
      encoding: 'utf8',
    },
  );
  return `${verified.stdout}${verified.stderr}`.trim().split('\n');
}

const keyNamed = async (mount: string, name: string) => {
  const keys = (await vault.list(`${mount}/keys`)) as {
    data: { keys: string[]; key_info: Record<string, { key_name: string }> };
  };
  return keys.data.keys.filter((id) => keys.data.key_info[id]?.key_name === name);
};

describe(`ca rotate on ${server().flavour} and SoftHSM2`, () => {
  it('rotates RSA 2048 → EC P-256 while leaves are issued: none fails, every leaf verifies', async () => {
    const { mount, oldIssuerId } = await bootstrapped();
    const leaves: { serial: string; certificate: string }[] = [];
    const failures: string[] = [];
    let issuing = true;
    const loop = (async () => {
      for (let i = 0; issuing; i++) {
        try {
          const leaf = await issue(vault, mount, 'server', {
            commonName: `leaf-${i}.example.test`,
            ttl: '1m',
          });
          rememberSecret(String(leaf.privateKey), `leaf ${i} private key`);
          leaves.push({ serial: leaf.serialNumber, certificate: leaf.certificate });
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    let result: CaRotationResult;
    try {
      result = await run(request(mount), 'approve');
    } finally {
      // A few more after the end: the new default keeps issuing.
      await new Promise((r) => setTimeout(r, 300));
      issuing = false;
      await loop;
    }
    expect(failures).toEqual([]);
    expect(result.oldIssuerId).toBe(oldIssuerId);
    expect(result.oldIssuer).toBe('read-only');
    expect(result.rolesMoved).toEqual(['server']);
    const lock = rotationLockPath(root, mount);
    expect((await readSecret(vault, lock.mount, lock.path)).data.state).toBe('released');
    expect(await readDefaultIssuer(vault, mount)).toBe(result.newIssuerId);
    expect((await readIssuer(vault, mount, oldIssuerId)).usage).toBe('read-only');
    const fresh = await readIssuer(vault, mount, result.newIssuerId);
    expect(fresh.issuer_name).toBe('int-new');
    expect(new X509Certificate(fresh.certificate).publicKey.asymmetricKeyType).toBe('ec');
    expect(await readRole(vault, mount, 'server')).toMatchObject({ key_type: 'ec', key_bits: 256 });

    // The published trust bundle: the root and both intermediates, old and new.
    const where = trustBundlePath(root, mount);
    expect(result.bundle).toMatchObject({ mount: where.mount, path: where.path });
    const published = (await readSecret(vault, where.mount, where.path)).data;
    expect(published.issuers).toBe(`${oldIssuerId},${result.newIssuerId}`);
    const bundled = String(published.intermediates);
    expect(result.bundle.intermediateFingerprints).toEqual([
      new X509Certificate((await readIssuer(vault, mount, oldIssuerId)).certificate).fingerprint256,
      new X509Certificate(fresh.certificate).fingerprint256,
    ]);

    // Leaves from both issuers were issued during the rotation, and openssl verifies every one.
    const keyTypes = leaves.map((l) => new X509Certificate(l.certificate).publicKey.asymmetricKeyType);
    const fromOld = leaves.filter((l) => new X509Certificate(l.certificate).issuer.includes('(RSA)'));
    const fromNew = leaves.filter((l) => new X509Certificate(l.certificate).issuer.includes('(EC)'));
    expect(fromOld.length).toBeGreaterThan(0);
    expect(fromNew.length).toBeGreaterThan(0);
    expect(fromOld.length + fromNew.length).toBe(leaves.length);
    // Once leaves came from the new issuer they were EC keys: the role followed in the same step.
    expect(keyTypes.slice(keyTypes.indexOf('ec'))).toEqual(
      Array(keyTypes.length - keyTypes.indexOf('ec')).fill('ec'),
    );
    const before = await readCertificate(vault, mount, result.beforeLeafSerial);
    expect(before.revokedAt).toBeNull();
    const lines = opensslVerify(bundled, [before.certificate, ...leaves.map((l) => l.certificate)]);
    expect(lines).toHaveLength(leaves.length + 1);
    for (const line of lines) expect(line).toMatch(/: OK$/);
  });

  it('deletes the old issuer and its key after it expires, unless kept', async () => {
    const { mount, oldIssuerId } = await bootstrapped();
    const result = await run(request(mount, { keepOldIssuer: false, rolesFollow: [] }), 'approve');
    expect(result.oldIssuer).toBe('deleted');
    const left = await listIssuers(vault, mount);
    expect(left.map((i) => i.issuerId)).not.toContain(oldIssuerId);
    expect(left.map((i) => i.issuerId)).toContain(result.newIssuerId);
    expect(await keyNamed(mount, 'int-old-key')).toEqual([]);
    // Without following, the role keeps its key type; leaves now come from the new EC issuer.
    const leaf = await issue(vault, mount, 'server', { commonName: 'after.example.test', ttl: '1m' });
    rememberSecret(String(leaf.privateKey), 'after-rotation leaf private key');
    expect(new X509Certificate(leaf.certificate).publicKey.asymmetricKeyType).toBe('rsa');
    expect(opensslVerify(leaf.issuingCa, [leaf.certificate])[0]).toMatch(/: OK$/);
  });

  it('a rejected rotation leaves the old default and removes the new key', async () => {
    const { mount, oldIssuerId } = await bootstrapped();
    const issuersBefore = await listIssuers(vault, mount);
    expect(await failureType(run(request(mount), 'reject'))).toBe('ApprovalRejected');
    expect(await readDefaultIssuer(vault, mount)).toBe(oldIssuerId);
    expect(await listIssuers(vault, mount)).toEqual(issuersBefore);
    expect(await keyNamed(mount, 'int-new-key')).toEqual([]);
    expect(await readRole(vault, mount, 'server')).toMatchObject({ key_type: 'rsa', key_bits: 2048 });
  });

  it('refuses a grace period shorter than the longest leaf TTL before it changes anything', async () => {
    const { mount, oldIssuerId } = await bootstrapped();
    expect(await failureType(run(request(mount, { graceMs: 30_000 }), 'none'))).toBe('CaGraceTooShort');
    expect(await readDefaultIssuer(vault, mount)).toBe(oldIssuerId);
    expect(await keyNamed(mount, 'int-new-key')).toEqual([]);
  });

  it('one rotation per mount: the lock refuses another owner, takes the same again, and is released', async () => {
    const mount = unique('pki_lock');
    const lock = { mount, root };
    await rotation.caRotationLock({ ...lock, owner: 'rotation-a' });
    expect((await rotation.caRotationLock({ ...lock, owner: 'rotation-a' })).version).toBe(1);
    expect(await failureType(rotation.caRotationLock({ ...lock, owner: 'rotation-b' }))).toBe(
      'CaRotationInProgress',
    );
    expect(await rotation.caRotationUnlock({ ...lock, owner: 'rotation-b' })).toEqual({ released: false });
    expect(await rotation.caRotationUnlock({ ...lock, owner: 'rotation-a' })).toEqual({ released: true });
    await rotation.caRotationLock({ ...lock, owner: 'rotation-b' });
    const where = rotationLockPath(root, mount);
    expect((await readSecret(vault, where.mount, where.path)).data).toMatchObject({
      state: 'held',
      owner: 'rotation-b',
    });
  });

  it('the switch, the bundle and the removal find their own work when they run again', async () => {
    const { mount, oldIssuerId } = await bootstrapped();
    const keyName = 'int-retry-key';
    const { csr } = await bootstrap.caIntermediateCsr({
      mount,
      keyType: 'ec',
      keyBits: 256,
      keyName,
      commonName: 'retry',
    });
    const signed = await bootstrap.caSignIntermediateInHsm({ root, csr, ttlMs: 24 * 3600_000 });
    const { issuerId } = await bootstrap.caImportIntermediate({
      mount,
      root,
      certificate: signed.certificate,
      issuerName: 'int-retry',
      baseUrl: server().address,
      makeDefault: false,
    });
    expect(await readDefaultIssuer(vault, mount)).toBe(oldIssuerId); // imported, not yet default

    const published = await rotation.caPublishTrustBundle({
      mount,
      root,
      issuerIds: [oldIssuerId, issuerId],
    });
    expect(await rotation.caPublishTrustBundle({ mount, root, issuerIds: [oldIssuerId, issuerId] })).toEqual(
      published,
    );

    const roles = [{ name: 'server', issuerRef: 'int-retry', keyType: 'ec', keyBits: 256 }];
    await rotation.caSwitchIssuer({ mount, issuerId, roles });
    await rotation.caSwitchIssuer({ mount, issuerId, roles });
    expect(await readDefaultIssuer(vault, mount)).toBe(issuerId);
    expect(await readRole(vault, mount, 'server')).toMatchObject({ issuer_ref: 'int-retry', key_type: 'ec' });

    const removed = await rotation.caRemoveRotationIssuer({ mount, keyName, restoreDefault: oldIssuerId });
    expect(removed.removedIssuers).toEqual([issuerId]);
    expect(await rotation.caRemoveRotationIssuer({ mount, keyName, restoreDefault: oldIssuerId })).toEqual({
      removedIssuers: [],
      removedKey: null,
    });
    expect(await readDefaultIssuer(vault, mount)).toBe(oldIssuerId);
  });

  it('root rotation: signed by a new root, cross-signed by the old; both trusted, then the new only', async () => {
    const newRoot = { mount: kvMount, path: unique('ca/root-r2') };
    const newRootPem = await makeHsmRoot(vault, hsm, newRoot, {
      subject: 'CN=vaultops rotation test root R2, O=vaultops',
    });
    const oldRootPem = String((await readSecret(vault, root.mount, root.path)).data.certificate);
    const { mount, oldIssuerId } = await bootstrapped();
    // The old root is shared by the other tests of this file: rotate away from a copy of it.
    const oldRoot = { mount: kvMount, path: unique('ca/root-copy') };
    const { data } = await readSecret(vault, root.mount, root.path);
    await vault.write(`${kvMount}/data/${oldRoot.path}`, { data });

    const result = await run(request(mount, { root: oldRoot, newRoot }), 'approve');
    expect(result.rootRetired).toBe(true);
    expect(result.crossIssuerId).toEqual(expect.any(String));
    expect(await readDefaultIssuer(vault, mount)).toBe(result.newIssuerId);
    const fresh = await readIssuer(vault, mount, result.newIssuerId);
    const twin = await readIssuer(vault, mount, result.crossIssuerId as string);
    expect(twin.key_id).toBe(fresh.key_id); // one key, two certificates
    expect(twin.usage).toBe('read-only');
    expect(fresh.manual_chain?.slice(0, 2)).toEqual([result.newIssuerId, result.crossIssuerId]);
    expect((await readIssuer(vault, mount, oldIssuerId)).usage).toBe('read-only');

    // A leaf of the new issuer chains to the new root, and through the cross-signed twin to the old.
    const leaf = await issue(vault, mount, 'server', { commonName: 'cross.example.test', ttl: '1m' });
    rememberSecret(String(leaf.privateKey), 'root-rotation leaf private key');
    const chainPrints = leaf.caChain.map((pem) => new X509Certificate(pem).fingerprint256);
    expect(chainPrints).toEqual(
      expect.arrayContaining([
        new X509Certificate(twin.certificate).fingerprint256,
        new X509Certificate(newRootPem).fingerprint256,
        new X509Certificate(oldRootPem).fingerprint256,
      ]),
    );
    writeFileSync(join(dir, 'new-root.pem'), newRootPem);
    const verifyWith = (rootFile: string, untrusted: string) => {
      const inter = join(dir, `${unique('inter')}.pem`);
      const leafFile = join(dir, `${unique('leaf')}.pem`);
      writeFileSync(inter, untrusted);
      writeFileSync(leafFile, leaf.certificate);
      const r = spawnSync('openssl', ['verify', '-CAfile', rootFile, '-untrusted', inter, leafFile], {
        encoding: 'utf8',
      });
      return `${r.stdout}${r.stderr}`.trim();
    };
    expect(verifyWith(join(dir, 'new-root.pem'), fresh.certificate)).toMatch(/: OK$/);
    expect(verifyWith(join(dir, 'root.pem'), twin.certificate)).toMatch(/: OK$/);
    expect(verifyWith(join(dir, 'new-root.pem'), twin.certificate)).not.toMatch(/: OK$/);

    // Trust-store phases: both roots during the grace period, then the new root only.
    const where = trustBundlePath(oldRoot, mount);
    expect(result.bundle).toMatchObject({
      ...where,
      rootFingerprints: [new X509Certificate(newRootPem).fingerprint256],
    });
    const during = await readSecret(vault, where.mount, where.path, { version: result.bundle.version - 1 });
    expect(String(during.data.root).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(during.data.issuers).toBe(`${oldIssuerId},${result.newIssuerId},${result.crossIssuerId}`);
    const after = await readSecret(vault, where.mount, where.path);
    expect(String(after.data.root).trim()).toBe(newRootPem.trim());
    expect(after.data.issuers).toBe(result.newIssuerId);

    // The old root's record is marked retired, its certificate and key label kept.
    const retired = (await readSecret(vault, oldRoot.mount, oldRoot.path)).data;
    expect(retired).toMatchObject({ certificate: data.certificate, key_label: data.key_label });
    expect(retired.retired_at).toEqual(expect.any(String));
    expect(retired.successor).toBe(`${newRoot.mount}/${newRoot.path}`);
  });

  it('leaves no PIN or key material in the history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
