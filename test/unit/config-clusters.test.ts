// Several Vault clusters by name: vault_integration is "default", vault_clusters names the others
// (a DR primary and standby, a migration's source and target). The VAULT_* environment reaches
// only the default cluster.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../common/config/parse.js';
import { DEFAULT_CLUSTER, vaultClusterConfigs } from '../../common/config/schema.js';
import { configProblems } from './fixtures.js';

const TWO_CLUSTERS = `
vault_integration:
  address: "https://vault-a.example.com:8200"
  authentication:
    method: "token"
    token: "hvs.default"
vault_clusters:
  dr-standby:
    address: "https://dr.example.com:8200"
    ha_addresses: ["https://dr-2.example.com:8200"]
    namespace: "admin"
    authentication:
      method: "approle"
      role_id: "dr-role"
      secret_id: "\${DR_SECRET_ID}"
    tls:
      ca_cert: "/dr/ca.pem"
    performance:
      max_retries: 5
  migration-target:
    address: "http://127.0.0.1:8210/"
`;

const noFiles = { checkFile: () => undefined };
const parse = (text: string, env: Record<string, string> = { DR_SECRET_ID: 'dr-secret' }) =>
  parseConfig(text, env, 'vaultops.yaml', noFiles);
const problems = (text: string, env?: Record<string, string>) => configProblems(() => parse(text, env));

describe('vault_clusters', () => {
  it('parses two named clusters next to the default, each with its own defaults', () => {
    const c = parse(TWO_CLUSTERS);
    const clusters = vaultClusterConfigs(c);
    expect([...clusters.keys()]).toEqual([DEFAULT_CLUSTER, 'dr-standby', 'migration-target']);
    expect(clusters.get('default')).toBe(c.vault_integration);
    const dr = clusters.get('dr-standby');
    expect(dr).toMatchObject({
      address: 'https://dr.example.com:8200',
      ha_addresses: ['https://dr-2.example.com:8200'],
      namespace: 'admin',
      authentication: [
        { method: 'approle', role_id: 'dr-role', secret_id: 'dr-secret', mount_path: 'approle' },
      ],
      tls: { ca_cert: '/dr/ca.pem', skip_verify: false },
    });
    expect(dr?.performance).toMatchObject({
      max_retries: 5,
      retry_wait_min: 1000,
      breaker_open_duration: 5000,
    });
    expect(dr?.caching).toEqual({ enable: true, ttl: 300_000, max_entries: 10_000 });
    const target = clusters.get('migration-target');
    expect(target?.address).toBe('http://127.0.0.1:8210');
    expect(target?.authentication).toBeUndefined();
  });

  it('without vault_clusters, the default is the only cluster', () => {
    const c = parseConfig(undefined, { VAULT_ADDR: 'http://127.0.0.1:8200' });
    expect([...vaultClusterConfigs(c).keys()]).toEqual(['default']);
  });

  it.each(['DR', 'dr_standby', '-dr', 'dr.standby'])(
    'refuses the cluster name %j, saying what a name is',
    (name) => {
      expect(
        problems(
          `vault_integration:\n  address: "https://v:8200"\nvault_clusters:\n  "${name}":\n    address: "https://dr:8200"\n`,
        ),
      ).toEqual([
        `vault_clusters.${name}: is not a valid cluster name: use lowercase letters, digits and "-", starting with a letter or digit, such as "dr-standby"`,
      ]);
    },
  );

  it('refuses a second "default": that one is vault_integration', () => {
    expect(
      problems(
        `vault_integration:\n  address: "https://v:8200"\nvault_clusters:\n  default:\n    address: "https://other:8200"\n`,
      ),
    ).toEqual([
      'vault_clusters.default: is defined twice: the cluster named "default" is vault_integration; put its settings there, or give this cluster another name',
    ]);
  });

  it('names the cluster and field of an unknown field, a bad value and a missing variable', () => {
    const text = `
vault_integration:
  address: "https://v:8200"
vault_clusters:
  dr:
    address: "dr.example.com"
    namespce: "admin"
    authentication:
      method: "approle"
      role_id: "r"
      secret_id: "\${DR_SECRET_ID}"
`;
    expect(problems(text, {})).toEqual([
      'vault_clusters.dr.authentication.secret_id: refers to ${DR_SECRET_ID}, which is not set; export DR_SECRET_ID or write the value',
    ]);
    const found = problems(text);
    expect(found).toContain(
      'vault_clusters.dr.address: must be an http:// or https:// URL such as "https://vault.example.com:8200"',
    );
    expect(found).toContainEqual(
      expect.stringMatching(/^vault_clusters\.dr: unknown field "namespce"; remove or correct it/),
    );
  });

  it('reports a single auth method of a named cluster without a list index', () => {
    const text = `vault_integration:\n  address: "https://v:8200"\nvault_clusters:\n  dr:\n    address: "https://dr:8200"\n    authentication:\n      method: "approle"\n      role_id: "r"\n`;
    expect(problems(text)).toEqual(['vault_clusters.dr.authentication.secret_id: is required']);
  });

  it('asks for a mapping when vault_clusters is a list', () => {
    expect(
      problems(
        `vault_integration:\n  address: "https://v:8200"\nvault_clusters:\n  - address: "https://dr:8200"\n`,
      ),
    ).toEqual([
      'vault_clusters: must be a mapping of cluster name to settings shaped like vault_integration, such as "dr-standby: { address: ... }"',
    ]);
  });

  it("points a named cluster's TLS pair at its own file, not at VAULT_* variables", () => {
    const text = `vault_integration:\n  address: "https://v:8200"\nvault_clusters:\n  dr:\n    address: "https://dr:8200"\n    tls:\n      client_cert: "/dr/client.pem"\n`;
    expect(problems(text)).toEqual([
      "vault_clusters.dr.tls.client_key: is required with client_cert: give the client certificate's private key too, or remove client_cert",
    ]);
  });

  it('checks the TLS files of every cluster, each reported with its cluster', () => {
    const text = `
vault_integration:
  address: "https://v:8200"
  tls:
    ca_cert: "/ok/ca.pem"
vault_clusters:
  dr:
    address: "https://dr:8200"
    tls:
      ca_cert: "/missing/dr-ca.pem"
`;
    const check = (path: string) => (path.startsWith('/missing/') ? 'ENOENT' : undefined);
    expect(configProblems(() => parseConfig(text, {}, 'vaultops.yaml', { checkFile: check }))).toEqual([
      'vault_clusters.dr.tls.ca_cert: file "/missing/dr-ca.pem" does not exist; correct the path',
    ]);
  });

  it('lets the VAULT_* environment overlay only the default cluster', () => {
    const c = parse(TWO_CLUSTERS, {
      DR_SECRET_ID: 'dr-secret',
      VAULT_ADDR: 'https://env.example.com:8200',
      VAULT_NAMESPACE: 'env-ns',
      VAULT_CACERT: '/env/ca.pem',
      VAULT_SKIP_VERIFY: 'true',
      VAULT_TOKEN: 'hvs.env',
    });
    expect(c.vault_integration).toMatchObject({
      address: 'https://env.example.com:8200',
      namespace: 'env-ns',
      tls: { ca_cert: '/env/ca.pem', skip_verify: true },
    });
    const clusters = vaultClusterConfigs(c);
    expect(clusters.get('dr-standby')).toMatchObject({
      address: 'https://dr.example.com:8200',
      namespace: 'admin',
      tls: { ca_cert: '/dr/ca.pem', skip_verify: false },
    });
    // A named cluster without authentication does not pick up the shell's VAULT_TOKEN.
    expect(clusters.get('migration-target')?.authentication).toBeUndefined();
    expect(clusters.get('migration-target')?.namespace).toBeUndefined();
  });
});
