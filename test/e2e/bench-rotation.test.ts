// `npm run bench:rotation` at a tiny size, as a user runs it: it brings up its own stack (OpenBao,
// Temporal dev server and worker, PostgreSQL), rotates by workflow and by direct calls, and prints
// a table whose rows say both paths completed, with the same Vault calls per rotation.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const run = promisify(execFile);
const ROW =
  /^(KV|PostgreSQL)\s+(direct|workflow)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+|NaN)\s+(baseline|[\d.]+x time, ([\d.]+)x calls, [\d.]+x cpu)$/gm;

it('the rotation benchmark runs both paths for KV and PostgreSQL and prints its table', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_DIR, 'bench/rotation.ts')], {
    cwd: REPO_DIR,
    env: { ...process.env, BENCH_ROTATIONS: '3', BENCH_PG_ROTATIONS: '2' },
    timeout: 110_000,
  });
  const rows = [...stdout.matchAll(ROW)].map((m) => ({
    target: m[1],
    path: m[2],
    n: Number(m[3]),
    allDoneMs: Number(m[4]),
    perSecond: Number(m[5]),
    callsPerRotation: Number(m[8]),
    cpuPerRotation: Number(m[9]),
    callsRatio: m[12] === undefined ? undefined : Number(m[12]),
  }));
  expect(
    rows.map((r) => `${r.target} ${r.path} ${r.n}`),
    stdout,
  ).toEqual(['KV direct 3', 'KV workflow 3', 'PostgreSQL direct 2', 'PostgreSQL workflow 2']);
  for (const r of rows) {
    expect(r.allDoneMs).toBeGreaterThan(0);
    expect(r.perSecond).toBeGreaterThan(0);
    // Lock, pending, set, test, promote, sessions, retire, unlock: each reads before it writes.
    expect(r.callsPerRotation).toBeGreaterThanOrEqual(8);
    expect(r.cpuPerRotation).toBeGreaterThan(0);
  }
  // A workflow does the protocol's Vault calls, no fewer (more only if an activity was retried).
  for (const r of rows.filter((row) => row.path === 'workflow'))
    expect(r.callsRatio).toBeGreaterThanOrEqual(1);
}, 120_000);
