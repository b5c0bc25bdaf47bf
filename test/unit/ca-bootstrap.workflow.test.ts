// caBootstrapWorkflow in the time-skipping environment, with stand-in Vault and HSM activities:
// the runbook's steps in order, nothing signed by the root before the approval, and a bad
// approval policy or test-leaf spec refused before anything is written.
import { describe, expect, it } from 'vitest';
import type { CaBootstrapActivities } from '../../activities/ca/bootstrap.js';
import { type CaBootstrapInput, caBootstrapWorkflow } from '../../workflows/ca/bootstrap.js';
import { approveUpdate, rejectUpdate } from '../../workflows/lib/approval.js';
import { outcomeOf, stepsOf, useWorkflowBed, waitForStep } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';

const bed = useWorkflowBed({ prefix: 'ca-bootstrap' });

/** A Vault mount and an HSM root that record what was asked of them. */
function standInCa() {
  const calls: string[] = [];
  const activities: CaBootstrapActivities = {
    async caEnsurePkiMount(input) {
      calls.push(`mount:${input.mount} max ${input.maxTtl}`);
      return { created: true };
    },
    async caIntermediateCsr(input) {
      calls.push(`csr:${input.keyType} ${input.keyName}`);
      return {
        csr: '-----BEGIN CERTIFICATE REQUEST-----\nstand-in\n-----END CERTIFICATE REQUEST-----',
        keyId: 'key-1',
      };
    },
    async caSignIntermediateInHsm(input) {
      calls.push(`sign:${input.root.path}`);
      return {
        certificate: '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----',
        fingerprint: 'CC:DD',
      };
    },
    async caImportIntermediate(input) {
      calls.push(`import:${input.issuerName} ${input.baseUrl}`);
      return { issuerId: 'issuer-1' };
    },
    async caWriteRoles(input) {
      calls.push(`roles:${Object.keys(input.roles).join(',')}`);
      return { roles: Object.keys(input.roles) };
    },
    async caVerifyLeaf(input) {
      calls.push(`verify:${input.role} ${input.commonName}`);
      return { serial: '0a:01', chainVerified: true };
    },
  };
  return { calls, activities };
}

const input = (overrides: Partial<CaBootstrapInput> = {}): CaBootstrapInput => ({
  mount: 'pki_int',
  root: { mount: 'secret', path: 'ca/root' },
  commonName: 'Example Intermediate CA',
  issuerName: 'int-2026',
  intermediateTtlMs: 5 * 365 * 24 * 3_600_000,
  baseUrl: 'https://vault.example.com:8200',
  keyType: 'ec',
  keyBits: 256,
  roles: { server: { allowedDomains: ['example.com'], allowSubdomains: true, maxTtl: '720h' } },
  approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
  ...overrides,
});

describe('caBootstrapWorkflow', () => {
  it('mount, CSR, approval, the root signs, import, roles, and a test leaf that verifies', async () => {
    const ca = standInCa();
    const { outcome, steps } = await bed.start(
      caBootstrapWorkflow,
      [input()],
      ca.activities,
      async (handle) => {
        await waitForStep(handle, 'approve', 'waiting-approval');
        expect(ca.calls).toEqual(['mount:pki_int max 157680000s', 'csr:ec int-2026-key']);
        await handle.executeUpdate(approveUpdate, { args: [{ approver: 'bob', reason: 'CHG-7' }] });
        const outcome = await outcomeOf(handle);
        await keepHistory('ca-bootstrap-approved', handle);
        return { outcome, steps: await stepsOf(handle) };
      },
    );
    expect(outcome.failure).toBeUndefined();
    expect(ca.calls).toEqual([
      'mount:pki_int max 157680000s',
      'csr:ec int-2026-key',
      'sign:ca/root',
      'import:int-2026 https://vault.example.com:8200',
      'roles:server',
      'verify:server verify.example.com',
    ]);
    expect(outcome.result).toMatchObject({
      issuerId: 'issuer-1',
      fingerprint: 'CC:DD',
      roles: ['server'],
      testLeafSerial: '0a:01',
      approvals: [expect.objectContaining({ approver: 'bob' })],
    });
    expect(steps.sign?.detail).toBe('intermediate CC:DD');
    expect(steps.verify?.detail).toBe('test leaf 0a:01 verifies to the root');
  });

  it('a rejection: the root signs nothing', async () => {
    const ca = standInCa();
    const outcome = await bed.start(caBootstrapWorkflow, [input()], ca.activities, async (handle) => {
      await waitForStep(handle, 'approve', 'waiting-approval');
      await handle.executeUpdate(rejectUpdate, { args: [{ approver: 'bob', reason: 'not today' }] });
      return outcomeOf(handle);
    });
    expect(outcome.failure?.type).toBe('ApprovalRejected');
    expect(ca.calls.some((c) => c.startsWith('sign:'))).toBe(false);
  });

  it('refuses an unreachable quorum, or no test leaf to verify, before any write', async () => {
    const ca = standInCa();
    const unreachable = await bed.start(
      caBootstrapWorkflow,
      [input({ approval: { requester: 'alice', approvers: ['bob'], quorum: 2, timeout: '1h' } })],
      ca.activities,
      outcomeOf,
    );
    expect(unreachable.failure?.message).toMatch(/quorum/);
    const noLeaf = await bed.start(
      caBootstrapWorkflow,
      [input({ roles: { server: { allowedDomains: ['example.com'], maxTtl: '720h' } } })],
      ca.activities,
      outcomeOf,
    );
    expect(noLeaf.failure?.type).toBe('CaBadInput');
    expect(ca.calls).toEqual([]);
  });
});
