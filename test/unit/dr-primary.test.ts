// Which cluster is primary for a user's next command: the configuration alone until a failover
// writes the current-primary record, then the record's cluster at the addresses the configuration
// gives it (else those the worker recorded). The configuration's entries themselves are not
// rewritten. `vaultops dr primary` prints it, and `--env` the VAULT_ADDR to export.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { currentPrimaryFile, drPrimaryCommand } from '../../client/commands/dr/primary.js';
import { loadClusterAddresses } from '../../common/config/file.js';
import type { CurrentPrimaryRecord } from '../../common/dr/failover.js';
import { parseCurrentPrimaryRecord, resolvePrimary } from '../../common/dr/primary.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-dr-primary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const configFile = join(dir, 'vaultops.yaml');
// Credentials from variables this shell has not set: knowing where the clusters are must not need them.
writeFileSync(
  configFile,
  `vault_integration:
  address: https://vault-a-1.example:8200
  ha_addresses: [https://vault-a-2.example:8200]
  authentication: { method: approle, role_id: "\${ROLE_ID}", secret_id: "\${SECRET_ID}" }
vault_clusters:
  dr-standby:
    address: https://vault-b-1.example:8200
    ha_addresses: [https://vault-b-2.example:8200, https://vault-b-3.example:8200]
    authentication: { method: token, token: "\${STANDBY_TOKEN}" }
`,
);

const record = (over: Partial<CurrentPrimaryRecord> = {}): CurrentPrimaryRecord => ({
  cluster: 'dr-standby',
  previous: 'default',
  since: '2026-11-23T03:00:00.000Z',
  snapshotId: 'default-20261123T025900Z',
  workflowId: 'dr-failover:default:dr-standby',
  addresses: ['http://127.0.0.1:18200'],
  ...over,
});

describe('current primary resolution', () => {
  const clusters = loadClusterAddresses(configFile, {});

  it('reads only the addresses, so unset credential variables do not stop it', () => {
    expect(clusters.vault_integration.address).toBe('https://vault-a-1.example:8200');
    expect(clusters.vault_clusters?.['dr-standby']?.ha_addresses).toHaveLength(2);
  });

  it('no record: the configured default cluster', () => {
    expect(resolvePrimary(clusters, null)).toMatchObject({
      cluster: 'default',
      addresses: ['https://vault-a-1.example:8200', 'https://vault-a-2.example:8200'],
      decidedBy: 'configuration',
    });
  });

  it("a record: its cluster, at the configuration's addresses for that name", () => {
    expect(resolvePrimary(clusters, record())).toMatchObject({
      cluster: 'dr-standby',
      addresses: [
        'https://vault-b-1.example:8200',
        'https://vault-b-2.example:8200',
        'https://vault-b-3.example:8200',
      ],
      decidedBy: 'record',
      addressesFrom: 'configuration',
    });
    // A failback's record points back.
    expect(
      resolvePrimary(clusters, record({ cluster: 'default', previous: 'dr-standby' })).addresses[0],
    ).toBe('https://vault-a-1.example:8200');
  });

  it('a record naming a cluster this configuration lacks: the addresses the worker recorded', () => {
    expect(resolvePrimary(clusters, record({ cluster: 'elsewhere' }))).toMatchObject({
      cluster: 'elsewhere',
      addresses: ['http://127.0.0.1:18200'],
      addressesFrom: 'record',
    });
  });

  it('a record that is not one is refused, naming the file', () => {
    expect(() => parseCurrentPrimaryRecord('{"cluster":3}', '/x/current-primary.json')).toThrow(
      /\/x\/current-primary.json is not a current-primary record \(cluster:/,
    );
    expect(() => parseCurrentPrimaryRecord('nope', '/x/current-primary.json')).toThrow(/is not JSON/);
  });
});

describe('vaultops dr primary', () => {
  it('prints the default cluster, then the new primary once a record is written; --env is VAULT_ADDR', async () => {
    const snapshots = join(dir, 'snapshots');
    const lines: string[] = [];
    const before = await drPrimaryCommand({ config: configFile, dir: snapshots }, (l) => lines.push(l));
    expect(before.cluster).toBe('default');
    expect(lines[0]).toMatch(/^Primary +default \(the configured default cluster; no failover recorded\)/);

    await import('node:fs/promises').then((fs) =>
      fs
        .mkdir(snapshots, { recursive: true })
        .then(() => fs.writeFile(currentPrimaryFile(snapshots), JSON.stringify(record()))),
    );
    lines.length = 0;
    await drPrimaryCommand({ config: configFile, dir: snapshots }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^Primary +dr-standby since 2026-11-23T03:00:00.000Z \(default before it;/);
    expect(lines[1]).toBe(
      'Addresses  https://vault-b-1.example:8200, https://vault-b-2.example:8200, https://vault-b-3.example:8200',
    );
    lines.length = 0;
    await drPrimaryCommand({ config: configFile, dir: snapshots, env: true }, (l) => lines.push(l));
    expect(lines).toEqual(['export VAULT_ADDR=https://vault-b-1.example:8200']);
  });
});
