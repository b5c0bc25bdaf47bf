// `vaultops cert issue` input: every bad option, policy file or CSR file is refused (exit 2) with
// what to fix, before anything starts; good options become the workflow's id and input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CertIssueOptions, certIssueRequest } from '../../client/commands/cert/cert.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const good: CertIssueOptions = {
  mount: 'pki_int',
  role: 'server',
  cn: 'www.example.com',
  certFile: 'tls/www.crt',
  keyFile: 'tls/www.key',
};

function refusal(opts: CertIssueOptions): Error {
  try {
    certIssueRequest(opts, '/srv');
  } catch (err) {
    return err as Error;
  }
  throw new Error('accepted');
}

describe('cert issue options', () => {
  it('become the workflow input: paths resolved, names and durations kept, id from cluster, mount, name', () => {
    const policy = file(
      'policy.yaml',
      'allowed_domains: ["*.example.com"]\nkey_types: { ec: 256 }\nmax_ttl: 720h\n',
    );
    const { workflowId, input } = certIssueRequest(
      {
        ...good,
        altName: ['api.example.com', 'web.example.com'],
        ipSan: ['10.0.0.1'],
        ttl: '720h',
        chainFile: '/etc/tls/chain.pem',
        reloadCmd: 'systemctl reload nginx',
        renewBefore: '240h',
        policy,
      },
      '/srv',
    );
    expect(workflowId).toBe('cert:default:pki_int:www.example.com');
    expect(input).toEqual({
      mount: 'pki_int',
      role: 'server',
      commonName: 'www.example.com',
      altNames: ['api.example.com', 'web.example.com'],
      ipSans: ['10.0.0.1'],
      ttl: '720h',
      deploy: {
        certFile: '/srv/tls/www.crt',
        keyFile: '/srv/tls/www.key',
        chainFile: '/etc/tls/chain.pem',
        reloadCommand: 'systemctl reload nginx',
      },
      renewBeforeMs: 240 * 3600_000,
      policy: { allowedDomains: ['*.example.com'], keyTypes: { ec: 256 }, maxTtl: '720h' },
    });
    const once = certIssueRequest(
      { ...good, once: true, cluster: 'dr', keyType: 'rsa', keyBits: '3072' },
      '/srv',
    );
    expect(once.workflowId).toBe('cert:dr:pki_int:www.example.com');
    expect(once.input).toMatchObject({ once: true, cluster: 'dr', key: { keyType: 'rsa', keyBits: 3072 } });
  });

  it('with --csr: the CSR travels (public), no key file', () => {
    const csr = file(
      'req.csr',
      '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
    );
    const { input } = certIssueRequest({ ...good, keyFile: undefined, csr }, '/srv');
    expect(input.csr).toContain('BEGIN CERTIFICATE REQUEST');
    expect(input.deploy).toEqual({ certFile: '/srv/tls/www.crt' });
  });

  const bad: [string, Partial<CertIssueOptions>, RegExp][] = [
    ['no mount', { mount: undefined }, /--mount is required/],
    ['a bad mount', { mount: 'pki int' }, /--mount must be a mount path/],
    ['no common name', { cn: undefined }, /--cn is required/],
    ['a bad common name', { cn: 'not a name' }, /--cn must be a DNS name/],
    ['a bad alt name', { altName: ['ok.example.com', 'bad name'] }, /--alt-name must be a DNS name/],
    ['a bad IP', { ipSan: ['ten'] }, /--ip-san must be an IP address/],
    ['a bad ttl', { ttl: 'forever' }, /--ttl must be a duration/],
    ['a bad renew-before', { renewBefore: '0s' }, /--renew-before must be a duration/],
    ['a bad key type', { keyType: 'dsa' }, /--key-type must be ec, rsa or ed25519/],
    ['no cert file', { certFile: undefined }, /--cert-file is required/],
    ['no key file', { keyFile: undefined }, /--key-file is required/],
    [
      'renew-before with once',
      { once: true, renewBefore: '24h' },
      /--renew-before means nothing with --once/,
    ],
    [
      'a missing policy file',
      { policy: '/nonexistent/policy.yaml' },
      /--policy \/nonexistent\/policy.yaml cannot be read \(ENOENT\)/,
    ],
    ['a missing CSR file', { keyFile: undefined, csr: '/nonexistent/req.csr' }, /--csr .* cannot be read/],
  ];
  for (const [what, options, message] of bad) {
    it(`refuses ${what}`, () => {
      const err = refusal({ ...good, ...options } as CertIssueOptions);
      expect(err.name).toBe('UsageError');
      expect(err.message).toMatch(message);
    });
  }

  it('refuses a policy file that is not a policy, naming the field', () => {
    const err = refusal({ ...good, policy: file('bad.yaml', 'max_ttl: forever\n') });
    expect(err.name).toBe('UsageError');
    expect(err.message).toMatch(/max_ttl: must be a duration/);
    const camel = refusal({ ...good, policy: file('camel.yaml', 'maxTtl: 720h\n') });
    expect(camel.message).toMatch(/unknown rule "maxTtl" \(rules: allowed_domains, key_types, max_ttl/);
    const notYaml = refusal({ ...good, policy: file('bad2.yaml', 'a: [\n') });
    expect(notYaml.message).toMatch(/is not YAML or JSON/);
  });

  it('refuses names the policy refuses, before anything starts', () => {
    const policy = file('p.json', '{"allowed_domains": ["*.example.com"], "max_ttl": "720h"}');
    const err = refusal({ ...good, altName: ['evil.com'], ttl: '2160h', policy });
    expect(err.name).toBe('UsageError');
    expect(err.message).toBe(
      'policy rule allowed_domains: "evil.com" is not under *.example.com\n' +
        'policy rule max_ttl: a lifetime of 2160h is longer than 720h',
    );
  });

  it('refuses a CSR file that is no CSR, and a key file or key type beside a CSR', () => {
    const notCsr = file('x.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(refusal({ ...good, keyFile: undefined, csr: notCsr }).message).toMatch(
      /is not a PEM certificate request/,
    );
    const csr = file(
      'r.csr',
      '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
    );
    expect(refusal({ ...good, csr }).message).toMatch(/with --csr the key stays with you/);
    expect(refusal({ ...good, keyFile: undefined, csr, keyType: 'ec' }).message).toMatch(/--key-type/);
  });
});
