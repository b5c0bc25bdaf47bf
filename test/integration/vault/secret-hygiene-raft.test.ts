// A raft cluster's init answer (unseal key, root token) stays in memory: nothing under the
// cluster's directory holds it, and the directories and logs there are private.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RaftCluster, startRaftCluster } from '../../../client/stack/raft-cluster.js';
import { describeLeaks, filesUnder, scanForSecrets } from '../../harness/leak-scan.js';
import { server } from '../../harness/vault.js';

const dir = join(mkdtempSync(join(tmpdir(), 'vaultops-hygiene-raft-')), 'cluster');
let cluster: RaftCluster;

beforeAll(async () => {
  cluster = await startRaftCluster({ flavour: server().flavour, dir, size: 1 });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

describe(`raft cluster secrets on ${server().flavour}`, () => {
  it('writes neither the unseal key nor the root token to any file', () => {
    const leaks = scanForSecrets(
      { unsealKey: cluster.unsealKey, rootToken: cluster.rootToken },
      filesUnder(dir),
    );
    expect(leaks, describeLeaks(leaks)).toEqual([]);
  });

  it('keeps its directories 0700 and its logs 0600', () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'node-1')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'node-1', 'server.log')).mode & 0o777).toBe(0o600);
  });
});
