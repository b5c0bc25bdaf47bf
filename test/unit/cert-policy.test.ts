// The certificate policy: the schema refuses what it cannot judge (naming the field), and each
// rule refuses what breaks it, naming the rule and the value; a request that complies passes.
import { describe, expect, it } from 'vitest';
import {
  CertPolicyError,
  type CertRequestFacts,
  checkCertPolicy,
  domainAllowed,
  effectiveTtlMs,
  evaluateCertPolicy,
  parseCertPolicyFile,
} from '../../common/cert/policy.js';

const policy = checkCertPolicy(
  {
    allowedDomains: ['example.com', '*.example.com', 'API.Example.org'],
    keyTypes: { rsa: 2048, ec: 256 },
    maxTtl: '720h',
    requiredKeyUsages: ['DigitalSignature'],
    requiredExtKeyUsages: ['ServerAuth'],
  },
  'test',
);

const good: CertRequestFacts = {
  commonName: 'www.example.com',
  altNames: ['example.com', 'a.b.example.com', 'api.example.org'],
  ipSans: ['10.0.0.1'],
  keyType: 'ec',
  keyBits: 256,
  ttlMs: 720 * 3600_000,
  keyUsages: ['DigitalSignature', 'KeyAgreement'],
  extKeyUsages: ['ServerAuth'],
};

const messages = (facts: Partial<CertRequestFacts>, p = policy) =>
  evaluateCertPolicy({ ...good, ...facts }, p).map((v) => v.message);

describe('certificate policy', () => {
  it('a request within every rule passes', () => {
    expect(evaluateCertPolicy(good, policy)).toEqual([]);
    expect(evaluateCertPolicy(good, checkCertPolicy({}, 'empty'))).toEqual([]);
  });

  it('allowedDomains: exact names, and *.d for any name below d (not d itself)', () => {
    expect(domainAllowed('example.com', 'example.com')).toBe(true);
    expect(domainAllowed('www.example.com', 'example.com')).toBe(false);
    expect(domainAllowed('www.example.com', '*.example.com')).toBe(true);
    expect(domainAllowed('a.b.example.com', '*.example.com')).toBe(true);
    expect(domainAllowed('*.example.com', '*.example.com')).toBe(true);
    expect(domainAllowed('example.com', '*.example.com')).toBe(false);
    expect(domainAllowed('badexample.com', '*.example.com')).toBe(false);
    expect(domainAllowed('WWW.Example.COM.', '*.example.com')).toBe(true);
    expect(messages({ altNames: ['evil.com'] })).toEqual([
      'policy rule allowed_domains: "evil.com" is not under example.com, *.example.com, api.example.org',
    ]);
    const one = checkCertPolicy({ allowedDomains: ['*.example.com'] }, 't');
    expect(messages({ commonName: 'evil.com', altNames: [] }, one)).toEqual([
      'policy rule allowed_domains: "evil.com" is not under *.example.com',
    ]);
  });

  it('keyTypes: a type not listed, or smaller than its minimum', () => {
    expect(messages({ keyType: 'rsa', keyBits: 1024 })).toEqual([
      'policy rule key_types: rsa 1024 bits is below the minimum of 2048',
    ]);
    expect(messages({ keyType: 'ed25519', keyBits: 0 })).toEqual([
      'policy rule key_types: key type ed25519 is not allowed (allowed: rsa, ec)',
    ]);
    expect(messages({ keyType: 'rsa', keyBits: 4096 })).toEqual([]);
  });

  it('maxTtl: a longer lifetime is refused', () => {
    expect(messages({ ttlMs: 2160 * 3600_000 })).toEqual([
      'policy rule max_ttl: a lifetime of 2160h is longer than 720h',
    ]);
  });

  it('required usages: named in any spelling, missing ones listed', () => {
    expect(messages({ keyUsages: ['digital_signature'] })).toEqual([]);
    expect(messages({ keyUsages: ['KeyAgreement'], extKeyUsages: ['ClientAuth'] })).toEqual([
      'policy rule required_key_usages: DigitalSignature not granted (the certificate would have: KeyAgreement)',
      'policy rule required_ext_key_usages: ServerAuth not granted (the certificate would have: ClientAuth)',
    ]);
  });

  it('allowIpSans: false refuses IP addresses', () => {
    const noIps = checkCertPolicy({ allowIpSans: false }, 't');
    expect(messages({}, noIps)).toEqual([
      'policy rule allow_ip_sans: IP address "10.0.0.1" may not be named',
    ]);
  });

  it('facts not known yet are not judged: names first, key and usages once the role is read', () => {
    const namesOnly: CertRequestFacts = { commonName: 'www.example.com', altNames: [], ipSans: [] };
    expect(evaluateCertPolicy(namesOnly, policy)).toEqual([]);
    expect(evaluateCertPolicy({ ...namesOnly, commonName: 'evil.com' }, policy)).toHaveLength(1);
  });

  it('every violation is reported, each naming its rule', () => {
    const all = evaluateCertPolicy(
      { ...good, commonName: 'evil.com', keyBits: 128, ttlMs: 10 ** 12, keyUsages: [], extKeyUsages: [] },
      policy,
    );
    expect(all.map((v) => v.rule)).toEqual([
      'allowedDomains',
      'keyTypes',
      'maxTtl',
      'requiredKeyUsages',
      'requiredExtKeyUsages',
    ]);
  });

  it('the schema refuses what it cannot judge, naming the field', () => {
    const refused = (raw: unknown) => {
      try {
        checkCertPolicy(raw, 'policy.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(CertPolicyError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ allowedDomains: ['exa mple.com'] })).toMatch(/allowed_domains\.0: must be a domain/);
    expect(refused({ keyTypes: { rsa: 512 } })).toMatch(/key_types\.rsa/);
    expect(refused({ keyTypes: { dsa: 1024 } })).toMatch(/key_types: .*dsa/);
    expect(refused({ maxTtl: 'forever' })).toMatch(/max_ttl: must be a duration/);
    expect(refused({ allowedDomain: ['example.com'] })).toMatch(/allowedDomain/);
    expect(refused([1])).toMatch(/policy\.yaml is not a valid certificate policy/);
  });

  it('a policy file spells its rules in snake_case, as the other vaultops files do', () => {
    expect(
      parseCertPolicyFile(
        {
          allowed_domains: ['*.example.com'],
          key_types: { ec: 256, rsa: 2048 },
          max_ttl: '720h',
          required_key_usages: ['DigitalSignature'],
          required_ext_key_usages: ['ServerAuth'],
          allow_ip_sans: false,
        },
        'policy.yaml',
      ),
    ).toEqual({
      allowedDomains: ['*.example.com'],
      keyTypes: { ec: 256, rsa: 2048 },
      maxTtl: '720h',
      requiredKeyUsages: ['DigitalSignature'],
      requiredExtKeyUsages: ['ServerAuth'],
      allowIpSans: false,
    });
    expect(() => parseCertPolicyFile({ maxTtl: '720h' }, 'policy.yaml')).toThrow(/unknown rule "maxTtl"/);
    expect(() => parseCertPolicyFile('max_ttl: 1h', 'policy.yaml')).toThrow(/must be a mapping of rules/);
  });

  it('the lifetime Vault would give: asked, else the role, else the mount; capped by both maxima', () => {
    const base = {
      roleTtlSeconds: 0,
      roleMaxTtlSeconds: 0,
      mountDefaultTtlSeconds: 3600,
      mountMaxTtlSeconds: 0,
    };
    expect(effectiveTtlMs(base)).toBe(3600_000);
    expect(effectiveTtlMs({ ...base, roleTtlSeconds: 60 })).toBe(60_000);
    expect(effectiveTtlMs({ ...base, requestedMs: 7200_000 })).toBe(7200_000);
    expect(effectiveTtlMs({ ...base, requestedMs: 7200_000, roleMaxTtlSeconds: 1800 })).toBe(1800_000);
    expect(effectiveTtlMs({ ...base, requestedMs: 7200_000, mountMaxTtlSeconds: 900 })).toBe(900_000);
  });
});
