// What wins when both the file and the environment say something: each variable on its own.
// Where and how to connect: the environment. Who to be (authentication): the file.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../common/config/parse.js';
import type { VaultopsConfig } from '../../common/config/schema.js';
import { configProblems } from './fixtures.js';

const FILE = `
vault_integration:
  address: "https://vault-a.example.com:8200"
  ha_addresses: ["https://vault-b.example.com:8200", "https://vault-c.example.com:8200"]
  namespace: "team-a"
  authentication:
    method: "approle"
    role_id: "file-role"
    secret_id: "file-secret"
  tls:
    ca_cert: "/file/ca.pem"
    client_cert: "/file/client.pem"
    client_key: "/file/client-key.pem"
    tls_server_name: "vault.file"
temporal:
  address: "temporal.file:7233"
  namespace: "file-ns"
  task_queue: "file-queue"
  tls:
    ca_cert: "/file/t-ca.pem"
    client_cert: "/file/t-client.pem"
    client_key: "/file/t-client-key.pem"
    server_name: "temporal.file"
`;

const noFiles = { checkFile: () => undefined };
const parse = (env: Record<string, string>, text: string = FILE): VaultopsConfig =>
  parseConfig(text, env, 'vaultops.yaml', noFiles);

const problems = configProblems;

describe('the environment over the file', () => {
  it('leaves the file alone when nothing is set', () => {
    const c = parse({});
    expect(c.vault_integration.address).toBe('https://vault-a.example.com:8200');
    expect(c.vault_integration.tls.client_key).toBe('/file/client-key.pem');
    expect(c.temporal.tls?.client_cert).toBe('/file/t-client.pem');
  });

  it.each([
    ['VAULT_NAMESPACE', 'admin', (c: VaultopsConfig) => c.vault_integration.namespace],
    ['VAULT_CACERT', '/env/ca.pem', (c: VaultopsConfig) => c.vault_integration.tls.ca_cert],
    ['VAULT_TLS_SERVER_NAME', 'vault.env', (c: VaultopsConfig) => c.vault_integration.tls.tls_server_name],
    ['TEMPORAL_ADDRESS', 'temporal.env:7233', (c: VaultopsConfig) => c.temporal.address],
    ['TEMPORAL_NAMESPACE', 'env-ns', (c: VaultopsConfig) => c.temporal.namespace],
    ['VAULTOPS_TASK_QUEUE', 'env-queue', (c: VaultopsConfig) => c.temporal.task_queue],
    ['TEMPORAL_TLS_CA', '/env/t-ca.pem', (c: VaultopsConfig) => c.temporal.tls?.ca_cert],
    ['TEMPORAL_TLS_SERVER_NAME', 'temporal.env', (c: VaultopsConfig) => c.temporal.tls?.server_name],
  ])('%s overrides the file', (name, value, read) => {
    expect(read(parse({ [name]: value }))).toBe(value);
  });

  it('VAULT_SKIP_VERIFY overrides the file, and "false"/"0" mean false', () => {
    expect(parse({ VAULT_SKIP_VERIFY: 'true' }).vault_integration.tls.skip_verify).toBe(true);
    expect(parse({ VAULT_SKIP_VERIFY: '1' }).vault_integration.tls.skip_verify).toBe(true);
    expect(parse({ VAULT_SKIP_VERIFY: 'false' }).vault_integration.tls.skip_verify).toBe(false);
    expect(parse({ VAULT_SKIP_VERIFY: '0' }).vault_integration.tls.skip_verify).toBe(false);
  });

  it('VAULT_ADDR of another cluster overrides the address and drops the file cluster’s other nodes', () => {
    const c = parse({ VAULT_ADDR: 'https://elsewhere.example.com:8200' });
    expect(c.vault_integration.address).toBe('https://elsewhere.example.com:8200');
    expect(c.vault_integration.ha_addresses).toEqual([]);
  });

  it('VAULT_ADDR naming one of the file’s nodes makes it the first tried and keeps the others', () => {
    const c = parse({ VAULT_ADDR: 'https://vault-b.example.com:8200/' });
    expect(c.vault_integration.address).toBe('https://vault-b.example.com:8200');
    expect(c.vault_integration.ha_addresses).toEqual([
      'https://vault-a.example.com:8200',
      'https://vault-c.example.com:8200',
    ]);
  });

  it('VAULT_CLIENT_CERT and VAULT_CLIENT_KEY replace the file’s pair together', () => {
    const c = parse({ VAULT_CLIENT_CERT: '/env/client.pem', VAULT_CLIENT_KEY: '/env/client-key.pem' });
    expect(c.vault_integration.tls).toMatchObject({
      client_cert: '/env/client.pem',
      client_key: '/env/client-key.pem',
    });
  });

  it('a certificate from the environment is never paired with the file’s key', () => {
    expect(problems(() => parse({ VAULT_CLIENT_CERT: '/env/client.pem' }))).toEqual([
      expect.stringMatching(
        /^vault_integration\.tls\.client_key: is required with client_cert.*VAULT_CLIENT_KEY/,
      ),
    ]);
    expect(problems(() => parse({ TEMPORAL_TLS_KEY: '/env/t-key.pem' }))).toEqual([
      expect.stringMatching(/^temporal\.tls\.client_cert: is required with client_key.*TEMPORAL_TLS_CERT/),
    ]);
  });

  it('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY replace the file’s pair together', () => {
    const c = parse({ TEMPORAL_TLS_CERT: '/env/t.pem', TEMPORAL_TLS_KEY: '/env/t-key.pem' });
    expect(c.temporal.tls).toMatchObject({ client_cert: '/env/t.pem', client_key: '/env/t-key.pem' });
  });

  it('VAULT_TOKEN does not replace the file’s authentication: the file says who the worker is', () => {
    const c = parse({ VAULT_TOKEN: 'hvs.from-a-shell' });
    expect(c.vault_integration.authentication).toEqual([
      { method: 'approle', role_id: 'file-role', secret_id: 'file-secret', mount_path: 'approle' },
    ]);
  });

  it('VAULT_TOKEN is the authentication when the file names none, or when the file asks for it', () => {
    const withoutAuth = FILE.replace(/ {2}authentication:\n(?: {4}.*\n)+/, '');
    expect(parse({ VAULT_TOKEN: 'hvs.env' }, withoutAuth).vault_integration.authentication).toEqual([
      { method: 'token', token: 'hvs.env' },
    ]);
    const asksForIt = FILE.replace(
      /method: "approle"\n.*\n.*\n/,
      'method: "token"\n    token: "${VAULT_TOKEN}"\n',
    );
    expect(parse({ VAULT_TOKEN: 'hvs.env' }, asksForIt).vault_integration.authentication).toEqual([
      { method: 'token', token: 'hvs.env' },
    ]);
  });

  it('without a file, the environment is the whole configuration, with every default', () => {
    const c = parseConfig(
      undefined,
      { VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: 'hvs.env' },
      'env',
      noFiles,
    );
    expect(c.vault_integration.performance).toMatchObject({
      breaker_failure_threshold: 3,
      breaker_open_duration: 5000,
    });
    expect(c.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default', task_queue: 'vaultops' });
  });

  it('an empty variable is as good as unset', () => {
    expect(parse({ VAULT_ADDR: '', VAULT_NAMESPACE: '' }).vault_integration).toMatchObject({
      address: 'https://vault-a.example.com:8200',
      namespace: 'team-a',
    });
  });
});
