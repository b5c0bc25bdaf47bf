// caInitRootWorkflow in the time-skipping environment, with stand-in HSM activities: the key made
// (or adopted) before the certificate is signed with it, each step's detail saying what happened,
// and bad input refused before the token is touched.
import { describe, expect, it } from 'vitest';
import type { RootCertificateRequest, RootKeyRequest } from '../../activities/ca/root.js';
import { type CaInitRootInput, caInitRootWorkflow } from '../../workflows/ca/init-root.js';
import { outcomeOf, stepsOf, useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'ca-init-root' });

/** A token that holds keys by label, and a KV that keeps the root certificate. */
function standInToken(existing: string[] = []) {
  const keys = new Set(existing);
  const calls: string[] = [];
  const activities = {
    async caEnsureRootKey(request: RootKeyRequest) {
      calls.push(`key:${request.keyLabel}`);
      const created = !keys.has(request.keyLabel);
      if (created && request.adopt) throw new Error(`no key ${request.keyLabel} to adopt`);
      keys.add(request.keyLabel);
      return {
        keyLabel: request.keyLabel,
        keyType: request.keyType,
        created,
        publicKeySha256: 'ab'.repeat(32),
      };
    },
    async caIssueRootCertificate(request: RootCertificateRequest) {
      calls.push(`certificate:${request.keyLabel}@${request.store.mount}/${request.store.path}`);
      if (!keys.has(request.keyLabel)) throw new Error(`no key ${request.keyLabel} to sign with`);
      return {
        fingerprint: 'AA:BB:CC',
        serial: '01',
        notAfter: '2046-01-01T00:00:00Z',
        version: 1,
        issued: true,
      };
    },
  };
  return { calls, activities };
}

const input = (overrides: Partial<CaInitRootInput> = {}): CaInitRootInput => ({
  keyLabel: 'root-r1',
  keyType: 'ec-p384',
  subject: 'CN=Example Root CA R1, O=Example',
  ttlMs: 20 * 365 * 24 * 3_600_000,
  store: { mount: 'secret', path: 'ca/root' },
  ...overrides,
});

describe('caInitRootWorkflow', () => {
  it('makes the key in the token, then signs and stores the certificate with it', async () => {
    const token = standInToken();
    const { outcome, steps } = await bed.start(
      caInitRootWorkflow,
      [input()],
      token.activities,
      async (handle) => {
        const outcome = await outcomeOf(handle);
        await keepHistory('ca-init-root-made', handle);
        return { outcome, steps: await stepsOf(handle) };
      },
    );
    expect(outcome.failure).toBeUndefined();
    expect(token.calls).toEqual(['key:root-r1', 'certificate:root-r1@secret/ca/root']);
    expect(outcome.result).toMatchObject({
      key: { keyLabel: 'root-r1', created: true },
      certificate: { fingerprint: 'AA:BB:CC', issued: true },
      store: { mount: 'secret', path: 'ca/root' },
    });
    expect(steps['root-key']?.detail).toBe('made ec-p384 key "root-r1"');
    expect(steps['root-certificate']?.detail).toBe('issued AA:BB:CC, valid to 2046-01-01T00:00:00Z');
  });

  it('adopts a key the token already holds, and says so', async () => {
    const token = standInToken(['root-r1']);
    const steps = await bed.start(
      caInitRootWorkflow,
      [input({ adopt: true })],
      token.activities,
      async (handle) => {
        await handle.result();
        return stepsOf(handle);
      },
    );
    expect(steps['root-key']?.detail).toBe('found ec-p384 key "root-r1"');
  });

  it('refuses input without a subject or a positive TTL before the token is touched', async () => {
    const token = standInToken();
    for (const bad of [input({ subject: '' }), input({ ttlMs: 0 })]) {
      const outcome = await bed.start(caInitRootWorkflow, [bad], token.activities, outcomeOf);
      expect(outcome.failure?.type).toBe('RootBadInput');
    }
    expect(token.calls).toEqual([]);
  });
});
