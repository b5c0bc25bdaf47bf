// `vaultops ca rotate` input: every bad option is refused (exit 2) with what to fix, before
// anything starts; good options become the rotation workflow's input.
import { describe, expect, it } from 'vitest';
import {
  type CaRotateOptions,
  caRotationWorkflowId,
  parseCaRotate,
} from '../../client/commands/ca/rotate.js';

const good: CaRotateOptions = {
  mount: 'pki_int',
  issuerName: 'int-2027',
  commonName: 'Example Intermediate CA 2027',
  baseUrl: 'https://vault.example.com:8200',
  approver: ['bob'],
};

describe('ca rotate options', () => {
  it('defaults: EC P-256, five years, the default root store, one approval in 24h, grace from the roles', () => {
    const input = parseCaRotate(good, 'alice');
    expect(input).toEqual({
      cluster: 'default',
      mount: 'pki_int',
      root: { mount: 'secret', path: 'vaultops/ca/root' },
      newIssuerName: 'int-2027',
      commonName: 'Example Intermediate CA 2027',
      keyType: 'ec',
      keyBits: 256,
      intermediateTtlMs: 5 * 365 * 24 * 3600_000,
      baseUrl: 'https://vault.example.com:8200',
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '24h' },
    });
    expect(caRotationWorkflowId(input)).toBe('ca-rotate:default:pki_int:int-2027');
  });

  it('takes the key type, grace, retirement, roles that follow and a quorum of repeated approvers', () => {
    expect(
      parseCaRotate(
        {
          ...good,
          keyType: 'rsa',
          keyBits: '3072',
          ttl: '730d',
          root: 'kv/ca/root-r2',
          newRoot: 'kv/ca/root-r3',
          grace: '72h',
          crlSigning: '14d',
          approver: ['bob', 'carol,dave'],
          quorum: '2',
          approvalTimeout: '2h',
          rolesFollow: ['server', 'client,code'],
          keepOldIssuer: true,
          cluster: 'dc2',
        },
        'alice',
      ),
    ).toMatchObject({
      cluster: 'dc2',
      root: { mount: 'kv', path: 'ca/root-r2' },
      newRoot: { mount: 'kv', path: 'ca/root-r3' },
      keyType: 'rsa',
      keyBits: 3072,
      intermediateTtlMs: 730 * 24 * 3600_000,
      graceMs: 72 * 3600_000,
      crlSigningMs: 14 * 24 * 3600_000,
      keepOldIssuer: true,
      rolesFollow: ['server', 'client', 'code'],
      approval: { requester: 'alice', approvers: ['bob', 'carol', 'dave'], quorum: 2, timeout: '2h' },
    });
    expect(parseCaRotate({ ...good, keyType: 'rsa' }, 'alice').keyBits).toBe(2048);
  });

  for (const [options, message] of [
    [{ mount: 'pki int' }, /--mount must be a PKI mount path/],
    [{ issuerName: 'int 2027' }, /--issuer-name must be letters, digits/],
    [{ commonName: ' ' }, /--common-name must name the new intermediate/],
    [{ keyType: 'dsa' }, /--key-type must be ec or rsa/],
    [{ keyBits: '1024' }, /--key-bits for ec must be one of 256, 384, 521/],
    [{ keyType: 'rsa', keyBits: '1024' }, /--key-bits for rsa must be one of 2048, 3072, 4096/],
    [{ keyBits: 'big' }, /--key-bits must be a whole number/],
    [{ ttl: 'forever' }, /--ttl "forever" is not a duration/],
    [{ ttl: '1h' }, /--ttl must be at least a day/],
    [{ baseUrl: 'vault:8200' }, /--base-url must be where clients reach Vault/],
    [{ root: 'nomount' }, /secret path/],
    [{ newRoot: 'secret/vaultops/ca/root' }, /--new-root must be another root than --root/],
    [{ grace: 'soon' }, /--grace "soon" is not a duration/],
    [{ crlSigning: '0s' }, /--crl-signing "0s" is not a duration/],
    [{ rolesFollow: ['ok', 'bad role'] }, /--roles-follow "bad role" is not a role name/],
    [{ approver: [] }, /approvers: list at least one approver.*--approver/],
    [{ approver: ['alice'] }, /only 0 approver\(s\) other than the requester/],
    [{ quorum: '3' }, /quorum: 3 approvals needed/],
    [{ quorum: 'two' }, /--quorum must be a whole number/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      let error: unknown;
      try {
        parseCaRotate({ ...good, ...options } as CaRotateOptions, 'alice');
      } catch (err) {
        error = err;
      }
      expect((error as Error)?.name).toBe('UsageError');
      expect((error as Error).message).toMatch(message);
    });
  }
});
