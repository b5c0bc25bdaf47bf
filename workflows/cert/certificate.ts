// One certificate's life, one workflow per certificate
// (`cert:<cluster>:<mount>:<commonName>`):
//   1. policy: the names (and the TTL asked) judged from the input alone; then the role is read and
//      the key, lifetime and usages it would give judged too, before any request reaches Vault;
//   2. issue + deploy in one activity: the key is made there and goes straight to its 0600 file;
//   3. record the certificate in the inventory;
//   4. wait (a durable timer) until renewal time — 2/3 of the lifetime, or renewBefore its end, as
//      cert-manager does — or a `renewNow` update; renew (1–3 again); a failure backs off (1m,
//      2m, ... 1h, not cert-manager's 1h..32h: see lib/keeper.ts) and tries again until it works;
//   5. continue as new after N renewals, carrying the current certificate's facts;
//   6. on a `revoke` update or on cancellation: revoke (not cancellable), record, and prove it
//      from the CRL and a signature-checked OCSP answer; optionally remove the files.
// The history holds serials, dates, fingerprints and the public CSR or certificate facts only.
import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createCertInventoryActivities } from '../../activities/cert/inventory.js';
import type { CertificateActivities, CertPlan, IssuedCertFacts } from '../../activities/cert/lifecycle.js';
import type { CertEvent } from '../../common/cert/inventory.js';
import { effectiveTtlMs } from '../../common/cert/policy.js';
import { parseDuration } from '../../common/durations.js';
import { presets, SEAL_AWARE_FEW_TRIES } from '../lib/activity-presets.js';
import { activityFailure } from '../lib/failures.js';
import { backoffMs, continueAsNewDue, MIN_WAIT_MS, renewalWindowMs } from '../lib/keeper.js';
import { keeperVaultStep, sealAware } from '../lib/seal-aware.js';
import { failureDetail, trackSteps } from '../lib/status.js';
import {
  BAD_INPUT_TYPES,
  badInput,
  type CertificateCarry,
  type CertificateInput,
  checkInput,
  policyViolation,
} from './input.js';
import {
  type CertificatePhase,
  type CertificateStatus,
  type CertRevocation,
  certificateStatusQuery,
  type HeldCertificate,
  type RenewNowResult,
  type RevokeRequest,
  renewNowUpdate,
  revokeUpdate,
} from './messages.js';

// A step gives up after a few quick attempts and leaves the decision to the workflow's own
// backoff; a seal reaches sealAware at once.
const act = proxyActivities<CertificateActivities>({ ...presets.vaultStep, retry: SEAL_AWARE_FEW_TRIES });

// The CRL and OCSP may show a revocation a moment late: asked again for about a minute.
const proof = proxyActivities<CertificateActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  retry: { ...SEAL_AWARE_FEW_TRIES, maximumAttempts: 10 },
});

// The plan (two reads) and the inventory record (a read and a write) take milliseconds: local
// activities, run inside the workflow task that asks for them, so a certificate costs the server
// one activity and two workflow tasks instead of three and four (npm run bench:ca measures it).
// A worker that dies meanwhile fails that workflow task, and the next worker runs them again;
// both are safe to repeat (reads; a record keyed by serial and event).
const planned = proxyLocalActivities<CertificateActivities>(presets.quickVaultCall);

const inventory = proxyLocalActivities<ReturnType<typeof createCertInventoryActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export type { CertificateCarry, CertificateInput };

export interface CertificateOutcome {
  certificate: HeldCertificate | null;
  renewals: number;
  revocation: CertRevocation | null;
}

export const CERTIFICATE_STEPS = ['policy', 'issue', 'record', 'renew', 'revoke'] as const;

const iso = (ms: number) => new Date(ms).toISOString();

export async function certificateWorkflow(input: CertificateInput): Promise<CertificateOutcome> {
  const policy = checkInput(input);
  const cluster = input.cluster ?? 'default';
  const target = { cluster, mount: input.mount, role: input.role };
  const altNames = input.altNames ?? [];
  const ipSans = input.ipSans ?? [];
  const requestedTtlMs = input.ttl === undefined ? undefined : parseDuration(input.ttl);
  const retryInitialMs = input.retryInitialMs ?? 60_000;
  const retryMaxMs = Math.max(input.retryMaxMs ?? 3_600_000, retryInitialMs);
  const renewalsPerRun = input.continueAsNewAfter ?? 10;
  const { workflowId } = workflowInfo();

  const carried = input.carried;
  const s = {
    cert: carried?.certificate ?? null,
    renewals: carried?.renewals ?? 0,
    renewalsThisRun: 0,
    failing: false,
    lastError: carried?.lastError ?? null,
    reload: null as CertificateStatus['reload'],
    revocation: null as CertRevocation | null,
    run: (carried?.runs ?? 0) + 1,
    /** Issue attempts started, and how the last one ended: what a renewNow waits for. */
    attempts: 0,
    lastAttempt: { seq: 0, ok: true, message: '' },
  };
  let renewRequested = false;
  let revokeRequested: RevokeRequest | null = null;

  const renewAtMs = (cert: HeldCertificate) => {
    const notAfter = Date.parse(cert.notAfter);
    return notAfter - renewalWindowMs(notAfter - Date.parse(cert.notBefore), input.renewBeforeMs);
  };

  // The certificate's phases (waiting, renewing, retrying...) are not its steps: it enters each itself.
  const steps = trackSteps(CERTIFICATE_STEPS, { phase: 'issuing', phaseFromSteps: false });
  const phase = () => steps.phase as CertificatePhase;
  const status = (): CertificateStatus => ({
    phase: phase(),
    certificate: s.cert,
    nextRenewalAt:
      s.cert && !['revoking', 'revoked', 'done'].includes(phase()) ? iso(renewAtMs(s.cert)) : null,
    renewals: s.renewals,
    failing: s.failing,
    lastError: s.lastError,
    reload: s.reload,
    revocation: s.revocation,
    run: s.run,
  });
  setHandler(certificateStatusQuery, status);
  const noteError = (message: string) => {
    s.lastError = { at: iso(Date.now()), message };
  };
  const noteRenew = () =>
    steps.set(
      'renew',
      s.failing ? 'failed' : 'running',
      s.cert
        ? `serial ${s.cert.serial} until ${s.cert.notAfter}; next renewal ${iso(renewAtMs(s.cert))}; ${s.renewals} renewals`
        : null,
    );

  const vaultStep = keeperVaultStep(steps, cluster);

  const record = async (event: CertEvent, cert: HeldCertificate) => {
    steps.set('record', 'running');
    try {
      await CancellationScope.nonCancellable(() =>
        inventory.certInventoryRecord({
          cluster,
          record: {
            ...cert,
            mount: input.mount,
            role: input.role,
            workflowId,
            event,
            recordedAt: iso(Date.now()),
          },
          ...(input.inventory ? { store: input.inventory } : {}),
        }),
      );
      steps.set('record', 'done', `${event} ${cert.serial}`);
    } catch (err) {
      // The certificate is in place; a missing inventory entry must not undo that. Say so.
      steps.set('record', 'failed', failureDetail(err));
      noteError(`could not record ${event} ${cert.serial} in the inventory: ${failureDetail(err)}`);
    }
  };

  /** Steps 1–3: policy, issue and deploy, record. */
  const obtain = async (event: 'issued' | 'renewed'): Promise<void> => {
    s.attempts += 1;
    const seq = s.attempts;
    try {
      // 1. Policy, first on what the input says, then on what the role would give.
      const named = { commonName: input.commonName, altNames, ipSans };
      const plan: CertPlan = await steps.run('policy', async () => {
        policyViolation({ ...named, ttlMs: requestedTtlMs }, policy);
        const plan = await vaultStep('plan', () =>
          planned.certPlan({ ...target, csr: input.csr, key: input.key }),
        );
        if (!plan.usesCsrSans && !input.csr && (altNames.length > 0 || ipSans.length > 0))
          throw badInput(`role "${input.role}" ignores the names of a CSR (use_csr_sans false): allow them`);
        const csrNames = plan.csrNames;
        policyViolation(
          {
            commonName: input.commonName,
            altNames: [...altNames, ...(csrNames ? [csrNames.commonName, ...csrNames.dnsNames] : [])],
            ipSans: [...ipSans, ...(csrNames?.ipSans ?? [])],
            keyType: plan.keyType,
            keyBits: plan.keyBits,
            ttlMs: effectiveTtlMs({ requestedMs: requestedTtlMs, ...plan }),
            keyUsages: plan.keyUsages,
            extKeyUsages: plan.extKeyUsages,
          },
          policy,
        );
        return plan;
      });
      // 2. Issue and deploy: the key goes from the activity to its file, never here.
      const issued: IssuedCertFacts = await steps.run('issue', () =>
        vaultStep('issue', () =>
          act.certIssueAndDeploy({
            ...target,
            commonName: input.commonName,
            altNames,
            ipSans,
            ttl: input.ttl,
            key: { keyType: plan.keyType, keyBits: plan.keyBits },
            csr: input.csr,
            deploy: input.deploy,
          }),
        ),
      );
      const { reload, ...facts } = issued;
      s.reload = reload;
      if (reload && !reload.ok) noteError(`reload command failed (${reload.detail}); the files are in place`);
      s.cert = facts;
      steps.set('issue', 'done', `serial ${facts.serial} until ${facts.notAfter}`);
      // 3. Record.
      await record(event, facts);
      s.lastAttempt = { seq, ok: true, message: '' };
    } catch (err) {
      s.lastAttempt = { seq, ok: false, message: failureDetail(err) };
      throw err;
    }
  };

  // 1m, 2m, 4m ... 1h by default, and while the certificate holds, at most half its time left:
  // why not cert-manager's 1h..32h is told at backoffMs (lib/keeper.ts).
  const retryWaitMs = (attempt: number) =>
    Math.max(
      MIN_WAIT_MS,
      backoffMs(
        attempt,
        { initialMs: retryInitialMs, maxMs: retryMaxMs },
        s.cert ? Date.parse(s.cert.notAfter) : null,
        Date.now(),
      ),
    );

  /** Issues (or renews), backing off and trying again until it works or a revoke is asked. */
  const obtainWithBackoff = async (event: 'issued' | 'renewed'): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        steps.enter(event === 'issued' ? 'issuing' : 'renewing');
        await obtain(event);
        s.failing = false;
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const message = failureDetail(err);
        noteError(message);
        const { type, nonRetryable } = activityFailure(err);
        const first = s.cert === null;
        // A first issue the input cannot get, or a one-off issue: fail with it.
        if (input.once || (first && nonRetryable && type && BAD_INPUT_TYPES.has(type)))
          throw ApplicationFailure.create({
            type: type ?? 'CertIssueFailed',
            nonRetryable: true,
            message: `cannot issue ${input.commonName} from ${input.mount}/${input.role}: ${message}`,
          });
        s.failing = true;
        steps.enter('retrying');
        noteRenew();
        renewRequested = false;
        await condition(() => renewRequested || revokeRequested !== null, retryWaitMs(attempt));
        if (revokeRequested) return;
      }
    }
  };

  /** Step 6: revoke the current certificate, record it, prove it, remove the files if asked. */
  const revokeCurrent = async (request: RevokeRequest): Promise<void> => {
    const cert = s.cert;
    steps.enter('revoking');
    steps.set('renew', 'done', `${s.renewals} renewals`);
    if (!cert) {
      steps.set('revoke', 'done', 'nothing was issued');
      steps.enter('revoked');
      return;
    }
    await steps.run('revoke', async () => {
      const ref = { ...target, serial: cert.serial };
      const { revokedAt } = await sealAware('revoke', () => act.certRevoke(ref), { cluster });
      await record('revoked', cert);
      const verified = await sealAware(
        'verify-revoked',
        () => proof.certVerifyRevoked({ ...ref, issuerId: cert.issuerId }),
        { cluster },
      );
      const { removed } = request.removeFiles
        ? await act.certRemoveFiles({ deploy: input.deploy, fingerprint: cert.fingerprint })
        : { removed: [] as string[] };
      s.revocation = { ...verified, revokedAt, removed };
    });
    steps.set(
      'revoke',
      'done',
      `serial ${cert.serial} revoked; CRL and OCSP (signed by the ${s.revocation?.ocsp.signedBy}) agree`,
    );
    steps.enter('revoked');
  };

  setHandler(
    renewNowUpdate,
    async (): Promise<RenewNowResult> => {
      const previousSerial = s.cert?.serial ?? '';
      const after = s.attempts;
      renewRequested = true;
      await condition(() => s.lastAttempt.seq > after || revokeRequested !== null);
      if (s.lastAttempt.seq <= after)
        throw ApplicationFailure.create({ type: 'CertRevoking', message: 'revoked before it could renew' });
      if (!s.lastAttempt.ok)
        throw ApplicationFailure.create({
          type: 'CertRenewFailed',
          message: `renewal failed (the workflow tries again with backoff): ${s.lastAttempt.message}`,
        });
      const cert = s.cert as HeldCertificate;
      return { previousSerial, serial: cert.serial, notAfter: cert.notAfter };
    },
    {
      validator: () => {
        if (input.once)
          throw new Error('this workflow issues once and ends; start one without --once to renew');
        if (!s.cert) throw new Error('no certificate yet: wait until the first one is deployed');
        if (revokeRequested || phase() === 'revoked' || phase() === 'done')
          throw new Error(`the certificate is ${phase() === 'done' ? 'done' : 'being revoked'}`);
      },
    },
  );
  setHandler(
    revokeUpdate,
    async (request): Promise<CertRevocation> => {
      revokeRequested = request ?? {};
      await condition(() => s.revocation !== null || phase() === 'revoked');
      if (!s.revocation)
        throw ApplicationFailure.create({ type: 'CertNothingToRevoke', message: 'nothing was issued' });
      return s.revocation;
    },
    {
      validator: (_request: RevokeRequest) => {
        if (revokeRequested) throw new Error('a revocation is under way already');
        if (input.once) throw new Error('this workflow issues once and ends; revoke the serial directly');
      },
    },
  );

  const outcome = (): CertificateOutcome => ({
    certificate: s.cert,
    renewals: s.renewals,
    revocation: s.revocation,
  });

  try {
    // 1–3. The first certificate (or the one the previous run handed over).
    if (s.cert) {
      for (const step of ['policy', 'issue', 'record'] as const)
        steps.set(step, 'done', `carried over: serial ${s.cert.serial}`);
    } else {
      await obtainWithBackoff('issued');
    }
    if (input.once) {
      steps.enter('done');
      steps.set('renew', 'done', 'issued once');
      await condition(allHandlersFinished);
      return outcome();
    }

    // 4–5. Renew at the renewal time or when asked; continue as new now and then.
    while (!revokeRequested) {
      noteRenew();
      if (continueAsNewDue(s.renewalsThisRun, renewalsPerRun)) {
        // Handlers finish first; a renewNow or revoke waiting on this run is served before.
        const asked = () => renewRequested || revokeRequested !== null;
        await condition(() => allHandlersFinished() || asked());
        if (!asked())
          await continueAsNew<typeof certificateWorkflow>({
            ...input,
            carried: {
              certificate: s.cert as HeldCertificate,
              renewals: s.renewals,
              lastError: s.lastError,
              runs: s.run,
            },
          });
      }
      if (revokeRequested) break;
      steps.enter('waiting');
      const due = Math.max(MIN_WAIT_MS, renewAtMs(s.cert as HeldCertificate) - Date.now());
      const woken = await condition(() => renewRequested || revokeRequested !== null, due);
      if (revokeRequested) break;
      if (woken) renewRequested = false;
      await obtainWithBackoff('renewed');
      if (s.lastAttempt.ok) {
        s.renewals += 1;
        s.renewalsThisRun += 1;
      }
    }

    // 6. Revoke on request.
    await CancellationScope.nonCancellable(() => revokeCurrent(revokeRequested ?? {}));
    await condition(allHandlersFinished);
    return outcome();
  } catch (err) {
    // 6. Cancelled (`vaultops cancel`): revoke, prove it, and close as cancelled.
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => revokeCurrent({}));
    throw err;
  }
}
