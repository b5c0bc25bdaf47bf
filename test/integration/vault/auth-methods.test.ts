// Every auth method against the real server: userpass, JWT with keys the test generates, TLS
// certificates over a TLS listener, LDAP against Debian's slapd, and Kubernetes through a
// TokenReview stand-in (the one part that cannot run here: a Kubernetes API server).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startVaultDevServer } from '../../../client/stack/vault-dev.js';
import { parseConfig } from '../../../common/config/parse.js';
import { login } from '../../../vault/auth/login.js';
import { VaultClient } from '../../../vault/client.js';
import { connectVault } from '../../../workers/connections.js';
import { jwtSigner } from '../../harness/jwt.js';
import { startSlapd } from '../../harness/slapd.js';
import { makeClientCert } from '../../harness/tls-certs.js';
import { startTokenReviewStandIn } from '../../harness/tokenreview-stand-in.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-auth-'));
const root = rootClient();
const cleanup: (() => Promise<void>)[] = [() => root.close()];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  rmSync(dir, { recursive: true, force: true });
});

function fresh(
  options: ConstructorParameters<typeof VaultClient>[0] = { address: server().address },
): VaultClient {
  const client = new VaultClient({ ...options, retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 } });
  cleanup.push(() => client.close());
  return client;
}

async function whoAmI(client: VaultClient): Promise<{ display_name: string; policies: string[] }> {
  return (
    (await client.read('auth/token/lookup-self')) as { data: { display_name: string; policies: string[] } }
  ).data;
}

async function policy(name: string): Promise<string> {
  await root.write(`sys/policies/acl/${name}`, {
    policy: 'path "secret/data/app/*" { capabilities = ["read"] }',
  });
  return name;
}

describe(`auth methods on ${server().flavour}`, () => {
  it('userpass', async () => {
    const mount = unique('userpass');
    await root.write(`sys/auth/${mount}`, { type: 'userpass' });
    const p = await policy(unique('app'));
    await root.write(`auth/${mount}/users/deployer`, {
      password: 'correct horse battery',
      token_policies: [p],
    });
    const client = fresh();
    const result = await login(client, {
      method: 'userpass',
      username: 'deployer',
      password: 'correct horse battery',
      mount_path: mount,
    });
    expect(result.policies).toContain(p);
    expect((await whoAmI(client)).display_name).toBe(`${mount}-deployer`);
  });

  it('JWT role login with a key the test generated', async () => {
    const mount = unique('jwt');
    const signer = jwtSigner();
    await root.write(`sys/auth/${mount}`, { type: 'jwt' });
    await root.write(`auth/${mount}/config`, {
      jwt_validation_pubkeys: [signer.publicKeyPem],
      bound_issuer: 'https://ci.vaultops.test',
    });
    const p = await policy(unique('ci'));
    await root.write(`auth/${mount}/role/ci`, {
      role_type: 'jwt',
      user_claim: 'sub',
      bound_audiences: ['vault'],
      bound_claims: { repo: 'platform/vaultops' },
      token_policies: [p],
      token_ttl: '5m',
    });
    const claims = {
      iss: 'https://ci.vaultops.test',
      aud: 'vault',
      sub: 'pipeline-42',
      repo: 'platform/vaultops',
    };
    const client = fresh();
    const result = await login(client, {
      method: 'jwt',
      role: 'ci',
      jwt: signer.sign(claims),
      mount_path: mount,
    });
    expect(result).toMatchObject({ method: 'jwt', ttlSeconds: 300 });
    expect(result.policies).toContain(p);

    // From a file, as a CI runner or projected token provides it; a wrong claim is refused.
    const file = join(dir, 'ci.jwt');
    writeFileSync(file, signer.sign({ ...claims, repo: 'someone/else' }), { mode: 0o600 });
    await expect(
      login(fresh(), { method: 'jwt', role: 'ci', jwt_file: file, mount_path: mount }),
    ).rejects.toThrow(/claim "repo" does not match/);
  });

  it('TLS certificate over a TLS listener', async () => {
    const tlsServer = await startVaultDevServer({ flavour: server().flavour, logDir: dir, tls: true });
    cleanup.push(() => tlsServer.stop());
    const tlsRoot = fresh({ address: tlsServer.address, tls: { caCertPath: tlsServer.caCertPath } });
    tlsRoot.tokens.set(tlsServer.rootToken);
    const client = await makeClientCert(dir, 'worker.vaultops.test');
    await tlsRoot.write('sys/auth/cert', { type: 'cert' });
    await tlsRoot.write('auth/cert/certs/workers', {
      certificate: client.caPem,
      allowed_common_names: ['worker.vaultops.test'],
      token_policies: ['default'],
    });
    const worker = fresh({
      address: tlsServer.address,
      tls: {
        caCertPath: tlsServer.caCertPath,
        clientCertPath: client.certPath,
        clientKeyPath: client.keyPath,
      },
    });
    const result = await login(worker, { method: 'cert', name: 'workers', mount_path: 'cert' });
    expect(result.method).toBe('cert');
    expect((await whoAmI(worker)).display_name).toBe('cert-workers');

    // Without a client certificate there is nothing to log in with.
    const anonymous = fresh({ address: tlsServer.address, tls: { caCertPath: tlsServer.caCertPath } });
    await expect(login(anonymous, { method: 'cert', mount_path: 'cert' })).rejects.toThrow();

    // The way a worker gets there: the variables Vault users already set, through the config.
    const config = parseConfig(undefined, {
      VAULT_ADDR: tlsServer.address,
      VAULT_CACERT: tlsServer.caCertPath,
      VAULT_CLIENT_CERT: client.certPath,
      VAULT_CLIENT_KEY: client.keyPath,
    });
    const connection = await connectVault({
      ...config.vault_integration,
      authentication: [{ method: 'cert', name: 'workers', mount_path: 'cert' }],
    });
    try {
      expect(connection.login?.method).toBe('cert');
      expect((await whoAmI(connection.vault)).display_name).toBe('cert-workers');
    } finally {
      await connection.close();
    }
  });

  it('LDAP against slapd (HashiCorp Vault; OpenBao ships no LDAP auth plugin)', async () => {
    const mount = unique('ldap');
    if (server().flavour === 'openbao') {
      await expect(root.write(`sys/auth/${mount}`, { type: 'ldap' })).rejects.toThrow(
        /plugin not found in the catalog: ldap/,
      );
      return;
    }
    const ldap = await startSlapd(join(dir, 'slapd'), ['alice', 'bob']);
    cleanup.push(() => ldap.process.stop());
    await root.write(`sys/auth/${mount}`, { type: 'ldap' });
    await root.write(`auth/${mount}/config`, {
      url: ldap.url,
      userdn: ldap.usersDn,
      userattr: 'uid',
      discoverdn: false,
      deny_null_bind: true,
    });
    const p = await policy(unique('ldap-users'));
    await root.write(`auth/${mount}/users/alice`, { policies: [p] });
    const client = fresh();
    const result = await login(client, {
      method: 'ldap',
      username: 'alice',
      password: ldap.users.alice as string,
      mount_path: mount,
    });
    expect(result.policies).toContain(p);
    await expect(
      login(fresh(), { method: 'ldap', username: 'bob', password: 'not-bobs-password', mount_path: mount }),
    ).rejects.toThrow();
  });

  it('Kubernetes through a TokenReview stand-in', async () => {
    const k8s = await startTokenReviewStandIn();
    cleanup.push(() => k8s.close());
    const signer = jwtSigner();
    const token = signer.sign({
      iss: 'kubernetes/serviceaccount',
      sub: 'system:serviceaccount:payments:vaultops',
      'kubernetes.io/serviceaccount/namespace': 'payments',
      'kubernetes.io/serviceaccount/service-account.name': 'vaultops',
      'kubernetes.io/serviceaccount/service-account.uid': 'uid-payments-vaultops',
    });
    k8s.accept(token, { namespace: 'payments', name: 'vaultops' });
    const mount = unique('kubernetes');
    await root.write(`sys/auth/${mount}`, { type: 'kubernetes' });
    // Some CA is required by OpenBao's config check; the stand-in speaks plain HTTP on loopback.
    const { caPem } = await makeClientCert(dir, 'k8s-ca-placeholder');
    await root.write(`auth/${mount}/config`, {
      kubernetes_host: k8s.url,
      kubernetes_ca_cert: caPem,
      disable_local_ca_jwt: true,
    });
    await root.write(`auth/${mount}/role/payments`, {
      bound_service_account_names: ['vaultops'],
      bound_service_account_namespaces: ['payments'],
      token_policies: ['default'],
      token_ttl: '10m',
    });
    const file = join(dir, 'sa.token');
    writeFileSync(file, token, { mode: 0o600 });
    const result = await login(fresh(), {
      method: 'kubernetes',
      role: 'payments',
      jwt_file: file,
      mount_path: mount,
    });
    expect(result).toMatchObject({ method: 'kubernetes', ttlSeconds: 600 });
    expect(k8s.reviews).toBeGreaterThanOrEqual(1);

    // A token the "cluster" does not vouch for is refused.
    const stranger = join(dir, 'stranger.token');
    writeFileSync(stranger, signer.sign({ sub: 'system:serviceaccount:payments:vaultops' }), { mode: 0o600 });
    await expect(
      login(fresh(), { method: 'kubernetes', role: 'payments', jwt_file: stranger, mount_path: mount }),
    ).rejects.toThrow();
  });
});
