// The certificate workflow in the time-skipping environment, with named stand-in activities
// (standIn below) that play a PKI role and the inventory from a script: certificates of a given
// lifetime, failures on demand, and a record of every call with its (skipped) time. Renewals over
// months, renewBefore, backoff and recovery, policy refusals before Vault is asked, renewNow,
// revoke by update and by cancellation, and no key in the history.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { CertRecord } from '../../common/cert/inventory.js';
import { type CertificateInput, certificateWorkflow } from '../../workflows/cert/certificate.js';
import {
  type CertificateStatus,
  certificateStatusQuery,
  renewNowUpdate,
  revokeUpdate,
} from '../../workflows/cert/messages.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'cert' });

const DAY = 24 * 3600_000;

/**
 * Stand-in certificate and inventory activities: a role that gives EC P-256 keys and
 * `lifetimeMs` certificates; while `failIssues` > 0 each issue fails (an unreachable Vault);
 * every call is recorded with the environment's time. Each "private key" is a random value
 * registered with the history scan.
 */
function standIn(options: { lifetimeMs?: number; keyType?: 'ec' | 'rsa'; keyBits?: number } = {}) {
  const lifetimeMs = options.lifetimeMs ?? 90 * DAY;
  const state = {
    failIssues: 0,
    calls: [] as string[],
    times: [] as number[],
    issueTimes: [] as number[],
    serials: [] as string[],
    records: [] as CertRecord[],
    revoked: [] as string[],
    verified: [] as string[],
    removed: [] as string[],
  };
  const called = async (what: string) => {
    state.calls.push(what);
    const now = await bed.env.currentTimeMs();
    state.times.push(now);
    return now;
  };
  const activities: Partial<Activities> = {
    async certPlan() {
      await called('plan');
      return {
        keyType: options.keyType ?? 'ec',
        keyBits: options.keyBits ?? 256,
        keyUsages: ['DigitalSignature', 'KeyAgreement'],
        extKeyUsages: ['ServerAuth'],
        roleTtlSeconds: 0,
        roleMaxTtlSeconds: 0,
        mountDefaultTtlSeconds: lifetimeMs / 1000,
        mountMaxTtlSeconds: 0,
        usesCsrSans: true,
        csrNames: null,
      };
    },
    async certIssueAndDeploy(input) {
      const now = await called('issue');
      if (state.failIssues > 0) {
        state.failIssues -= 1;
        throw ApplicationFailure.create({
          type: 'VaultUnavailable',
          message: 'stand-in Vault is unreachable',
        });
      }
      const key = randomBytes(24).toString('hex');
      rememberSecret(key, `stand-in private key #${state.serials.length + 1}`);
      const serial = `0a:${String(state.serials.length + 1).padStart(2, '0')}`;
      state.serials.push(serial);
      state.issueTimes.push(now);
      return {
        serial,
        issuerId: 'issuer-1',
        subject: `CN=${input.commonName}`,
        sans: [input.commonName, ...input.altNames],
        notBefore: new Date(now).toISOString(),
        notAfter: new Date(now + lifetimeMs).toISOString(),
        fingerprint: `AA:${serial}`,
        reload: input.deploy.reloadCommand ? { ok: false, detail: 'exit 3' } : null,
      };
    },
    async certRevoke(input) {
      await called('revoke');
      state.revoked.push(input.serial);
      return { revokedAt: new Date(await bed.env.currentTimeMs()).toISOString() };
    },
    async certVerifyRevoked(input) {
      await called('verify');
      state.verified.push(input.serial);
      return {
        serial: input.serial,
        crl: { revoked: true, thisUpdate: new Date().toISOString() },
        ocsp: { status: 'revoked', revokedAt: null, signedBy: 'issuer' },
      };
    },
    async certRemoveFiles(input) {
      await called('remove');
      state.removed.push(input.fingerprint);
      return { removed: [input.deploy.certFile] };
    },
    async certInventoryRecord(input) {
      await called(`record:${input.record.event}`);
      state.records.push(input.record);
    },
  };
  return { state, activities };
}

const ran: string[] = [];

const certInput = (overrides: Partial<CertificateInput> = {}): CertificateInput => ({
  mount: 'pki_int',
  role: 'server',
  commonName: 'www.example.com',
  altNames: ['api.example.com'],
  deploy: { certFile: '/etc/tls/www.crt', keyFile: '/etc/tls/www.key', chainFile: '/etc/tls/chain.pem' },
  ...overrides,
});

/** Starts the workflow on a fresh task queue with the stand-ins, runs `fn`, then ends it. */
function withCertificate<T>(
  activities: Partial<Activities>,
  input: CertificateInput,
  fn: (handle: WorkflowHandle<typeof certificateWorkflow>) => Promise<T>,
): Promise<T> {
  return bed.start(certificateWorkflow, [input], activities, async (started) => {
    ran.push(started.workflowId);
    // A handle on the workflow id follows it across continue-as-new.
    const handle = bed.env.client.workflow.getHandle<typeof certificateWorkflow>(started.workflowId);
    try {
      return await fn(handle);
    } finally {
      await handle.terminate('test over').catch(() => {});
    }
  });
}

const status = (handle: WorkflowHandle<typeof certificateWorkflow>) => handle.query(certificateStatusQuery);

/** Waits (in real time: nothing is skipped) until the status satisfies `pred`. */
async function until(
  handle: WorkflowHandle<typeof certificateWorkflow>,
  pred: (s: CertificateStatus) => boolean,
  what: string,
): Promise<CertificateStatus> {
  for (let waited = 0; ; waited += 50) {
    const s = await status(handle).catch(() => undefined);
    if (s && pred(s)) return s;
    if (waited > 20_000) throw new Error(`never got to: ${what} (status ${JSON.stringify(s)})`);
    await sleep(50);
  }
}

const deployed = (handle: WorkflowHandle<typeof certificateWorkflow>) =>
  until(handle, (s) => s.certificate !== null && s.phase === 'waiting', 'a first certificate');

async function failureOf(handle: WorkflowHandle<typeof certificateWorkflow>): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

describe('certificateWorkflow (time-skipping, stand-in activities)', () => {
  it('issues, records, and renews at 2/3 of the lifetime over months, continuing as new', async () => {
    const { state, activities } = standIn({ lifetimeMs: 90 * DAY });
    const s = await withCertificate(activities, certInput({ continueAsNewAfter: 2 }), async (handle) => {
      const first = await deployed(handle);
      expect(first.certificate?.serial).toBe('0a:01');
      expect(Date.parse(first.nextRenewalAt ?? '') - Date.parse(first.certificate?.notBefore ?? '')).toBe(
        60 * DAY,
      );
      const firstRun = (await handle.describe()).runId;
      await bed.env.sleep(185 * DAY); // renewals due at 60, 120 and 180 days
      const third = await until(handle, (x) => x.renewals === 3 && x.phase === 'waiting', 'three renewals');
      expect((await handle.describe()).runId).not.toBe(firstRun);
      // The first run: an issue, two renewals and the continue-as-new.
      await keepHistory(
        'certificate-renewed-continued',
        bed.env.client.workflow.getHandle(handle.workflowId, firstRun),
      );
      return third;
    });
    expect(state.serials).toEqual(['0a:01', '0a:02', '0a:03', '0a:04']);
    const [t0, ...renewedAt] = state.issueTimes as [number, ...number[]];
    expect(renewedAt.map((t) => Math.round((t - t0) / DAY))).toEqual([60, 120, 180]);
    expect(s).toMatchObject({ run: 2, failing: false, lastError: null, renewals: 3 });
    expect(s.certificate?.serial).toBe('0a:04');
    expect(state.records.map((r) => [r.event, r.serial])).toEqual([
      ['issued', '0a:01'],
      ['renewed', '0a:02'],
      ['renewed', '0a:03'],
      ['renewed', '0a:04'],
    ]);
    expect(state.records[0]).toMatchObject({
      mount: 'pki_int',
      role: 'server',
      issuerId: 'issuer-1',
      subject: 'CN=www.example.com',
      sans: ['www.example.com', 'api.example.com'],
      fingerprint: 'AA:0a:01',
      workflowId: expect.stringMatching(/^cert-/),
    });
    // The policy is judged again before each renewal: plan precedes every issue.
    expect(state.calls.filter((c) => c === 'plan' || c === 'issue').join(',')).toBe(
      'plan,issue,plan,issue,plan,issue,plan,issue',
    );
  });

  it('renews at renewBefore the end when that is given', async () => {
    const { state, activities } = standIn({ lifetimeMs: 90 * DAY });
    await withCertificate(activities, certInput({ renewBeforeMs: 10 * DAY }), async (handle) => {
      const first = await deployed(handle);
      expect(Date.parse(first.certificate?.notAfter ?? '') - Date.parse(first.nextRenewalAt ?? '')).toBe(
        10 * DAY,
      );
      await bed.env.sleep(70 * DAY);
      expect((await status(handle)).renewals).toBe(0); // not at 60 days
      await bed.env.sleep(11 * DAY);
      await until(handle, (x) => x.renewals === 1, 'a renewal at 80 days');
    });
    const [t0, t1] = state.issueTimes as [number, number];
    expect(Math.round((t1 - t0) / DAY)).toBe(80);
  });

  it('a failing renewal backs off (1m, 2m, 4m, ...) and recovers', async () => {
    const { state, activities } = standIn({ lifetimeMs: 90 * DAY });
    await withCertificate(activities, certInput(), async (handle) => {
      await deployed(handle);
      // Each issue activity is tried 3 times per workflow attempt: 4 workflow attempts fail.
      state.failIssues = 12;
      await bed.env.sleep(60 * DAY + 60_000);
      const failing = await until(handle, (x) => x.failing, 'a failing renewal');
      expect(failing.phase).toBe('retrying');
      expect(failing.lastError?.message).toMatch(/stand-in Vault is unreachable/);
      expect(failing.certificate?.serial).toBe('0a:01'); // the old one still holds
      await bed.env.sleep(3 * 3600_000);
      const recovered = await until(handle, (x) => x.renewals === 1 && !x.failing, 'a recovery');
      expect(recovered.certificate?.serial).toBe('0a:02');
    });
    // The first try of each workflow attempt, and the gaps between them: 1m, 2m, 4m, 8m.
    const issues = state.calls
      .map((c, i) => [c, state.times[i] as number] as const)
      .filter(([c]) => c === 'issue')
      .map(([, t]) => t)
      .slice(1);
    const attemptStarts = issues.filter((_, i) => i % 3 === 0);
    const gaps = attemptStarts
      .slice(1)
      .map((t, i) => Math.round((t - (attemptStarts[i] as number)) / 60_000));
    expect(gaps).toEqual([1, 2, 4, 8]);
  });

  it('a policy violation on the names fails before any stand-in activity runs', async () => {
    const { state, activities } = standIn();
    const input = certInput({
      altNames: ['evil.com'],
      policy: { allowedDomains: ['*.example.com'] },
    });
    const failure = await withCertificate(activities, input, failureOf);
    expect(failure.type).toBe('CertPolicyViolation');
    expect(failure.message).toContain('policy rule allowed_domains: "evil.com" is not under *.example.com');
    expect(state.calls).toEqual([]);
  });

  it("a policy violation on the role's key fails after the read-only plan, before any issue", async () => {
    const { state, activities } = standIn({ keyType: 'rsa', keyBits: 2048 });
    const input = certInput({ policy: { keyTypes: { rsa: 3072, ec: 256 }, maxTtl: '720h' } });
    const failure = await withCertificate(activities, input, failureOf);
    expect(failure.type).toBe('CertPolicyViolation');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('policy rule key_types: rsa 2048 bits is below the minimum of 3072');
    expect(failure.message).toContain('policy rule max_ttl: a lifetime of 2160h is longer than 720h');
    expect(state.calls).toEqual(['plan']);
  });

  it('refuses a malformed policy and bad input before anything runs', async () => {
    const { state, activities } = standIn();
    const badPolicy = await withCertificate(
      activities,
      certInput({ policy: { maxTtl: 'forever' } as never }),
      failureOf,
    );
    expect(badPolicy.type).toBe('CertBadInput');
    expect(badPolicy.message).toMatch(/max_ttl: must be a duration/);
    const relative = await withCertificate(
      activities,
      certInput({ deploy: { certFile: 'www.crt', keyFile: '/k' } }),
      failureOf,
    );
    expect(relative.message).toMatch(/"www.crt" must be an absolute path/);
    expect(state.calls).toEqual([]);
  });

  it('renewNow renews at once and answers the new serial', async () => {
    const { state, activities } = standIn();
    await withCertificate(activities, certInput(), async (handle) => {
      await deployed(handle);
      const renewed = await handle.executeUpdate(renewNowUpdate);
      expect(renewed).toMatchObject({ previousSerial: '0a:01', serial: '0a:02' });
      const s = await until(handle, (x) => x.phase === 'waiting', 'waiting again');
      expect(s.renewals).toBe(1);
      expect(s.certificate?.serial).toBe('0a:02');
    });
    expect(state.serials).toEqual(['0a:01', '0a:02']);
  });

  it('renewNow and revoke keep working across continue-as-new (one renewal per run)', async () => {
    const { state, activities } = standIn();
    await withCertificate(activities, certInput({ continueAsNewAfter: 1 }), async (handle) => {
      await deployed(handle);
      expect((await handle.executeUpdate(renewNowUpdate)).serial).toBe('0a:02');
      await until(handle, (x) => x.run === 2 && x.phase === 'waiting', 'the second run');
      expect((await handle.executeUpdate(renewNowUpdate)).serial).toBe('0a:03');
      await until(handle, (x) => x.run === 3 && x.phase === 'waiting', 'the third run');
      const revocation = await handle.executeUpdate(revokeUpdate, { args: [{}] });
      expect(revocation.serial).toBe('0a:03');
      expect(await handle.result()).toMatchObject({ renewals: 2, certificate: { serial: '0a:03' } });
    });
    expect(state.revoked).toEqual(['0a:03']);
  });

  it('the revoke update revokes, records, proves it once, removes the files if asked, and ends', async () => {
    const { state, activities } = standIn();
    const outcome = await withCertificate(activities, certInput(), async (handle) => {
      await deployed(handle);
      const revocation = await handle.executeUpdate(revokeUpdate, { args: [{ removeFiles: true }] });
      expect(revocation).toMatchObject({
        serial: '0a:01',
        crl: { revoked: true },
        ocsp: { status: 'revoked', signedBy: 'issuer' },
        removed: ['/etc/tls/www.crt'],
      });
      return handle.result();
    });
    expect(outcome.revocation?.serial).toBe('0a:01');
    expect(state.calls.slice(-4)).toEqual(['revoke', 'record:revoked', 'verify', 'remove']);
  });

  it('cancelled: revokes and verifies once, keeps the files, and closes as cancelled', async () => {
    const { state, activities } = standIn();
    const outcome = await withCertificate(activities, certInput(), async (handle) => {
      await deployed(handle);
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { err, final: await status(handle), steps: await handle.query(workflowStatusQuery) };
    });
    expect((outcome.err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(state.revoked).toEqual(['0a:01']);
    expect(state.verified).toEqual(['0a:01']);
    expect(state.removed).toEqual([]);
    expect(state.records.map((r) => r.event)).toEqual(['issued', 'revoked']);
    expect(outcome.final).toMatchObject({ phase: 'revoked', nextRenewalAt: null });
    expect(outcome.steps.steps.find((x) => x.name === 'revoke')?.state).toBe('done');
  });

  it('a failed reload command is reported, not fatal: the certificate stays deployed and renewed', async () => {
    const { activities } = standIn();
    const input = certInput({ deploy: { ...certInput().deploy, reloadCommand: 'systemctl reload nginx' } });
    await withCertificate(activities, input, async (handle) => {
      const s = await deployed(handle);
      expect(s.reload).toEqual({ ok: false, detail: 'exit 3' });
      expect(s.lastError?.message).toMatch(/reload command failed \(exit 3\); the files are in place/);
      expect(s.failing).toBe(false);
      expect((await handle.executeUpdate(renewNowUpdate)).serial).toBe('0a:02');
    });
  });

  it('once: issues, deploys, records and returns', async () => {
    const { state, activities } = standIn();
    const result = await withCertificate(activities, certInput({ once: true }), (handle) => handle.result());
    expect(result.certificate?.serial).toBe('0a:01');
    expect(result.revocation).toBeNull();
    expect(state.calls).toEqual(['plan', 'issue', 'record:issued']);
  });

  it('leaves no private key in the history', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { workflowIds: ran });
    expect(scan.runs).toBeGreaterThanOrEqual(ran.length);
  });
});
