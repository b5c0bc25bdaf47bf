import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../common/config/file.js';
import { parseConfig } from '../../common/config/parse.js';
import { configProblems } from './fixtures.js';

// Seed 003's "Vault Configuration" example, as a user would paste it.
const SEED_EXAMPLE = `
vault_integration:
  address: "https://vault.example.com:8200"
  namespace: "cassandra-cert-manager"
  authentication:
    method: "approle"
    role_id: "\${VAULT_ROLE_ID}"
    secret_id: "\${VAULT_SECRET_ID}"
  tls:
    ca_cert: "/etc/vault/ca.pem"
    client_cert: "/etc/vault/client.pem"
    client_key: "/etc/vault/client-key.pem"
    tls_server_name: "vault.example.com"
  engines:
    pki:
      mount_path: "pki"
      roles:
        server: "server-cert"
        client: "client-cert"
      ttl: "720h"
    kv:
      mount_path: "secret"
      version: 2
    transit:
      mount_path: "transit"
      key_name: "cassandra-encryption"
  performance:
    max_retries: 3
    retry_wait_min: "1s"
    retry_wait_max: "30s"
    connection_timeout: "30s"
    max_idle_connections: 10
  caching:
    enable: true
    ttl: "5m"
    max_entries: 10000
`;

const env = { VAULT_ROLE_ID: 'role-123', VAULT_SECRET_ID: 'secret-456' };
// The example's /etc/vault/*.pem files do not exist here; config-files.test.ts checks files.
const anyFileReadable = { checkFile: () => undefined };

const problems = configProblems;

describe('parseConfig', () => {
  it('accepts seed 003 example and expands ${VARS}', () => {
    const config = parseConfig(SEED_EXAMPLE, env, 'vaultops.yaml', anyFileReadable);
    expect(config.vault_integration.authentication).toEqual([
      { method: 'approle', role_id: 'role-123', secret_id: 'secret-456', mount_path: 'approle' },
    ]);
    expect(config.vault_integration.performance.retry_wait_max).toBe(30_000);
    expect(config.vault_integration.caching.ttl).toBe(300_000);
    expect(config.vault_integration.performance.breaker_failure_threshold).toBe(3);
    expect(config.vault_integration.performance.breaker_open_duration).toBe(5000);
    expect(config.vault_integration.tls.tls_server_name).toBe('vault.example.com');
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      task_queue: 'vaultops',
    });
  });

  it('names the field and the missing variable when ${VAR} is not set', () => {
    expect(problems(() => parseConfig(SEED_EXAMPLE, { VAULT_ROLE_ID: 'r' }, 'f.yaml'))).toEqual([
      'vault_integration.authentication.secret_id: refers to ${VAULT_SECRET_ID}, which is not set; export VAULT_SECRET_ID or write the value',
    ]);
  });

  it('names an unknown field so a typo does not pass silently', () => {
    const text = SEED_EXAMPLE.replace('  namespace: "cassandra-cert-manager"', '  namespce: "x"');
    expect(problems(() => parseConfig(text, env))).toEqual([
      expect.stringMatching(/^vault_integration: unknown field "namespce"; remove or correct it/),
    ]);
  });

  it('explains a bad duration, a bad URL and a bad auth method, all at once', () => {
    const text = SEED_EXAMPLE.replace('"https://vault.example.com:8200"', '"vault.example.com"')
      .replace('retry_wait_min: "1s"', 'retry_wait_min: "soon"')
      .replace('method: "approle"', 'method: "kerberos"');
    const found = problems(() => parseConfig(text, env));
    expect(found).toContain(
      'vault_integration.address: must be an http:// or https:// URL such as "https://vault.example.com:8200"',
    );
    expect(found).toContain(
      'vault_integration.performance.retry_wait_min: must be a duration such as "1s" (units: ms, s, m, h, d)',
    );
    expect(found.some((p) => p.startsWith('vault_integration.authentication.method:'))).toBe(true);
  });

  it('rejects YAML that is not a mapping, and YAML that does not parse', () => {
    expect(problems(() => parseConfig('- a\n- b\n', {}))).toEqual([
      'must be a YAML mapping with a "vault_integration:" section',
    ]);
    expect(problems(() => parseConfig('vault_integration: [\n', {}))[0]).toMatch(/^not valid YAML:/);
  });

  it('lets the environment override the file, as VAULT_ADDR overrides Vault Agent config', () => {
    const config = parseConfig(
      SEED_EXAMPLE,
      {
        ...env,
        VAULT_ADDR: 'https://other.example.com:8200/',
        VAULT_NAMESPACE: 'admin',
        VAULT_CACERT: '/tmp/ca.pem',
        TEMPORAL_ADDRESS: 'temporal.example.com:7233',
        TEMPORAL_NAMESPACE: 'ops',
      },
      'vaultops.yaml',
      anyFileReadable,
    );
    expect(config.vault_integration.address).toBe('https://other.example.com:8200');
    expect(config.vault_integration.namespace).toBe('admin');
    expect(config.vault_integration.tls.ca_cert).toBe('/tmp/ca.pem');
    expect(config.temporal.address).toBe('temporal.example.com:7233');
    expect(config.temporal.namespace).toBe('ops');
    // The file's AppRole stays: VAULT_TOKEN only fills in when no method is configured.
    expect(config.vault_integration.authentication?.[0]?.method).toBe('approle');
  });

  it('builds a token configuration from the environment alone', () => {
    const config = parseConfig(undefined, { VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: 'hvs.x' });
    expect(config.vault_integration.authentication).toEqual([{ method: 'token', token: 'hvs.x' }]);
    expect(config.vault_integration.caching.enable).toBe(true);
  });

  it('never echoes a secret value in its errors', () => {
    const text = SEED_EXAMPLE.replace('max_idle_connections: 10', 'max_idle_connections: "lots"');
    const message = (() => {
      try {
        parseConfig(text, { VAULT_ROLE_ID: 'role-123', VAULT_SECRET_ID: 'very-secret-value' });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toContain('max_idle_connections');
    expect(message).not.toContain('very-secret-value');
  });
});

describe('loadConfig', () => {
  it('says which file is missing and how to point at another', () => {
    expect(problems(() => loadConfig('/nonexistent/vaultops.yaml', {}))).toEqual([
      'file not found: check the --config path or $VAULTOPS_CONFIG',
    ]);
  });

  it('reads $VAULTOPS_CONFIG when no path is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultops-config-'));
    const file = join(dir, 'vaultops.yaml');
    writeFileSync(file, 'vault_integration:\n  address: http://127.0.0.1:8200\n');
    expect(loadConfig(undefined, { VAULTOPS_CONFIG: file }).vault_integration.address).toBe(
      'http://127.0.0.1:8200',
    );
  });
});
