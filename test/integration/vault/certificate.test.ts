// The certificate workflow against a real Vault-API server, with the real activities: a small
// PKI mount (a root generated in Vault; the HSM path is covered by ca-bootstrap), certificates
// issued through the workflow into a temporary directory (key file 0600, chain verified by
// `openssl verify`, key matching the certificate), a renewNow that replaces the files atomically
// with a new serial, a revoke that the CRL and a signature-checked OCSP answer both confirm, the
// inventory recording each event, a CSR whose key never leaves the test, a policy refusal that
// issues nothing, and a history scan that finds no private key.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertInventoryActivities, listInventory } from '../../../activities/cert/inventory.js';
import { createCertificateActivities } from '../../../activities/cert/lifecycle.js';
import { certIssueCommand, certRenewCommand, certRevokeCommand } from '../../../client/commands/cert/cert.js';
import { fetchCrl } from '../../../vault/pki/crl.js';
import { issue, listCertificates, serialHex } from '../../../vault/pki/issue.js';
import { generateRoot } from '../../../vault/pki/issuers.js';
import { queryOcsp, queryOcspVerified } from '../../../vault/pki/ocsp.js';
import { writeRole } from '../../../vault/pki/roles.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../../workers/worker.js';
import { type CertificateInput, certificateWorkflow } from '../../../workflows/cert/certificate.js';
import {
  type CertificateStatus,
  certificateStatusQuery,
  renewNowUpdate,
  revokeUpdate,
} from '../../../workflows/cert/messages.js';
import { failureType } from '../../harness/failures.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const vault = rootClient();
const mount = unique('pki-cert');
const kvMount = unique('kv-inv');
const inventory = { mount: kvMount, prefix: 'certs' };
const dir = mkdtempSync(join(tmpdir(), 'vaultops-cert-'));
const ran: string[] = [];
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let rootPem: string;

beforeAll(async () => {
  await vault.write(`sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await vault.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  rootPem = (
    await generateRoot(vault, mount, {
      commonName: 'vaultops cert test root',
      ttl: '87600h',
      keyType: 'ec',
      keyBits: 256,
    })
  ).certificate;
  await writeRole(vault, mount, 'server', {
    allowedDomains: ['example.test'],
    allowSubdomains: true,
    maxTtl: '72h',
    keyType: 'ec',
    keyBits: 256,
  });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

const activities = () => ({
  ...createCertificateActivities({ vault }),
  ...createCertInventoryActivities({ vault }),
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = unique('cert');
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: activities(),
    workflowBundle: bundle,
  });
  return worker.runUntil(() => fn(taskQueue));
}

const files = (name: string) => ({
  certFile: join(dir, `${name}.crt`),
  keyFile: join(dir, `${name}.key`),
  chainFile: join(dir, `${name}-chain.pem`),
});

const openssl = (...args: string[]) => {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
};

/** The chain verifies with openssl, and the key file's public key is the certificate's. */
function expectDeployed(f: ReturnType<typeof files>, serial: string) {
  expect(statSync(f.keyFile).mode & 0o777).toBe(0o600);
  const key = readFileSync(f.keyFile, 'utf8');
  expect(createPrivateKey(key).type).toBe('private'); // a PEM private key Node can load
  rememberSecret(key, `deployed private key of ${serial}`);
  const cert = new X509Certificate(readFileSync(f.certFile));
  expect(serialHex(cert.serialNumber).replace(/^0+/, '')).toBe(serialHex(serial).replace(/^0+/, ''));
  expect(openssl('verify', '-CAfile', f.chainFile, f.certFile)).toContain(': OK');
  expect(openssl('pkey', '-in', f.keyFile, '-pubout')).toBe(
    openssl('x509', '-in', f.certFile, '-pubkey', '-noout'),
  );
  return cert;
}

async function firstCertificate(
  handle: ReturnType<TestWorkflowEnvironment['client']['workflow']['getHandle']>,
): Promise<CertificateStatus> {
  for (let waited = 0; ; waited += 100) {
    const s = await handle.query(certificateStatusQuery).catch(() => undefined);
    if (s?.certificate && s.phase === 'waiting') return s;
    if (waited > 60_000) throw new Error(`no certificate deployed (status ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe(`certificate workflow on ${server().flavour}`, () => {
  it('issues and deploys, renews now with a new serial replacing the files, revokes with CRL and OCSP proof', async () => {
    const f = files('www');
    const input: CertificateInput = {
      mount,
      role: 'server',
      commonName: 'www.example.test',
      altNames: ['api.example.test'],
      ttl: '1h',
      deploy: { ...f, reloadCommand: `touch ${join(dir, 'reloaded')}` },
      policy: {
        allowedDomains: ['*.example.test'],
        keyTypes: { ec: 256, rsa: 2048 },
        maxTtl: '24h',
        requiredExtKeyUsages: ['ServerAuth'],
      },
      inventory,
    };
    await withWorker(async (taskQueue) => {
      const workflowId = `cert:default:${mount}:www.example.test`;
      ran.push(workflowId);
      await env.client.workflow.start(certificateWorkflow, { taskQueue, workflowId, args: [input] });
      const handle = env.client.workflow.getHandle<typeof certificateWorkflow>(workflowId);

      const first = await firstCertificate(handle);
      const serial1 = first.certificate?.serial as string;
      const cert1 = expectDeployed(f, serial1);
      expect(cert1.subject).toContain('CN=www.example.test');
      expect(cert1.subjectAltName).toContain('DNS:api.example.test');
      expect(first.reload).toEqual({ ok: true, detail: 'exit 0' });
      expect(statSync(join(dir, 'reloaded')).isFile()).toBe(true);
      // Renewal at 2/3 of the hour's lifetime (Vault backdates notBefore by 30 s).
      const { notBefore, notAfter } = first.certificate as { notBefore: string; notAfter: string };
      const lifetime = Date.parse(notAfter) - Date.parse(notBefore);
      const renewAfter = Date.parse(first.nextRenewalAt as string) - Date.parse(notBefore);
      expect(Math.abs(renewAfter - (lifetime * 2) / 3)).toBeLessThan(2);
      const keyInode = statSync(f.keyFile).ino;
      const key1 = readFileSync(f.keyFile, 'utf8');

      const renewed = await handle.executeUpdate(renewNowUpdate);
      expect(renewed.previousSerial).toBe(serial1);
      expect(renewed.serial).not.toBe(serial1);
      expectDeployed(f, renewed.serial);
      expect(readFileSync(f.keyFile, 'utf8')).not.toBe(key1); // a new key for each certificate
      expect(statSync(f.keyFile).ino).not.toBe(keyInode); // replaced by rename, not rewritten
      expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);

      const revocation = await handle.executeUpdate(revokeUpdate, { args: [{}] });
      expect(revocation).toMatchObject({
        serial: renewed.serial,
        crl: { revoked: true },
        ocsp: { status: 'revoked', signedBy: 'issuer' },
        removed: [],
      });
      const outcome = await handle.result();
      expect(outcome).toMatchObject({ renewals: 1, revocation: { serial: renewed.serial } });

      // Checked again here, independently of the workflow's own proof.
      const crl = await fetchCrl(vault, mount);
      expect(crl.revokedSerials.map((s) => s.replace(/^0+/, ''))).toContain(
        serialHex(renewed.serial).replace(/^0+/, ''),
      );
      expect(
        (await queryOcsp(vault, mount, { serialNumber: renewed.serial, issuerPem: rootPem })).status,
      ).toBe('revoked');
      // The first certificate was superseded, not revoked.
      expect((await queryOcsp(vault, mount, { serialNumber: serial1, issuerPem: rootPem })).status).toBe(
        'good',
      );
      expect(readFileSync(f.certFile, 'utf8')).toContain('BEGIN CERTIFICATE'); // files kept

      const entries = await listInventory(vault, inventory);
      const bySerial = (s: string) =>
        entries.find(
          (e) => e.serial.replace(/:/g, '').replace(/^0+/, '') === serialHex(s).replace(/^0+/, ''),
        );
      expect(bySerial(serial1)?.events.map((e) => e.event)).toEqual(['issued']);
      expect(bySerial(renewed.serial)?.events.map((e) => e.event)).toEqual(['renewed', 'revoked']);
      expect(bySerial(renewed.serial)).toMatchObject({
        status: 'revoked',
        workflowId,
        mount,
        role: 'server',
      });
    });
  });

  it('signs a CSR whose key stays with the user: certificate and chain deployed, no key file', async () => {
    const keyPath = join(dir, 'user.key');
    const csrPath = join(dir, 'user.csr');
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath);
    openssl('req', '-new', '-key', keyPath, '-subj', '/CN=user.example.test', '-out', csrPath);
    rememberSecret(readFileSync(keyPath, 'utf8'), "the user's own key");
    const f = files('csr-deployed');
    const result = await withWorker(async (taskQueue) => {
      const workflowId = unique('cert-csr');
      ran.push(workflowId);
      return env.client.workflow.execute(certificateWorkflow, {
        taskQueue,
        workflowId,
        args: [
          {
            mount,
            role: 'server',
            commonName: 'user.example.test',
            csr: readFileSync(csrPath, 'utf8'),
            ttl: '1h',
            deploy: { certFile: f.certFile, chainFile: f.chainFile },
            once: true,
            inventory,
          },
        ],
      });
    });
    expect(result.certificate?.subject).toBe('CN=user.example.test');
    expect(openssl('verify', '-CAfile', f.chainFile, f.certFile)).toContain(': OK');
    expect(openssl('pkey', '-in', keyPath, '-pubout')).toBe(
      openssl('x509', '-in', f.certFile, '-pubkey', '-noout'),
    );
    expect(() => statSync(f.keyFile)).toThrow();
  });

  it('a policy violation issues nothing', async () => {
    const before = (await listCertificates(vault, mount)).length;
    const outcome = await withWorker(async (taskQueue) => {
      const workflowId = unique('cert-policy');
      ran.push(workflowId);
      return failureType(
        env.client.workflow.execute(certificateWorkflow, {
          taskQueue,
          workflowId,
          args: [
            {
              mount,
              role: 'server',
              commonName: 'mtls.example.test',
              deploy: files('refused'),
              policy: { requiredExtKeyUsages: ['ClientAuth'] },
              inventory,
            },
          ],
        }),
      );
    });
    expect(outcome).toBe('CertPolicyViolation');
    expect((await listCertificates(vault, mount)).length).toBe(before);
    expect(() => statSync(files('refused').keyFile)).toThrow();
  });

  it('a directory that does not exist fails the first issue at once, saying which, before Vault is asked', async () => {
    const missing = join(dir, 'no-such-dir');
    const before = (await listCertificates(vault, mount)).length;
    const outcome = await withWorker(async (taskQueue) => {
      const workflowId = unique('cert-nodir');
      ran.push(workflowId);
      return env.client.workflow
        .execute(certificateWorkflow, {
          taskQueue,
          workflowId,
          args: [
            {
              mount,
              role: 'server',
              commonName: 'nodir.example.test',
              ttl: '1h',
              deploy: { certFile: join(missing, 'c.crt'), keyFile: join(missing, 'c.key') },
              inventory,
            },
          ],
        })
        .then(
          () => 'resolved',
          (err: Error) => {
            let cause: Error = err;
            while (cause.cause instanceof Error) cause = cause.cause;
            return `${(cause as { type?: string }).type}: ${cause.message}`;
          },
        );
    });
    expect(outcome).toMatch(/^CertDeployFailed: .*directory .*no-such-dir does not exist on the worker/);
    expect((await listCertificates(vault, mount)).length).toBe(before);
  });

  it('an OCSP answer whose signature was altered on the way is refused', async () => {
    const leaf = await issue(vault, mount, 'server', { commonName: 'ocsp.example.test', ttl: '1h' });
    rememberSecret(String(leaf.privateKey), 'OCSP test leaf key');
    const request = { serialNumber: leaf.serialNumber, issuerPem: rootPem };
    expect(await queryOcspVerified(vault, mount, request)).toMatchObject({
      status: 'good',
      signedBy: 'issuer',
    });
    // The signature is the response's last bytes (Vault sends no responder certificates).
    const tampering = new Proxy(vault, {
      get(target, prop, receiver) {
        if (prop !== 'requestRaw') return Reflect.get(target, prop, receiver);
        return async (path: string) => {
          const answer = await target.requestRaw(path);
          const body = Buffer.from(answer.body);
          body[body.length - 1] = (body[body.length - 1] as number) ^ 0x01;
          return { ...answer, body };
        };
      },
    });
    await expect(queryOcspVerified(tampering, mount, request)).rejects.toThrow(
      /signature does not verify against the issuer/,
    );
  });

  it('the CLI: cert issue waits for the deployed certificate, renew prints the new serial, revoke ends it', async () => {
    const f = files('cli');
    const lines: string[] = [];
    const out = (line: string) => lines.push(line);
    const field = (name: string) =>
      lines
        .filter((l) => l.startsWith(name))
        .map((l) => l.slice(name.length).trim())
        .at(-1) as string;
    await withWorker(async (taskQueue) => {
      const global = { address: env.address, taskQueue };
      const saved = process.env.TEMPORAL_ADDRESS;
      process.env.TEMPORAL_ADDRESS = env.address; // configured: no dev stack is looked for
      try {
        await certIssueCommand(
          { ...global, mount, role: 'server', cn: 'cli.example.test', ttl: '2h', ...f },
          out,
        );
        const workflowId = `cert:default:${mount}:cli.example.test`;
        ran.push(workflowId);
        expect(field('Workflow')).toBe(workflowId);
        const serial1 = field('Serial');
        expectDeployed(f, serial1);
        expect(Date.parse(field('Not after'))).toBeGreaterThan(Date.now() + 3600_000);

        await certRenewCommand(workflowId, global, out);
        const serial2 = field('Serial');
        expect(serial2).not.toBe(serial1);
        expectDeployed(f, serial2);

        await certRevokeCommand(workflowId, { ...global, removeFiles: true }, out);
        expect(field('Revoked')).toMatch(new RegExp(`^${serial2} at `));
        expect(field('OCSP')).toMatch(/signed by the issuer, signature verified/);
        expect(field('Removed')).toBe(`${f.certFile}, ${f.keyFile}, ${f.chainFile}`);
        expect(() => statSync(f.keyFile)).toThrow();
        expect((await env.client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
      } finally {
        if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
        else process.env.TEMPORAL_ADDRESS = saved;
      }
    });
  });

  it('leaves no private key in the history', async () => {
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
