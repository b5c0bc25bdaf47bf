// Several clusters by name, for real: the configuration names clusters that all point at the dev
// server but as different identities (the root token, a token that may not read sys/mounts) and,
// where the server has namespaces, in another namespace. The worker's connections log each in;
// preflight, run as the workflow with the real activities, answers for the cluster it is asked.
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients, UNKNOWN_CLUSTER } from '../../../activities/clusters.js';
import { createActivities } from '../../../activities/index.js';
import { parseConfig } from '../../../common/config/parse.js';
import type { VaultClient } from '../../../vault/client.js';
import {
  closeVaultClusters,
  connectVaultClusters,
  type VaultConnection,
} from '../../../workers/connections.js';
import { startWorkflowTestBed, type WorkflowTestBed } from '../../harness/temporal.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';

const root = rootClient();
const namespaces = server().flavour === 'openbao';
const tenant = unique('tenant');
let bed: WorkflowTestBed;
let connections: Map<string, VaultConnection>;
let activities: ReturnType<typeof createActivities>;

const configText = (withTenant: boolean) => `
vault_integration:
  address: "${server().address}"
  authentication:
    method: "token"
    token: "\${ROOT_TOKEN}"
vault_clusters:
  limited:
    address: "${server().address}"
    authentication:
      method: "token"
      token: "\${LIMITED_TOKEN}"
${
  withTenant
    ? `  tenant:
    address: "${server().address}"
    namespace: "${tenant}"
    authentication:
      method: "token"
      token: "\${ROOT_TOKEN}"
`
    : ''
}`;

beforeAll(async () => {
  bed = await startWorkflowTestBed();
  if (namespaces) {
    await root.write(`sys/namespaces/${tenant}`, {});
    await root.withNamespace(tenant).write('sys/mounts/app-kv', { type: 'kv', options: { version: '2' } });
  }
  const limited = await tokenWithPolicy(root, 'path "sys/leader" { capabilities = ["read"] }');
  const config = parseConfig(configText(true), {
    ROOT_TOKEN: server().rootToken,
    LIMITED_TOKEN: limited.token,
  });
  connections = await connectVaultClusters(config);
  const clients = new Map([...connections].map(([name, c]) => [name, c.vault]));
  activities = createActivities({
    vault: clients.get('default') as VaultClient,
    clusters: clusterClients(clients),
  });
});

afterAll(async () => {
  if (connections) await closeVaultClusters(connections);
  await bed?.teardown();
  await root.close();
});

describe(`several clusters on ${server().flavour}`, () => {
  it('logs every configured cluster in, each as its own identity', () => {
    expect([...connections.keys()]).toEqual(['default', 'limited', 'tenant']);
    expect(connections.get('default')?.login?.policies).toContain('root');
    expect(connections.get('limited')?.login?.policies).not.toContain('root');
  });

  it('runs preflight on the cluster it is asked for', async () => {
    const byDefault = await bed.runPreflight(activities, {});
    expect(byDefault.cluster).toBe('default');
    expect(byDefault.secretsEngines?.map((m) => m.path)).toContain('secret/');

    const limited = await bed.runPreflight(activities, { cluster: 'limited' });
    expect(limited.cluster).toBe('limited');
    expect(limited.address).toBe(server().address);
    expect(limited.ready).toBe(true);
    expect(limited.secretsEngines).toBeNull();
    expect(limited.warnings).toContain('could not list secrets engines: the token lacks read on sys/mounts');
    expect(JSON.stringify(limited)).not.toContain(server().rootToken);
  });

  it("inspects a named cluster in that cluster's namespace (or says the server has none)", async () => {
    const report = await bed.runPreflight(activities, { cluster: 'tenant' });
    expect(report.cluster).toBe('tenant');
    expect(report.namespace).toBe(tenant);
    if (namespaces) {
      expect(report.secretsEngines?.map((m) => m.path)).toContain('app-kv/');
      expect(report.secretsEngines?.map((m) => m.path)).not.toContain('secret/');
      return;
    }
    // Vault Community ignores X-Vault-Namespace: the cluster's preflight must not pass as ready.
    expect(report.ready).toBe(false);
    expect(report.warnings.join('\n')).toContain(
      `namespace "${tenant}" was asked for, but this server has no namespaces`,
    );
  });

  it('fails at once, naming the known clusters, when asked for a cluster that is not configured', async () => {
    const started = Date.now();
    const failure = await bed.runPreflight(activities, { cluster: 'dr-standby' }).catch((err) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as { type?: string; message?: string };
    expect(cause.type).toBe(UNKNOWN_CLUSTER);
    expect(cause.message).toContain('known clusters: default, limited, tenant.');
    expect(Date.now() - started).toBeLessThan(20_000); // not retried
  });

  it('fails the start with the name of a cluster that cannot log in, and closes the others', async () => {
    const config = parseConfig(configText(false), {
      ROOT_TOKEN: server().rootToken,
      LIMITED_TOKEN: 'hvs.not-a-token',
    });
    await expect(connectVaultClusters(config)).rejects.toThrow(
      new RegExp(
        `^Vault cluster "limited" \\(vault_clusters\\.limited, ${server().address}\\): could not log in: `,
      ),
    );
  });
});
