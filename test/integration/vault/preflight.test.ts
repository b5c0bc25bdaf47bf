// Preflight end to end below the CLI: the real workflow, the real activities, a real server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../activities/index.js';
import { startVaultDevServer } from '../../../client/stack/vault-dev.js';
import { VaultClient } from '../../../vault/client.js';
import { expectNoSecretsInHistory, rememberSecret } from '../../harness/history-scan.js';
import { startWorkflowTestBed, type WorkflowTestBed } from '../../harness/temporal.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';

const root = rootClient();
let bed: WorkflowTestBed;

beforeAll(async () => {
  bed = await startWorkflowTestBed();
  rememberSecret(server().rootToken, `${server().flavour} root token`);
});
afterAll(async () => {
  await bed?.teardown();
  await root.close();
});

const runPreflight = (vault: VaultClient, namespace?: string) =>
  bed.runPreflight(createActivities({ vault }), namespace === undefined ? {} : { namespace });

describe(`preflight on ${server().flavour}`, () => {
  it('reports the flavour, version and mounts of the real server', async () => {
    const report = await runPreflight(root);
    expect(report.flavour).toBe(server().flavour);
    expect(report.edition).toBe('community');
    expect(report.ready).toBe(true);
    expect(report.address).toBe(server().address);
    expect(report.health.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.leader?.haEnabled).toBe(false);
    expect(report.secretsEngines?.map((m) => m.path)).toContain('secret/');
    expect(report.authMethods?.map((m) => m.path)).toContain('token/');
    expect(report.namespaces?.supported).toBe(server().flavour === 'openbao');
    // What can be enabled differs: OpenBao ships no LDAP auth and no MongoDB plugin.
    expect(report.plugins?.auth).toContain('approle');
    expect(report.plugins?.auth.includes('ldap')).toBe(server().flavour === 'vault');
    expect(report.plugins?.database).toContain('postgresql-database-plugin');
    expect(report.plugins?.database.includes('mongodb-database-plugin')).toBe(server().flavour === 'vault');
    expect(report.warnings).toContain(
      'storage is in-memory (a -dev server): data is lost on restart; no raft snapshots or DR',
    );
  });

  it('carries no token in the report it puts into Temporal history', async () => {
    const report = await runPreflight(root);
    expect(JSON.stringify(report)).not.toContain(server().rootToken);
  });

  it('says what a token without sys/mounts read could not see, instead of failing', async () => {
    const limited = new VaultClient({ address: server().address });
    const limitedToken = (await tokenWithPolicy(root, 'path "sys/leader" { capabilities = ["read"] }')).token;
    rememberSecret(limitedToken, 'limited token');
    limited.tokens.set(limitedToken);
    try {
      const report = await runPreflight(limited);
      expect(report.ready).toBe(true);
      expect(report.secretsEngines).toBeNull();
      expect(report.authMethods).toBeNull();
      expect(report.warnings).toContain('could not list secrets engines: the token lacks read on sys/mounts');
      // Without mounts, flavour detection falls back to seal-status and health fields.
      expect(report.flavour).toBe(server().flavour);
    } finally {
      await limited.close();
    }
  });

  it('inspects inside a namespace where the server has them', async () => {
    if (server().flavour !== 'openbao') {
      // Vault Community ignores X-Vault-Namespace and would act on the root namespace: say so.
      const report = await runPreflight(root, 'tenant');
      expect(report.ready).toBe(false);
      expect(report.namespaces?.supported).toBe(false);
      expect(report.warnings.join('\n')).toContain(
        'namespace "tenant" was asked for, but this server has no namespaces',
      );
      return;
    }
    const tenant = unique('tenant');
    await root.write(`sys/namespaces/${tenant}`, {});
    await root.withNamespace(tenant).write('sys/mounts/app-kv', { type: 'kv', options: { version: '2' } });
    const report = await runPreflight(root, tenant);
    expect(report.namespace).toBe(tenant);
    expect(report.secretsEngines?.map((m) => m.path)).toContain('app-kv/');
    // The root namespace's secret/ mount is not visible from inside the tenant.
    expect(report.secretsEngines?.map((m) => m.path)).not.toContain('secret/');
  });

  it('reports a sealed server as not ready, without failing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultops-sealed-'));
    const sealed = await startVaultDevServer({ flavour: server().flavour, logDir: dir });
    rememberSecret(sealed.rootToken, 'sealed server root token');
    const vault = new VaultClient({ address: sealed.address });
    vault.tokens.set(sealed.rootToken);
    try {
      await vault.write('sys/seal', {});
      const report = await runPreflight(vault);
      expect(report.ready).toBe(false);
      expect(report.seal.sealed).toBe(true);
      expect(report.secretsEngines).toBeNull();
      expect(report.flavour).toBe(server().flavour);
      expect(report.warnings.some((w) => w.startsWith('cluster is sealed'))).toBe(true);
    } finally {
      await vault.close();
      await sealed.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(`preflight history on ${server().flavour}`, () => {
  it('holds none of the tokens these runs used: every run is scanned, raw and decoded', async () => {
    const scan = await expectNoSecretsInHistory(bed.env.client, { all: true });
    expect(scan.runs).toBeGreaterThanOrEqual(5);
  });
});
