// The CA spec of `vaultops ca bootstrap`: a good file becomes the workflow's input (roles from
// their templates), and every bad field is refused with its name before anything connects.
import { describe, expect, it } from 'vitest';
import { bootstrapInput } from '../../client/commands/ca/ca.js';
import { CaSpecError, parseCaSpec } from '../../common/ca/spec.js';

const GOOD = `
mount: pki_int
common_name: Example Intermediate CA
issuer_name: int-2026
ttl: 43800h
base_url: https://vault.example.com:8200
roles:
  server:
    template: server
    allowed_domains: [example.com]
    max_ttl: 720h
  signer:
    template: code-signing
    allowed_domains: [build.example.com]
    max_ttl: 24h
    key_type: rsa
    key_bits: 3072
approval:
  approvers: [bob, carol]
  quorum: 2
`;

describe('ca bootstrap spec', () => {
  it('becomes the workflow input, roles filled from their templates', () => {
    const input = bootstrapInput(parseCaSpec(GOOD, 'spec.yaml'), 'alice', 'default');
    expect(input).toMatchObject({
      mount: 'pki_int',
      root: { mount: 'secret', path: 'vaultops/ca/root' },
      issuerName: 'int-2026',
      keyType: 'ec',
      intermediateTtlMs: 43800 * 3600_000,
      approval: { requester: 'alice', approvers: ['bob', 'carol'], quorum: 2, timeout: '24h' },
    });
    expect(input.roles.server).toMatchObject({ serverFlag: true, clientFlag: false, codeSigningFlag: false });
    expect(input.roles.signer).toMatchObject({
      serverFlag: false,
      codeSigningFlag: true,
      keyType: 'rsa',
      keyBits: 3072,
      allowSubdomains: true,
    });
  });

  for (const [change, message] of [
    [(s: string) => s.replace('ttl: 43800h', 'ttl: forever'), /ttl: must be a duration/],
    [(s: string) => s.replace('template: server', 'template: web'), /roles.server.template/],
    [
      (s: string) => s.replace('base_url: https://vault.example.com:8200', 'base_url: vault'),
      /base_url: must be where clients reach Vault/,
    ],
    [(s: string) => s.replace('quorum: 2', 'quorum: 3'), /approval.quorum 3 is more than the 2 approver/],
    [(s: string) => `${s}\nextra: 1\n`, /\(top\)|extra/],
    [() => 'mount: [', /is not YAML/],
  ] as const) {
    it(`refuses ${message}`, () => {
      expect(() => parseCaSpec(change(GOOD), 'spec.yaml')).toThrow(CaSpecError);
      expect(() => parseCaSpec(change(GOOD), 'spec.yaml')).toThrow(message);
    });
  }
});
