// `npm run bench:ca` at a tiny size, as a user runs it: it brings up its own stack (OpenBao,
// Temporal dev server and worker), issues EC and RSA leaves by Vault's issue call, by the
// workflow's activities without Temporal and by the certificate workflow, checks every one, and
// prints a table whose rows say all three paths completed with the Vault calls each one needs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const run = promisify(execFile);
const ROW =
  /^(ec-p256|rsa-2048)\s+(direct|direct-csr|workflow)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+|NaN)\s+(baseline|[\d.]+x time, [\d.]+x p95, ([\d.]+)x calls, [\d.]+x cpu)$/gm;

it('the leaf issuance benchmark runs all three paths for EC and RSA and prints its table', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_DIR, 'bench/ca.ts')], {
    cwd: REPO_DIR,
    env: { ...process.env, BENCH_CERTS: '4', BENCH_IN_FLIGHT: '2' },
    timeout: 80_000,
  });
  const rows = [...stdout.matchAll(ROW)].map((m) => ({
    key: m[1],
    path: m[2],
    n: Number(m[3]),
    allDoneMs: Number(m[4]),
    perSecond: Number(m[5]),
    p50: Number(m[6]),
    p95: Number(m[7]),
    p99: Number(m[8]),
    callsPerCert: Number(m[9]),
    cpuPerCert: Number(m[10]),
    callsRatio: m[13] === undefined ? undefined : Number(m[13]),
  }));
  expect(
    rows.map((r) => `${r.key} ${r.path} ${r.n}`),
    stdout,
  ).toEqual([
    'ec-p256 direct 4',
    'ec-p256 direct-csr 4',
    'ec-p256 workflow 4',
    'rsa-2048 direct 4',
    'rsa-2048 direct-csr 4',
    'rsa-2048 workflow 4',
  ]);
  for (const r of rows) {
    expect(r.allDoneMs).toBeGreaterThan(0);
    expect(r.perSecond).toBeGreaterThan(0);
    expect(r.p50).toBeGreaterThan(0);
    expect(r.p95).toBeGreaterThanOrEqual(r.p50);
    expect(r.p99).toBeGreaterThanOrEqual(r.p95);
    expect(r.cpuPerCert).toBeGreaterThan(0);
  }
  // The plain issue is one call; the workflow's activities read the role and the mount, sign,
  // and read then write the inventory entry: more calls, and the workflow no fewer than direct-csr.
  for (const r of rows.filter((row) => row.path === 'direct')) expect(r.callsPerCert).toBe(1);
  for (const key of ['ec-p256', 'rsa-2048']) {
    const csr = rows.find((r) => r.key === key && r.path === 'direct-csr');
    const workflow = rows.find((r) => r.key === key && r.path === 'workflow');
    expect(csr?.callsPerCert).toBeGreaterThanOrEqual(4);
    expect(workflow?.callsPerCert).toBeGreaterThanOrEqual(csr?.callsPerCert ?? Infinity);
    expect(workflow?.callsRatio).toBeGreaterThan(1);
  }
  // Each workflow ran the issue as an activity and the plan and the record as local activities
  // (inside its workflow tasks), read from its history.
  for (const key of ['ec-p256', 'rsa-2048'])
    expect(stdout).toMatch(
      new RegExp(`^# ${key} workflow, medians: \\d+ workflow tasks .*; 1 activities .*, 2 local;`, 'm'),
    );
  expect(stdout).toMatch(
    /^Seed target < 2 s per certificate, aim p95 < 200 ms; workflow p95: ec-p256 \d+ ms/m,
  );
  expect(stdout).toMatch(/^# Load average [\d. ]+ at start, [\d. ]+ at end \(\d+ cores\)\.$/m);
}, 90_000);
