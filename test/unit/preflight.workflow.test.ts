// The preflight workflow in Temporal's time-skipping environment, its activities replaced by
// stand-ins that play back what a real server answers (real answers are the integration suite's).

import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { PreflightActivities } from '../../activities/preflight/observations.js';
import { VaultErrorType } from '../../vault/errors.js';
import { preflightWorkflow } from '../../workflows/preflight/preflight.js';
import { expectNoSecretsInHistory, rememberSecret } from '../harness/history-scan.js';
import { PREFLIGHT_STEPS } from '../harness/temporal.js';
import { useWorkflowBed } from '../harness/workflow-bed.js';
import { keepHistory } from '../histories/keep.js';
import { health, leader, mount, namespaces, seal } from './fixtures.js';

const bed = useWorkflowBed({ prefix: 'preflight' });

function healthyCluster(): PreflightActivities & { calls: string[] } {
  const calls: string[] = [];
  const track =
    <T>(name: string, value: T) =>
    async () => {
      calls.push(name);
      return value;
    };
  return {
    calls,
    describeTarget: track('describeTarget', { address: 'https://vault.test:8200', namespace: null }),
    readHealth: track('readHealth', health()),
    readSealStatus: track('readSealStatus', seal()),
    readLeader: track('readLeader', leader()),
    listSecretsEngines: track('listSecretsEngines', [mount('secret/', 'kv'), mount('pki/', 'pki')]),
    listAuthMethods: track('listAuthMethods', [mount('token/', 'token'), mount('approle/', 'approle')]),
    probeNamespaces: track('probeNamespaces', namespaces({ children: ['tenant-a/'] })),
    readPluginCatalog: track('readPluginCatalog', {
      auth: ['approle', 'jwt'],
      database: ['postgresql-database-plugin'],
      secret: ['kv', 'pki'],
    }),
  };
}

/** Runs preflight with the stand-ins; `keep` keeps its history under that name (test/histories). */
const runPreflight = (activities: Partial<PreflightActivities>, keep?: string) =>
  bed.start(preflightWorkflow, [{}], activities, async (handle) => {
    const report = await handle.result();
    if (keep) await keepHistory(keep, handle);
    return report;
  });

describe('preflightWorkflow', () => {
  it('inspects a healthy cluster step by step and assembles the report', async () => {
    const cluster = healthyCluster();
    const report = await runPreflight(cluster, 'preflight-healthy');
    expect(cluster.calls).toEqual(PREFLIGHT_STEPS);
    expect(report.plugins?.auth).toEqual(['approle', 'jwt']);
    expect(report.flavour).toBe('openbao');
    expect(report.ready).toBe(true);
    expect(report.leader?.leaderAddress).toBe('https://10.0.0.1:8200');
    expect(report.secretsEngines?.map((m) => m.path)).toEqual(['secret/', 'pki/']);
    expect(report.namespaces).toMatchObject({ supported: true, children: ['tenant-a/'] });
    expect(report.warnings).toEqual([]);
  });

  it('stops after health and seal status on a sealed cluster and says it is not ready', async () => {
    const cluster = healthyCluster();
    cluster.readHealth = async () => health({ sealed: true });
    cluster.readSealStatus = async () => seal({ sealed: true, threshold: 3, shares: 5, progress: 1 });
    const report = await runPreflight(cluster);
    expect(cluster.calls).toEqual(['describeTarget']);
    expect(report.ready).toBe(false);
    expect(report.secretsEngines).toBeNull();
    expect(report.warnings.join('\n')).toContain('sealed (1/3 unseal keys given)');
  });

  it('retries a Vault that is unavailable and completes once it answers', async () => {
    const cluster = healthyCluster();
    let attempts = 0;
    cluster.readHealth = async () => {
      attempts += 1;
      if (attempts < 3) {
        throw ApplicationFailure.create({ type: VaultErrorType.Unavailable, message: 'connection refused' });
      }
      return health();
    };
    const report = await runPreflight(cluster);
    expect(attempts).toBe(3);
    expect(report.ready).toBe(true);
  });

  it('fails at once, without retrying, when the token is denied', async () => {
    const cluster = healthyCluster();
    let attempts = 0;
    cluster.readHealth = async () => {
      attempts += 1;
      throw ApplicationFailure.create({
        type: VaultErrorType.PermissionDenied,
        message: 'GET sys/health: permission denied',
        nonRetryable: true,
      });
    };
    const failure = await runPreflight(cluster).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(VaultErrorType.PermissionDenied);
    expect(attempts).toBe(1);
  });

  it('reports what it could not see when listing mounts is denied', async () => {
    const cluster = healthyCluster();
    cluster.listSecretsEngines = async () => null;
    cluster.listAuthMethods = async () => null;
    const report = await runPreflight(cluster);
    expect(report.ready).toBe(true);
    expect(report.warnings).toContain('could not list secrets engines: the token lacks read on sys/mounts');
    expect(report.warnings).toContain('could not list auth methods: the token lacks read on sys/auth');
  });
});

describe('preflightWorkflow history', () => {
  it('holds no token: every run of this file is scanned, raw and decoded', async () => {
    // A stand-in Vault has no real token; this one stands for it, as the real one does in the
    // integration suite: the workflow never sees it, so no run may carry it.
    rememberSecret('hvs.unit-preflight-stand-in-root-token', 'stand-in root token');
    const scan = await expectNoSecretsInHistory(bed.env.client, { all: true });
    expect(scan.runs).toBeGreaterThanOrEqual(5);
  });
});
