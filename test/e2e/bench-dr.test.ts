// `npm run bench:dr` at a tiny size (200 secrets, 1 run), as a user runs it: it brings up its own
// DR pair, fresh standby, Temporal dev server and worker, fills the primary, saves snapshots the
// plain way and by the protect workflow, restores them the plain way and by drills (the first into
// a cold standby that seals itself and is unsealed by the bench as key holder), then SIGKILLs the
// primary and fails over with detection; it prints every table and the markdown summary.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const run = promisify(execFile);
const N = '(\\d+)';
const X = '([\\d.]+)';
const SAVE_ROW = new RegExp(
  `^(1|median)\\s+${X}\\s+${N}\\s+${X}\\s+${N}\\s+${X}\\s+${X}x\\s+${N}\\s+${N}\\s+(-?\\d+)$`,
  'gm',
);
const RESTORE_ROW = new RegExp(
  `^(1|median)\\s+${N}\\s+${X}\\s+${N}\\s+${N}\\s+${N}\\s+${X}\\s+${N}\\s+${N}\\s+${N}\\s+${X}x\\s+${N}/${N}$`,
  'gm',
);
const PHASES = ['detection', 'approval', 'fencing', 'restore', 'unseal', 'verification', 'switch'];

it('the DR benchmark saves, restores, drills and fails over on OpenBao and prints its figures', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_DIR, 'bench/dr.ts')], {
    cwd: REPO_DIR,
    env: { ...process.env, BENCH_DR_SECRETS: '200', BENCH_DR_RUNS: '1', BENCH_FLAVOUR: 'openbao' },
    timeout: 150_000,
  });
  expect(stdout).toMatch(
    /^# openbao: filled the primary with 200 KV v2 secrets \(16 in flight, 100 folders\)/m,
  );

  const saves = [...stdout.matchAll(SAVE_ROW)];
  expect(
    saves.map((m) => m[1]),
    stdout,
  ).toEqual(['1', 'median']);
  for (const m of saves) {
    const [mbytes, plainMs, protectMs, snapshotMs, fingerprintMs] = [2, 3, 5, 8, 9].map((i) => Number(m[i]));
    expect(mbytes).toBeGreaterThan(0);
    expect(plainMs).toBeGreaterThan(0);
    // The workflow's total holds its snapshot and fingerprint activities.
    expect(protectMs).toBeGreaterThanOrEqual((snapshotMs ?? 0) + (fingerprintMs ?? 0));
  }

  // The cold standby sealed itself after the first restore and took the key holder's share.
  const cold = stdout.match(/^cold drill: (\d+) ms .*shares sent during the drill (\d+), after it (\d+)$/m);
  expect(cold, stdout).not.toBeNull();
  expect(Number(cold?.[2]) + Number(cold?.[3])).toBeGreaterThanOrEqual(1);

  const restores = [...stdout.matchAll(RESTORE_ROW)];
  expect(
    restores.map((m) => m[1]),
    stdout,
  ).toEqual(['1', 'median']);
  for (const m of restores) {
    const [plainReady, drillMs, drillReady] = [4, 5, 8].map((i) => Number(m[i]));
    expect(plainReady).toBeGreaterThan(0);
    expect(drillMs).toBeGreaterThanOrEqual(drillReady ?? Infinity);
  }

  // Every RTO phase is reported; detection ran probes (the node was killed, not declared down).
  for (const phase of PHASES) expect(stdout).toMatch(new RegExp(`^${phase} +\\d+ ms$`, 'm'));
  expect(Number(stdout.match(/^detection +(\d+) ms$/m)?.[1])).toBeGreaterThan(0);
  expect(stdout).toMatch(/^RTO total +\d+ ms \(kill to result at the client \d+ ms\)$/m);
  expect(stdout).toMatch(/^RPO +\d+ ms /m);
  expect(stdout).toMatch(
    /^# detection: down: \d+ of \d+ rounds failed.*fencing: http:\/\/127\.0\.0\.1:\d+ unreachable; .*sealed after restore: true; key holder: [1-9]\d* share\(s\)/m,
  );

  // The markdown summary: a header, a separator and a row per figure, OpenBao's column filled.
  const table = stdout.slice(stdout.indexOf('| 200 secrets, 1 run(s) | OpenBao |'));
  const rows = table.trim().split('\n');
  expect(rows[1]).toBe('|---|---|');
  expect(rows.length).toBe(2 + 8 + PHASES.length + 2);
  for (const row of rows.slice(2)) expect(row).toMatch(/^\| .+ \| .*\d.* \|$/);
}, 160_000);
