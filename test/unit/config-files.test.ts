// The files a configuration names are checked when it is read, and settings that only work in
// pairs (client certificate and key) or within bounds (breaker) are explained, field by field.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFiles, readableFile } from '../../common/config/named-files.js';
import { parseConfig } from '../../common/config/parse.js';
import { configProblems } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-config-files-'));
const pem = (name: string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', { mode });
  chmodSync(path, mode);
  return path;
};
const ca = pem('ca.pem');
const cert = pem('client.pem');
const key = pem('client-key.pem');

const file = (tls: Record<string, string>, section: 'vault' | 'temporal' = 'vault') => {
  const lines = Object.entries(tls)
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join('\n');
  return section === 'vault'
    ? `vault_integration:\n  address: "https://vault.example.com:8200"\n  tls:\n${lines}\n`
    : `vault_integration:\n  address: "https://vault.example.com:8200"\ntemporal:\n  tls:\n${lines}\n`;
};

const problems = configProblems;

describe('TLS files', () => {
  it('accepts files that exist and can be read', () => {
    const c = parseConfig(file({ ca_cert: ca, client_cert: cert, client_key: key }), {});
    expect(c.vault_integration.tls).toMatchObject({ ca_cert: ca, client_cert: cert, client_key: key });
    expect(
      parseConfig(file({ ca_cert: ca, client_cert: cert, client_key: key }, 'temporal'), {}).temporal.tls,
    ).toMatchObject({ ca_cert: ca });
  });

  it('names the field, the path and the fix for a missing file, for Vault and Temporal', () => {
    const missing = join(dir, 'nope.pem');
    expect(problems(() => parseConfig(file({ ca_cert: missing }), {}, 'vaultops.yaml'))).toEqual([
      `vault_integration.tls.ca_cert: file "${missing}" does not exist; correct the path (or VAULT_CACERT)`,
    ]);
    expect(
      problems(() => parseConfig(file({ client_cert: cert, client_key: missing }, 'temporal'), {})),
    ).toEqual([
      `temporal.tls.client_key: file "${missing}" does not exist; correct the path (or TEMPORAL_TLS_KEY)`,
    ]);
  });

  it('checks files named by the environment too', () => {
    expect(
      problems(() =>
        parseConfig(undefined, { VAULT_ADDR: 'https://v:8200', VAULT_CACERT: '/no/such/ca.pem' }),
      ),
    ).toEqual([
      'vault_integration.tls.ca_cert: file "/no/such/ca.pem" does not exist; correct the path (or VAULT_CACERT)',
    ]);
    expect(
      problems(() =>
        parseConfig(undefined, {
          TEMPORAL_TLS_CERT: '/no/t.pem',
          TEMPORAL_TLS_KEY: key,
          TEMPORAL_TLS_CA: ca,
        }),
      ),
    ).toEqual([
      'temporal.tls.client_cert: file "/no/t.pem" does not exist; correct the path (or TEMPORAL_TLS_CERT)',
    ]);
  });

  it('says a file is unreadable, or a directory, rather than failing at the first connection', () => {
    const sub = join(dir, 'certs');
    mkdirSync(sub, { recursive: true });
    const check = (path: string) => (path === key ? 'EACCES' : readableFile(path));
    expect(
      problems(() =>
        parseConfig(file({ ca_cert: sub, client_cert: cert, client_key: key }), {}, 'f', {
          checkFile: check,
        }),
      ),
    ).toEqual([
      `vault_integration.tls.ca_cert: "${sub}" is a directory; give the PEM file inside it`,
      `vault_integration.tls.client_key: file "${key}" is not readable by this user; make it readable by the user running vaultops`,
    ]);
  });

  it('really finds an unreadable file when not running as root', () => {
    const locked = pem('locked.pem', 0o000);
    // root reads anything: there the check rightly passes.
    expect(readableFile(locked)).toBe(process.getuid?.() === 0 ? undefined : 'EACCES');
  });

  it('checkConfigFiles reports every file at once', () => {
    const config = parseConfig(file({ ca_cert: ca }), {});
    config.vault_integration.tls.client_cert = '/a';
    config.vault_integration.tls.client_key = '/b';
    expect(checkConfigFiles(config)).toHaveLength(2);
  });
});

describe('client certificate and key go together', () => {
  const noFiles = { checkFile: () => undefined };

  it.each([
    ['vault', { client_cert: '/c.pem' }, 'vault_integration.tls.client_key: is required with client_cert'],
    ['vault', { client_key: '/k.pem' }, 'vault_integration.tls.client_cert: is required with client_key'],
    ['temporal', { client_cert: '/c.pem' }, 'temporal.tls.client_key: is required with client_cert'],
    ['temporal', { client_key: '/k.pem' }, 'temporal.tls.client_cert: is required with client_key'],
  ] as const)('%s %o is an error', (section, tls, expected) => {
    const found = problems(() => parseConfig(file(tls, section), {}, 'f', noFiles));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
  });

  it('the cert auth method needs a client certificate', () => {
    const text = `vault_integration:\n  address: "https://v:8200"\n  authentication:\n    method: cert\n`;
    expect(problems(() => parseConfig(text, {}, 'f', noFiles))).toEqual([
      expect.stringMatching(/^vault_integration\.tls\.client_cert: is required by the cert auth method/),
    ]);
  });
});

describe('circuit breaker settings', () => {
  const perf = (lines: string) =>
    `vault_integration:\n  address: "https://v:8200"\n  performance:\n${lines}\n`;

  it('reads them, with defaults of 3 failures and 5 s', () => {
    expect(parseConfig(perf('    max_retries: 3'), {}).vault_integration.performance).toMatchObject({
      breaker_failure_threshold: 3,
      breaker_open_duration: 5000,
    });
    expect(
      parseConfig(perf('    breaker_failure_threshold: 5\n    breaker_open_duration: "1m"'), {})
        .vault_integration.performance,
    ).toMatchObject({ breaker_failure_threshold: 5, breaker_open_duration: 60_000 });
  });

  it('explains bad values', () => {
    expect(problems(() => parseConfig(perf('    breaker_failure_threshold: 0'), {}))).toEqual([
      'vault_integration.performance.breaker_failure_threshold: must be at least 1 (the failures in a row that open the breaker)',
    ]);
    expect(problems(() => parseConfig(perf('    breaker_failure_threshold: 2.5'), {}))).toEqual([
      'vault_integration.performance.breaker_failure_threshold: must be a whole number of failures such as 3',
    ]);
    expect(problems(() => parseConfig(perf('    breaker_failure_threshold: "three"'), {}))).toEqual([
      'vault_integration.performance.breaker_failure_threshold: must be a whole number of failures such as 3',
    ]);
    expect(problems(() => parseConfig(perf('    breaker_open_duration: "a while"'), {}))).toEqual([
      'vault_integration.performance.breaker_open_duration: must be a duration such as "5s" (units: ms, s, m, h, d)',
    ]);
  });
});
