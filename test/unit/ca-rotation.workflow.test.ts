// The CA rotation workflow in the time-skipping environment, with stand-in activities that keep a
// PKI mount's issuers, keys, default and roles in memory: the happy path through the grace period,
// CRL-only and read-only retirement and the deletion after expiry (years of skipped time), a
// rejection, a failure at each step before the grace period ends, and a cancellation during it
// (each rolled back: the old default and roles back, the new issuer and key gone), and a grace
// period shorter than the longest leaf TTL refused before anything changes.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  createCaRotationActivities,
  type RoleState,
  rotationLockPath,
} from '../../activities/ca/rotation.js';
import type { Activities } from '../../activities/index.js';
import { type CaRotationInput, caRotationWorkflow } from '../../workflows/ca/rotation.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { kvStandIn } from '../harness/kv-stand-in.js';
import { outcomeOf, stepsOf, useWorkflowBed, waitForStep } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'ca-rotation' });

const HOUR = 3600_000;
const YEAR = 365 * 24 * HOUR;
type FailAt = 'csr' | 'sign' | 'import' | 'bundle' | 'switch' | 'verify';

/** A PKI mount in memory: one old issuer (the default), its key, two roles (RSA leaves). */
function standInMount(options: { failAt?: FailAt } = {}) {
  // The mount lock is the real one (caRotationLock/Unlock over a record in an in-memory KV), so
  // a refusal is the product's, not this stand-in's.
  const kv = kvStandIn();
  const realLock = createCaRotationActivities({ vault: kv.vault });
  const lockAt = rotationLockPath(input().root, input().mount);
  const state = {
    issuers: new Map([
      [
        'old-id',
        {
          name: 'int-2025',
          keyId: 'old-key',
          usage: 'read-only,issuing-certificates,crl-signing,ocsp-signing',
        },
      ],
    ]),
    keys: new Map([['old-key', 'int-2025-key']]),
    defaultIssuer: 'old-id',
    roles: new Map<string, Omit<RoleState, 'name'>>([
      ['server', { issuerRef: 'default', keyType: 'rsa', keyBits: 2048, maxTtlMs: 72 * HOUR }],
      ['client', { issuerRef: 'int-2025', keyType: 'rsa', keyBits: 2048, maxTtlMs: 24 * HOUR }],
    ]),
    bundle: [] as string[],
    calls: [] as string[],
    /** The rotation holding the mount's lock, if any: the real lock record, read or written. */
    get lock(): string | null {
      const record = kv.latest(lockAt.mount, lockAt.path);
      return record?.state === 'held' ? String(record.owner) : null;
    },
    set lock(owner: string) {
      kv.put(lockAt.mount, lockAt.path, { state: 'held', owner, since: '2026-01-01T00:00:00.000Z' });
    },
  };
  const fail = (step: string) =>
    ApplicationFailure.create({
      type: 'StandInFailure',
      message: `stand-in ${step} failed`,
      nonRetryable: true,
    });
  const failing = (step: FailAt) => {
    if (options.failAt === step) throw fail(step);
  };
  const activities: Partial<Activities> = {
    caRotationLock: realLock.caRotationLock,
    caRotationUnlock: realLock.caRotationUnlock,
    async caRotationPlan(input) {
      state.calls.push('plan');
      return {
        oldIssuerId: 'old-id',
        oldIssuerName: 'int-2025',
        oldKeyId: 'old-key',
        oldFingerprint: 'AA:BB',
        oldNotAfter: new Date(Date.now() + 2 * YEAR).toISOString(),
        roles: [...state.roles].map(([name, r]) => ({ name, ...r })),
        longestLeafTtlMs: 72 * HOUR,
        testLeaf: { role: 'server', commonName: 'rotation-check.example.test' },
        nameTaken: [...state.issuers.values()].some((i) => i.name === input.newIssuerName),
      };
    },
    async caRotationTestLeaf(input) {
      state.calls.push(`test-leaf:${input.issuerRef ?? 'default'}`);
      return { serial: '11:22', issuerFingerprint: 'AA:BB' };
    },
    async caIntermediateCsr(input) {
      state.calls.push(`csr:${input.keyType}`);
      state.keys.set('new-key', input.keyName); // the key lands, even when the step then fails
      failing('csr');
      return { csr: '-----BEGIN CERTIFICATE REQUEST-----stand-in', keyId: 'new-key' };
    },
    async caSignIntermediateInHsm(input) {
      state.calls.push(`sign:${input.root.path}`);
      failing('sign');
      return { certificate: '-----BEGIN CERTIFICATE-----stand-in', fingerprint: 'CC:DD' };
    },
    async caImportIntermediate(input) {
      state.calls.push(
        `import:${input.makeDefault === false ? 'not-default' : 'default'}:${input.root.path}`,
      );
      const id = input.issuerName.endsWith('-cross') ? 'cross-id' : 'new-id';
      state.issuers.set(id, { name: input.issuerName, keyId: 'new-key', usage: 'all' });
      if (input.makeDefault !== false) state.defaultIssuer = id;
      failing('import');
      return { issuerId: id };
    },
    async caLinkCrossChain(input) {
      const manualChain = [input.issuerId, input.crossIssuerId, 'new-root-id', 'old-root-id'];
      state.calls.push(`chain:${manualChain.join(',')}`);
      return { manualChain };
    },
    async caRetireRoot(input) {
      state.calls.push(`retire-root:${input.root.path}->${input.successor.path}`);
      return { version: 2, retiredAt: new Date().toISOString() };
    },
    async caPublishTrustBundle(input) {
      const roots = input.trustedRoots ? `@${input.trustedRoots.map((r) => r.path).join('+')}` : '';
      state.calls.push(`bundle:${input.issuerIds.join('+')}${roots}`);
      state.bundle = input.issuerIds;
      failing('bundle');
      return {
        mount: 'kv',
        path: 'ca/root-bundle/pki_int',
        version: 2,
        rootFingerprints: (input.trustedRoots ?? [input.root]).map((r) => `${r.path}-fp`),
        intermediateFingerprints: input.issuerIds.map((id) => `${id}-fp`),
      };
    },
    async caSwitchIssuer(input) {
      state.calls.push(`switch:${input.issuerId}`);
      state.defaultIssuer = input.issuerId;
      for (const { name, ...role } of input.roles) {
        const current = state.roles.get(name);
        if (current) state.roles.set(name, { ...current, ...role });
      }
      if (input.issuerId === 'new-id') failing('switch');
      return { defaultIssuer: input.issuerId, roles: input.roles.map((r) => r.name) };
    },
    async caVerifyRotation(input) {
      state.calls.push(`verify:${input.beforeLeafSerial}`);
      failing('verify');
      return { testLeafSerial: '33:44' };
    },
    async caSetIssuerUsage(input) {
      state.calls.push(`usage:${input.usage.join(',')}`);
      const issuer = state.issuers.get(input.issuerId);
      if (issuer) issuer.usage = input.usage.join(',');
      return { usage: input.usage.join(',') };
    },
    async caRemoveRotationIssuer(input) {
      state.calls.push('remove-new');
      const keyId = [...state.keys].find(([, name]) => name === input.keyName)?.[0];
      if (!keyId) return { removedIssuers: [], removedKey: null };
      const ours = [...state.issuers].filter(([, i]) => i.keyId === keyId).map(([id]) => id);
      if (ours.includes(state.defaultIssuer)) state.defaultIssuer = input.restoreDefault;
      for (const id of ours) state.issuers.delete(id);
      state.keys.delete(keyId);
      return { removedIssuers: ours, removedKey: keyId };
    },
    async caDeleteIssuer(input) {
      state.calls.push(`delete:${input.issuerId}`);
      return { deleted: state.issuers.delete(input.issuerId) };
    },
    async caTidy() {
      state.calls.push('tidy');
      return { started: true };
    },
  };
  return { state, activities };
}

const input = (overrides: Partial<CaRotationInput> = {}): CaRotationInput => ({
  mount: 'pki_int',
  root: { mount: 'kv', path: 'ca/root' },
  newIssuerName: 'int-2026',
  commonName: 'Example Intermediate CA 2026',
  keyType: 'ec',
  keyBits: 256,
  intermediateTtlMs: 3 * YEAR,
  baseUrl: 'https://vault.example.test:8200',
  approval: { requester: 'alice', approvers: ['bob', 'carol'], quorum: 1, timeout: '24h' },
  rolesFollow: ['server', 'client'],
  ...overrides,
});

type Decision = 'approve' | 'reject' | 'cancel-in-grace' | 'none';

/** Starts a rotation on a fresh task queue, decides at its approval, and returns its outcome. */
async function rotate(
  activities: Partial<Activities>,
  args: CaRotationInput,
  decision: Decision,
  /** Keeps the run's history under this name (see test/histories/keep.ts). */
  keep?: string,
) {
  return bed.start(caRotationWorkflow, [args], activities, async (handle) => {
    if (decision !== 'none') {
      await waitForStep(handle, 'approve', 'waiting-approval', 30_000);
      await handle.executeUpdate(decision === 'reject' ? rejectUpdate : approveUpdate, {
        args: [{ approver: 'bob', reason: 'stand-in test' }],
      });
    }
    let graceDetail: string | null = null;
    if (decision === 'cancel-in-grace') {
      graceDetail = (await waitForStep(handle, 'grace', 'running', 30_000)).detail;
      await handle.cancel();
    }
    const outcome = await outcomeOf(handle);
    const steps = await stepsOf(handle);
    if (keep) await keepHistory(keep, handle);
    return { ...outcome, steps, graceDetail };
  });
}

/** The mount after a rollback: as it was before the rotation. */
function expectRolledBack(state: ReturnType<typeof standInMount>['state']) {
  expect(state.lock, 'the mount lock is released').toBeNull();
  expect(state.defaultIssuer).toBe('old-id');
  expect([...state.issuers.keys()]).toEqual(['old-id']);
  expect([...state.keys.keys()]).toEqual(['old-key']);
  expect(state.issuers.get('old-id')?.usage).toContain('issuing-certificates');
  expect(state.roles.get('server')).toMatchObject({ issuerRef: 'default', keyType: 'rsa', keyBits: 2048 });
  expect(state.roles.get('client')).toMatchObject({ issuerRef: 'int-2025', keyType: 'rsa', keyBits: 2048 });
}

describe('caRotationWorkflow (time-skipping, stand-in activities)', () => {
  it('rotates through the grace period, narrows the old issuer, then deletes it after it expires', async () => {
    const { state, activities } = standInMount();
    const started = Date.now();
    const startedSkipped = (await bed.env.currentTimeMs()) as number;
    const { result, failure, steps } = await rotate(
      activities,
      input(),
      'approve',
      'ca-rotation-intermediate',
    );
    expect(failure).toBeUndefined();
    expect(result).toMatchObject({
      oldIssuerId: 'old-id',
      newIssuerId: 'new-id',
      fingerprint: 'CC:DD',
      beforeLeafSerial: '11:22',
      testLeafSerial: '33:44',
      oldIssuer: 'deleted',
      rolesMoved: ['server', 'client'],
      bundle: { intermediateFingerprints: ['old-id-fp', 'new-id-fp'] },
    });
    expect(result?.approvals.map((a) => a.approver)).toEqual(['bob']);
    expect(state.calls).toEqual([
      'plan',
      'test-leaf:old-id',
      'csr:ec',
      'sign:ca/root',
      'import:not-default:ca/root',
      'bundle:old-id+new-id@ca/root',
      'switch:new-id',
      'verify:11:22',
      'usage:crl-signing,ocsp-signing',
      'usage:read-only',
      'delete:old-id',
      'tidy',
    ]);
    expect(state.defaultIssuer).toBe('new-id');
    expect(state.lock, 'the mount lock is released after the grace').toBeNull();
    // CA agility: both roles now issue EC leaves; the pinned one moved to the new issuer by name.
    expect(state.roles.get('server')).toMatchObject({ issuerRef: 'default', keyType: 'ec', keyBits: 256 });
    expect(state.roles.get('client')).toMatchObject({ issuerRef: 'int-2026', keyType: 'ec', keyBits: 256 });
    expect(Object.values(steps).map((s) => s.state)).toEqual(Array(14).fill('done'));
    // Two years of waiting for the old issuer to expire went by in skipped time, not real time.
    expect(((await bed.env.currentTimeMs()) as number) - startedSkipped).toBeGreaterThan(2 * YEAR);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('root rotation: signed by the new root, cross-signed by the old, both trusted, then the new only', async () => {
    const { state, activities } = standInMount();
    const newRoot = { mount: 'kv', path: 'ca/root-r2' };
    const { result, failure, steps } = await rotate(
      activities,
      input({ newRoot, keepOldIssuer: true }),
      'approve',
    );
    expect(failure).toBeUndefined();
    expect(result).toMatchObject({ crossIssuerId: 'cross-id', rootRetired: true });
    expect(result?.bundle.rootFingerprints).toEqual(['ca/root-r2-fp']);
    expect(state.calls).toEqual([
      'plan',
      'test-leaf:old-id',
      'csr:ec',
      'sign:ca/root-r2',
      'sign:ca/root',
      'import:not-default:ca/root-r2',
      'import:not-default:ca/root',
      'chain:new-id,cross-id,new-root-id,old-root-id',
      'bundle:old-id+new-id+cross-id@ca/root+ca/root-r2',
      'switch:new-id',
      'verify:11:22',
      // After the grace period: the new root only, the cross-signed twin read-only, the old root retired.
      'bundle:new-id@ca/root-r2',
      'usage:read-only',
      'retire-root:ca/root->ca/root-r2',
      'usage:crl-signing,ocsp-signing',
      'usage:read-only',
      'tidy',
    ]);
    expect(state.issuers.get('cross-id')?.usage).toBe('read-only');
    expect(steps['retire-root']?.detail).toMatch(/the new root only/);
  });

  it('a failed root rotation removes the new issuer and its cross-signed twin', async () => {
    const { state, activities } = standInMount({ failAt: 'verify' });
    const { failure } = await rotate(
      activities,
      input({ newRoot: { mount: 'kv', path: 'ca/root-r2' } }),
      'approve',
    );
    expect(failure?.message).toBe('stand-in verify failed');
    expect(state.calls).not.toContain('retire-root:ca/root->ca/root-r2');
    expectRolledBack(state);
  });

  it('keeps the old issuer read-only when asked, and the status shows until when the grace runs', async () => {
    const { state, activities } = standInMount();
    const { result, steps } = await rotate(
      activities,
      input({ keepOldIssuer: true, graceMs: 96 * HOUR }),
      'approve',
    );
    expect(result?.oldIssuer).toBe('read-only');
    expect(state.calls).not.toContain('delete:old-id');
    expect(state.calls.at(-1)).toBe('tidy');
    expect(state.issuers.get('old-id')?.usage).toBe('read-only');
    expect(steps.delete?.detail).toMatch(/kept/);
    const graceStart = Date.parse(steps.verify?.since ?? '');
    expect(Date.parse(result?.graceUntil ?? '') - graceStart).toBeGreaterThanOrEqual(96 * HOUR - 1000);
  });

  it('a grace period shorter than the longest leaf TTL is refused before anything changes', async () => {
    const { state, activities } = standInMount();
    const { failure, steps } = await rotate(activities, input({ graceMs: 24 * HOUR }), 'none');
    expect(failure?.type).toBe('CaGraceTooShort');
    expect(failure?.message).toMatch(/shorter than the longest leaf TTL.*259200s/);
    expect(state.calls).toEqual(['plan']);
    expect(steps.plan?.state).toBe('failed');
    expectRolledBack(state);
  });

  it('a second rotation of a mount is refused while another holds it, and changes nothing', async () => {
    const { state, activities } = standInMount();
    state.lock = 'ca-rotate:default:pki_int:int-2026-other';
    const { failure, steps } = await rotate(activities, input(), 'none');
    // The real lock's refusal, from the record the other rotation holds; the workflow stops
    // before its plan and releases nothing it did not take.
    expect(failure?.type).toBe('CaRotationInProgress');
    expect(failure?.message).toMatch(
      /^pki_int is being rotated by ca-rotate:default:pki_int:int-2026-other \(since 2026-01-01T00:00:00.000Z\); wait for its grace period to end/,
    );
    expect(state.calls).toEqual([]);
    expect(steps.plan?.state).toBe('failed');
    expect(state.lock, 'the other rotation keeps its lock').toBe('ca-rotate:default:pki_int:int-2026-other');
  });

  it('a rejection removes the new key and leaves the old default', async () => {
    const { state, activities } = standInMount();
    const { failure, steps } = await rotate(activities, input(), 'reject');
    expect(failure?.type).toBe('ApprovalRejected');
    expect(state.calls).toEqual(['plan', 'test-leaf:old-id', 'csr:ec', 'remove-new']);
    expect(steps.csr?.state).toBe('compensated');
    expectRolledBack(state);
  });

  for (const failAt of ['csr', 'sign', 'import', 'bundle', 'switch', 'verify'] as const) {
    it(`a failure at ${failAt} restores the old default and roles and removes the new issuer`, async () => {
      const { state, activities } = standInMount({ failAt });
      const { failure, steps } = await rotate(activities, input(), failAt === 'csr' ? 'none' : 'approve');
      expect(failure?.message).toBe(`stand-in ${failAt} failed`);
      expect(steps[failAt]?.state).toMatch(/failed|compensated/);
      expect(steps.grace?.state).toBe('pending');
      expect(state.calls).not.toContain('usage:crl-signing,ocsp-signing');
      // The undos run newest first: the switch back, the old bundle, then the new issuer and key.
      if (['switch', 'verify'].includes(failAt))
        expect(state.calls.slice(-3)).toEqual(['switch:old-id', 'bundle:old-id@ca/root', 'remove-new']);
      else if (failAt === 'bundle')
        expect(state.calls.slice(-2)).toEqual(['bundle:old-id@ca/root', 'remove-new']);
      else expect(state.calls.at(-1)).toBe('remove-new');
      expectRolledBack(state);
    });
  }

  it('a cancellation during the grace period rolls the rotation back', async () => {
    const { state, activities } = standInMount();
    const { failure, steps, graceDetail } = await rotate(activities, input(), 'cancel-in-grace');
    expect(graceDetail).toMatch(/^until \d{4}-\d\d-\d\dT/);
    expect(failure?.message).toMatch(/cancel/i);
    expect(state.calls.slice(-3)).toEqual(['switch:old-id', 'bundle:old-id@ca/root', 'remove-new']);
    expect(steps.switch?.state).toBe('compensated');
    expect(steps.narrow?.state).toBe('pending');
    expectRolledBack(state);
  });
});
