// `vaultops dr failover` without --config: the running dev stack's state file names the DR pair's
// addresses, so the CLI looks at the standby there; where nothing names the standby it says so
// plainly (the snapshot path), without an error in the words. The standby is the Enterprise DR
// stand-in on 127.0.0.1, and the state file names this test process as the running stack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failoverPathFor } from '../../client/commands/dr/replication.js';
import { clearStackState, writeStackState } from '../../common/dev-state.js';
import { type EnterpriseDrStandIn, startEnterpriseDrStandIn } from '../harness/enterprise-dr-stand-in.js';

let dir: string;
let stand: EnterpriseDrStandIn;
const saved = { config: process.env.VAULTOPS_CONFIG, temporal: process.env.TEMPORAL_ADDRESS };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vaultops-dr-dev-stack-'));
  stand = await startEnterpriseDrStandIn();
  delete process.env.VAULTOPS_CONFIG;
  delete process.env.TEMPORAL_ADDRESS;
});
afterEach(() => clearStackState(dir));
afterAll(async () => {
  await stand?.close();
  rmSync(dir, { recursive: true, force: true });
  if (saved.config !== undefined) process.env.VAULTOPS_CONFIG = saved.config;
  if (saved.temporal !== undefined) process.env.TEMPORAL_ADDRESS = saved.temporal;
});

function runningStack(clusters?: Record<string, string>) {
  writeStackState(dir, {
    pid: process.pid,
    temporalAddress: '127.0.0.1:7233',
    temporalNamespace: 'default',
    taskQueue: 'vaultops',
    uiUrl: 'http://127.0.0.1:8233',
    vaultAddress: 'http://127.0.0.1:8200',
    vaultFlavour: 'openbao',
    ...(clusters ? { clusters } : {}),
  });
}

const opts = { from: 'dr-primary', to: 'dr-standby' };

describe('dr failover under vaultops dev --dr (no --config)', () => {
  it("looks at the standby at the dev stack's address for it", async () => {
    runningStack({ 'dr-primary': stand.primary.address, 'dr-standby': stand.secondary.address });
    stand.secondary.state.mode = 'secondary';
    expect(await failoverPathFor(opts, dir)).toEqual({
      path: 'replication',
      why: 'the standby reports Vault Enterprise DR replication mode secondary',
    });
    stand.secondary.state.mode = 'disabled';
    expect(await failoverPathFor(opts, dir)).toEqual({
      path: 'snapshot',
      why: 'the standby reports DR replication mode disabled, not secondary',
    });
  });

  it('says plainly that nothing names the standby, where neither a configuration nor a dev stack does', async () => {
    const plain = {
      path: 'snapshot',
      why: 'no configuration names dr-standby: no --config or $VAULTOPS_CONFIG is given and no running `vaultops dev --dr` this CLI talks to has it, so there is no DR secondary to look at; --replication forces the DR-replication path',
    };
    expect(await failoverPathFor(opts, dir)).toEqual(plain); // no dev stack running
    runningStack(); // a dev stack without --dr
    expect(await failoverPathFor(opts, dir)).toEqual(plain);
    runningStack({ 'dr-primary': stand.primary.address });
    expect(await failoverPathFor(opts, dir)).toEqual(plain);
    expect(plain.why).not.toMatch(/could not|error|unknown/);
  });
});
