// The pure and local parts of the DR-replication failover: which path the CLI chooses and why;
// what preflight says of an Enterprise cluster's DR role (from sys/health, no extra request); where
// the DR operation token is read from on the worker, and that a missing one fails clearly without
// the token ever appearing in a message; and the DR status parser over the stand-in's answers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drOperationTokenSource, readDrOperationToken } from '../../activities/dr/dr-operation-token.js';
import { chooseFailoverPath, type DrReplicationStatus } from '../../common/dr/replication.js';
import { assemblePreflightReport, type PreflightObservations } from '../../common/preflight/report.js';
import { VaultClient } from '../../vault/client.js';
import { readDrStatus } from '../../vault/replication.js';
import { startEnterpriseDrStandIn } from '../harness/enterprise-dr-stand-in.js';
import { health, leader, mount, namespaces, seal } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-dr-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const status = (mode: DrReplicationStatus['mode'], rawMode: string = mode): DrReplicationStatus => ({
  mode,
  rawMode,
  state: null,
  clusterId: null,
  knownSecondaries: [],
  primaries: [],
  primaryClusterAddr: null,
});

describe('chooseFailoverPath', () => {
  it('promotes a standby that reports DR mode secondary, and restores a snapshot otherwise', () => {
    expect(chooseFailoverPath(undefined, { status: status('secondary') }).path).toBe('replication');
    expect(chooseFailoverPath(undefined, { status: status('disabled') })).toEqual({
      path: 'snapshot',
      why: 'the standby reports DR replication mode disabled, not secondary',
    });
    expect(chooseFailoverPath(undefined, { status: status('primary', 'dr-primary') }).why).toMatch(
      /mode dr-primary/,
    );
    expect(chooseFailoverPath(undefined, { error: 'enterprise-only feature' })).toMatchObject({
      path: 'snapshot',
      why: expect.stringMatching(/could not be read \(enterprise-only feature\).*--replication forces/),
    });
  });

  it("the operator's flag wins over what the standby says", () => {
    expect(chooseFailoverPath(true, { error: 'unreachable' })).toEqual({
      path: 'replication',
      why: '--replication given',
    });
    expect(chooseFailoverPath(false, { status: status('secondary') }).path).toBe('snapshot');
  });
});

const observations = (over: Partial<PreflightObservations> = {}): PreflightObservations => ({
  address: 'https://vault.test:8200',
  namespace: null,
  health: health(),
  seal: seal({ commitDate: null, buildDate: '2025-10-01T00:00:00Z' }),
  leader: leader(),
  secretsEngines: [mount('secret/', 'kv', 'v0.24.0+builtin')],
  authMethods: [mount('token/', 'token', 'v1.21.0+builtin.vault')],
  namespaces: namespaces(),
  ...over,
});

describe('preflight: Enterprise DR replication', () => {
  it('reports the DR role of an Enterprise cluster; a DR secondary is not ready and says why', () => {
    const ent = (mode: string) =>
      assemblePreflightReport(
        observations({
          health: health({ version: '1.19.0+ent', enterpriseField: true, replicationDrMode: mode }),
        }),
        '2026-01-01T00:00:00Z',
      );
    expect(ent('primary')).toMatchObject({ edition: 'enterprise', drReplication: 'primary', ready: true });
    const secondary = ent('secondary');
    expect(secondary).toMatchObject({ drReplication: 'secondary', ready: false });
    expect(secondary.warnings).toContain(
      'this cluster is a Vault Enterprise DR secondary: it serves no requests until promoted (`vaultops dr failover` promotes it)',
    );
    expect(ent('disabled').drReplication).toBeNull();
  });

  it('says nothing of DR replication on a community server', () => {
    const report = assemblePreflightReport(
      observations({ health: health({ version: '1.21.0', replicationDrMode: 'disabled' }) }),
      '2026-01-01T00:00:00Z',
    );
    expect(report.edition).toBe('community');
    expect(report.drReplication).toBeNull();
  });
});

describe('the DR operation token on the worker', () => {
  const token = 'hvb.AAAAAQJ-test-dr-operation-token-value';

  it('is read from the named file, else the file in the env, else the env; the source is named, never the token', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${token}\n`);
    expect(await readDrOperationToken(file, {})).toBe(token);
    expect(await readDrOperationToken(undefined, { VAULTOPS_DR_OPERATION_TOKEN_FILE: file })).toBe(token);
    expect(await readDrOperationToken(undefined, { VAULTOPS_DR_OPERATION_TOKEN: token })).toBe(token);
    expect(drOperationTokenSource(file, {})).toBe(`file ${file}`);
    expect(drOperationTokenSource(undefined, { VAULTOPS_DR_OPERATION_TOKEN: token })).toBe(
      '$VAULTOPS_DR_OPERATION_TOKEN on the worker',
    );
  });

  it('a missing or empty source fails as DrNoOperationToken, saying what to do', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    for (const [file, env, why] of [
      [join(dir, 'absent'), {}, /cannot be read \(ENOENT\)/],
      [empty, {}, /is empty/],
      [undefined, {}, /no file was named and \$VAULTOPS_DR_OPERATION_TOKEN is not set/],
    ] as const) {
      const err = await readDrOperationToken(file, env).catch((e: unknown) => e as Error & { type?: string });
      expect(err).toMatchObject({ type: 'DrNoOperationToken', message: expect.stringMatching(why) });
      expect((err as Error).message).toMatch(/--dr-operation-token-file/);
    }
  });
});

describe('readDrStatus against the stand-in', () => {
  it('parses both roles, with no token sent', async () => {
    const stand = await startEnterpriseDrStandIn();
    const at = (address: string) => new VaultClient({ address, timeoutMs: 2000 });
    const [p, s] = [at(stand.primary.address), at(stand.secondary.address)];
    try {
      expect(await readDrStatus(p)).toMatchObject({
        mode: 'primary',
        state: 'running',
        knownSecondaries: ['secondary'],
      });
      expect(await readDrStatus(s)).toMatchObject({
        mode: 'secondary',
        state: 'stream-wals',
        primaries: [{ apiAddress: stand.primary.address, connectionStatus: 'connected' }],
      });
      expect(stand.requests.every((r) => !r.vaultToken)).toBe(true);
    } finally {
      await Promise.all([p.close(), s.close(), stand.close()]);
    }
  });
});
