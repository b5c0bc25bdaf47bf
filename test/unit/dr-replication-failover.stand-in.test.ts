// DR failover through Vault Enterprise DR replication with the REAL activities and the real CLI
// function, against the HTTP STAND-IN for an Enterprise DR pair (test/harness/enterprise-dr-stand-in.ts:
// no Enterprise server can run here), on the time-skipping Temporal server. It lives in test/unit
// because the stand-in is the server: nothing here runs per OpenBao/Vault flavour.
//
// Proven: `vaultops dr failover` chooses the DR-replication path from the standby's own status
// (and the snapshot path where the standby is no DR secondary), and says which; the requests reach
// the clusters in the runbook's order (demote on the old primary, promote on the standby, the
// current-primary record, a secondary activation token made on the new primary, update-primary on
// the old); the DR operation token goes only to promote and update-primary, in the body, with no
// Vault token header; a wrong DR operation token is refused with nothing switched; an unreachable
// old primary is watched and demoted when it answers again. No token appears in any history.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterClients } from '../../activities/clusters.js';
import { directoryStore } from '../../activities/dr/directory-store.js';
import { drFailoverCommand } from '../../client/commands/dr/failover.js';
import { failoverPathFor } from '../../client/commands/dr/replication.js';
import { UsageError } from '../../client/commands/usage-error.js';
import { VaultClient } from '../../vault/client.js';
import { bundleVaultopsWorkflows, createVaultopsWorker } from '../../workers/worker.js';
import type { DrReplicationFailoverReport } from '../../workflows/dr/replication-failover.js';
import { workflowStatusQuery } from '../../workflows/lib/status.js';
import {
  type EnterpriseDrStandIn,
  requestLine,
  startEnterpriseDrStandIn,
} from '../harness/enterprise-dr-stand-in.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { createTimeSkippingEnv } from '../harness/temporal.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
const dir = mkdtempSync(join(tmpdir(), 'vaultops-dr-replication-'));
const ran: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleVaultopsWorkflows()]);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const client = (address: string, token: string) => {
  const c = new VaultClient({
    address,
    timeoutMs: 2000,
    retry: { maxRetries: 1, waitMinMs: 50, waitMaxMs: 100 },
  });
  c.tokens.set(token);
  return c;
};

let run = 0;

/** A stand-in pair, a worker with the real activities over it, and the CLI's config file. */
async function pair(o: { drTokenInFile?: string } = {}) {
  const n = ++run;
  const stand: EnterpriseDrStandIn = await startEnterpriseDrStandIn();
  rememberSecret(stand.rootToken, 'stand-in root token');
  rememberSecret(stand.drOperationToken, 'DR operation batch token');
  const tokenFile = join(dir, `dr-op-token-${n}`);
  writeFileSync(tokenFile, `${o.drTokenInFile ?? stand.drOperationToken}\n`, { mode: 0o600 });
  if (o.drTokenInFile) rememberSecret(o.drTokenInFile, 'a wrong DR operation token');
  // The standby's own configured token: a promoted DR secondary honours the primary's instead.
  const standbyOwn = `hvs.standby-own-${n}-token`;
  const vaults = {
    primary: client(stand.primary.address, stand.rootToken),
    standby: client(stand.secondary.address, standbyOwn),
  };
  const taskQueue = `dr-replication-stand-in-${n}`;
  const worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: bundle,
    deps: {
      vault: vaults.primary,
      clusters: clusterClients(vaults),
      snapshotStore: directoryStore(join(dir, `store-${n}`)),
    },
  });
  const running = worker.run();
  const config = join(dir, `vaultops-${n}.yaml`);
  writeFileSync(
    config,
    [
      'vault_integration:',
      `  address: "${stand.primary.address}"`,
      'vault_clusters:',
      '  primary:',
      `    address: "${stand.primary.address}"`,
      '    authentication: { method: "approle", role_id: "r", secret_id: "${NOT_SET_ON_THE_CLI}" }',
      '  standby:',
      `    address: "${stand.secondary.address}"`,
      'temporal:',
      `  address: "${env.address}"`,
      `  namespace: "${env.namespace ?? 'default'}"`,
      `  task_queue: "${taskQueue}"`,
      '',
    ].join('\n'),
  );
  cleanups.push(async () => {
    worker.shutdown();
    await running;
    await Promise.all(Object.values(vaults).map((v) => v.close()));
    await stand.close();
  });
  return { stand, tokenFile, config };
}

/** The calls that change something, in order (reads of health and status left out). */
const changes = (stand: EnterpriseDrStandIn) =>
  stand.requests.filter((r) => r.method !== 'GET').map(requestLine);

async function resultOf(workflowId: string) {
  ran.push(workflowId);
  const handle = env.client.workflow.getHandle(workflowId);
  return handle.result().then(
    (report) => ({ report: report as DrReplicationFailoverReport, failure: undefined }),
    (err: unknown) => {
      expect(err).toBeInstanceOf(WorkflowFailedError);
      let cause = (err as WorkflowFailedError).cause as (Error & { type?: string }) | undefined;
      while (cause?.cause instanceof Error) cause = cause.cause as typeof cause;
      return { report: undefined, failure: { type: cause?.type, message: cause?.message ?? '' } };
    },
  );
}

describe('DR-replication failover against the Enterprise DR stand-in', () => {
  it('the CLI picks the DR-replication path, and the requests go out in order with the token only where needed', async () => {
    const { stand, tokenFile, config } = await pair();
    const lines: string[] = [];
    const workflowId = await drFailoverCommand(
      {
        config,
        from: 'primary',
        to: 'standby',
        force: true,
        autoApprove: true,
        drOperationTokenFile: tokenFile,
      },
      (l) => lines.push(l),
    );
    expect(lines[0]).toBe(
      'Failover path: DR replication promotion (the standby reports Vault Enterprise DR replication mode secondary)',
    );
    const { report, failure } = await resultOf(workflowId);
    expect(failure).toBeUndefined();
    expect(report).toMatchObject({
      outcome: 'failed-over',
      path: 'replication',
      fencing: [{ address: stand.primary.address, outcome: 'demoted' }],
      fenceWatch: [],
      promotion: { cluster: 'standby', alreadyPrimary: false, tokenSource: `file ${tokenFile}` },
      verification: { mode: 'primary', activeNode: stand.secondary.address },
      switch: { kv: 'secret/vaultops/dr/current-primary' },
      repoint: { outcome: 'repointed', primaryApiAddr: stand.secondary.address },
    });
    const id = report?.repoint?.outcome === 'repointed' ? report.repoint.secondaryId : '';
    expect(changes(stand)).toEqual([
      'primary POST /v1/sys/replication/dr/primary/demote 204',
      'secondary POST /v1/sys/replication/dr/secondary/promote 200',
      'secondary POST /v1/secret/data/vaultops/dr/current-primary 200',
      'secondary POST /v1/sys/replication/dr/primary/secondary-token 200',
      'primary POST /v1/sys/replication/dr/secondary/update-primary 204',
    ]);
    // The DR operation token: in the body of promote and update-primary, and nowhere else.
    const withDrToken = stand.requests.filter((r) => r.drOperationToken).map(requestLine);
    expect(withDrToken).toEqual([
      'secondary POST /v1/sys/replication/dr/secondary/promote 200',
      'primary POST /v1/sys/replication/dr/secondary/update-primary 204',
    ]);
    for (const r of stand.requests.filter((x) => x.drOperationToken)) expect(r.vaultToken).toBe(false);
    for (const r of stand.requests.filter((x) => x.path.endsWith('/dr/status')))
      expect(r.vaultToken).toBe(false);
    expect(stand.requests.find((r) => r.path.endsWith('/update-primary'))?.bodyKeys).toEqual([
      'dr_operation_token',
      'primary_api_addr',
      'token',
    ]);
    // The pair as it ends: roles swapped, the old primary following the new one.
    expect(stand.primary.state).toMatchObject({ mode: 'secondary', primaryApiAddr: stand.secondary.address });
    expect(stand.secondary.state).toMatchObject({ mode: 'primary', knownSecondaries: [id] });
    for (const t of stand.issuedActivationTokens) rememberSecret(t, 'secondary activation token');
    expect(stand.issuedActivationTokens).toHaveLength(1);
    const scan = await expectNoSecretsInHistory(env.client, { workflowIds: [workflowId] });
    expect(scan.events).toBeGreaterThan(10);
  });

  it('a wrong DR operation token: the promotion is refused, nothing is switched, the standby stays a secondary', async () => {
    const { stand, tokenFile, config } = await pair({ drTokenInFile: 'hvb.not-the-dr-operation-token' });
    const lines: string[] = [];
    const workflowId = await drFailoverCommand(
      {
        config,
        from: 'primary',
        to: 'standby',
        force: true,
        autoApprove: true,
        replication: true,
        drOperationTokenFile: tokenFile,
      },
      (l) => lines.push(l),
    );
    expect(lines[0]).toBe('Failover path: DR replication promotion (--replication given)');
    const { failure } = await resultOf(workflowId);
    expect(failure?.type).toBe('DrFailoverStopped');
    expect(failure?.message).toMatch(/standby refused the promotion \(.*invalid DR operation token/);
    expect(failure?.message).toMatch(/primary stays a DR secondary \(never promoted back automatically\)/);
    expect(changes(stand)).toEqual([
      'primary POST /v1/sys/replication/dr/primary/demote 204',
      'secondary POST /v1/sys/replication/dr/secondary/promote 400',
    ]);
    expect(stand.secondary.state.mode).toBe('secondary');
    const steps = (await env.client.workflow.getHandle(workflowId).query(workflowStatusQuery)).steps;
    expect(steps.filter((s) => s.state === 'pending').map((s) => s.name)).toEqual([
      'verify',
      'switch',
      'repoint',
    ]);
    await expectNoSecretsInHistory(env.client, { workflowIds: [workflowId] });
  });

  it('an unreachable old primary is detected down, watched, demoted when it answers, then repointed', async () => {
    const { stand, tokenFile, config } = await pair();
    await stand.primary.stop();
    const workflowId = await drFailoverCommand(
      {
        config,
        from: 'primary',
        to: 'standby',
        autoApprove: true,
        probeEvery: '1s',
        probeTimeout: '1s',
        fenceWatch: '5m',
        drOperationTokenFile: tokenFile,
      },
      () => undefined,
    );
    const handle = env.client.workflow.getHandle(workflowId);
    for (let i = 0; i < 400; i++) {
      const s = (await handle.query(workflowStatusQuery)).steps.find((x) => x.name === 'switch');
      if (s?.state === 'done') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stand.secondary.state.mode).toBe('primary');
    // The partition heals: the old primary answers again, still believing itself the DR primary.
    expect(stand.primary.state.mode).toBe('primary');
    await stand.primary.start();
    const { report, failure } = await resultOf(workflowId);
    expect(failure).toBeUndefined();
    expect(report).toMatchObject({
      outcome: 'failed-over',
      detection: { forced: false, decision: 'down' },
      fencing: [{ address: stand.primary.address, outcome: 'unreachable' }],
      fenceWatch: [{ address: stand.primary.address, outcome: 'demoted', detail: 'when it answered again' }],
      repoint: { outcome: 'repointed' },
    });
    expect(changes(stand)).toEqual([
      'secondary POST /v1/sys/replication/dr/secondary/promote 200',
      'secondary POST /v1/secret/data/vaultops/dr/current-primary 200',
      'primary POST /v1/sys/replication/dr/primary/demote 204',
      'secondary POST /v1/sys/replication/dr/primary/secondary-token 200',
      'primary POST /v1/sys/replication/dr/secondary/update-primary 204',
    ]);
    expect(stand.primary.state).toMatchObject({ mode: 'secondary', primaryApiAddr: stand.secondary.address });
    for (const t of stand.issuedActivationTokens) rememberSecret(t, 'secondary activation token');
    await expectNoSecretsInHistory(env.client, { workflowIds: [workflowId] });
  });

  it('the CLI keeps the snapshot path where the standby is no DR secondary or cannot be read, and says why', async () => {
    const { stand, config } = await pair();
    stand.secondary.state.mode = 'disabled';
    const base = { config, from: 'primary', to: 'standby' };
    expect(await failoverPathFor(base)).toEqual({
      path: 'snapshot',
      why: 'the standby reports DR replication mode disabled, not secondary',
    });
    expect(await failoverPathFor({ ...base, to: 'nowhere' })).toMatchObject({
      path: 'snapshot',
      why: expect.stringMatching(
        /"nowhere" is not a cluster in .*--replication forces the DR-replication path/,
      ),
    });
    await stand.secondary.stop();
    expect((await failoverPathFor(base)).why).toMatch(/could not be read \(.*(refused|ECONNREFUSED)/i);
    expect(await failoverPathFor({ ...base, replication: false })).toEqual({
      path: 'snapshot',
      why: '--no-replication given',
    });
    await expect(failoverPathFor({ ...base, drOperationTokenFile: '/run/dr-token' })).rejects.toThrow(
      UsageError,
    );
  });
});
