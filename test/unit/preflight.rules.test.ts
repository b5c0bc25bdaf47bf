import { describe, expect, it } from 'vitest';
import {
  assemblePreflightReport,
  detectFlavour,
  type PreflightObservations,
} from '../../common/preflight/report.js';
import { health, leader, mount, namespaces, seal } from './fixtures.js';

const observations = (over: Partial<PreflightObservations> = {}): PreflightObservations => ({
  address: 'https://vault.test:8200',
  namespace: null,
  health: health(),
  seal: seal(),
  leader: leader(),
  secretsEngines: [mount('secret/', 'kv')],
  authMethods: [mount('token/', 'token')],
  namespaces: namespaces(),
  ...over,
});

describe('detectFlavour', () => {
  it('reads the builtin plugin version first', () => {
    const vault = observations({
      secretsEngines: [mount('secret/', 'kv', 'v0.24.0+builtin')],
      authMethods: [mount('token/', 'token', 'v1.21.0+builtin.vault')],
    });
    expect(detectFlavour(vault)).toEqual({
      flavour: 'vault',
      evidence: 'plugin version v1.21.0+builtin.vault',
    });
    expect(detectFlavour(observations()).flavour).toBe('openbao');
  });

  it('falls back to seal-status and health fields when mounts are unreadable (sealed)', () => {
    expect(detectFlavour(observations({ secretsEngines: null, authMethods: null })).flavour).toBe('openbao');
    const vaultSealed = observations({
      secretsEngines: null,
      authMethods: null,
      seal: seal({ commitDate: null, buildDate: '2025-10-01T00:00:00Z' }),
      health: health({ enterpriseField: false }),
    });
    expect(detectFlavour(vaultSealed)).toEqual({
      flavour: 'vault',
      evidence: 'health reports the "enterprise" field',
    });
  });
});

describe('assemblePreflightReport', () => {
  it('calls an enterprise build in the admin namespace HCP', () => {
    const report = assemblePreflightReport(
      observations({
        namespace: 'admin',
        health: health({ version: '1.21.0+ent', enterpriseField: true }),
        secretsEngines: [mount('secret/', 'kv', 'v1.21.0+builtin.vault')],
      }),
      '2026-01-01T00:00:00.000Z',
    );
    expect(report.flavour).toBe('vault');
    expect(report.edition).toBe('hcp');
  });

  it('warns about standbys, uninitialized clusters and in-memory storage', () => {
    const report = assemblePreflightReport(
      observations({
        health: health({ standby: true, initialized: false }),
        seal: seal({ storageType: 'inmem' }),
        leader: leader({ isSelf: false, leaderAddress: 'https://10.0.0.2:8200' }),
      }),
      '2026-01-01T00:00:00.000Z',
    );
    expect(report.ready).toBe(false);
    expect(report.warnings).toEqual([
      'cluster is not initialized: run `vault operator init` first',
      'this address is a standby; the leader is https://10.0.0.2:8200: writes are forwarded',
      'storage is in-memory (a -dev server): data is lost on restart; no raft snapshots or DR',
    ]);
  });
});

describe('namespaces on a server without them', () => {
  it('is not ready, because the server would act on the root namespace instead', () => {
    const report = assemblePreflightReport(
      observations({
        namespace: 'team-a',
        namespaces: {
          supported: false,
          children: [],
          evidence: 'LIST sys/namespaces: enterprise-only feature',
        },
      }),
      '2026-01-01T00:00:00.000Z',
    );
    expect(report.ready).toBe(false);
    expect(report.warnings[0]).toMatch(
      /^namespace "team-a" was asked for, but this server has no namespaces/,
    );
  });
});
