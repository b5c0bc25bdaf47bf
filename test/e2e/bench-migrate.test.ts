// `npm run bench:migrate` at a tiny size, as a user runs it: it brings up its own stack (OpenBao
// dev server, Temporal dev server and worker), seeds a namespace, copies it with the plain loop
// and migrates it with the workflow, and prints a table whose rows say both paths moved every
// version, with the Vault calls each needed.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const run = promisify(execFile);
const ROW =
  /^(plain|workflow)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(baseline|([\d.]+)x time, ([\d.]+)x calls)$/gm;

it('the migration benchmark runs the plain loop and the workflow and prints its table', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_DIR, 'bench/migrate.ts')], {
    cwd: REPO_DIR,
    env: { ...process.env, BENCH_MIGRATE_SECRETS: '20' },
    timeout: 80_000,
  });
  const rows = [...stdout.matchAll(ROW)].map((m) => ({
    path: m[1],
    secrets: Number(m[2]),
    versions: Number(m[3]),
    seconds: Number(m[4]),
    secretsPerSecond: Number(m[5]),
    callsPerSecret: Number(m[7]),
    callsRatio: m[10] === undefined ? undefined : Number(m[10]),
  }));
  expect(
    rows.map((r) => `${r.path} ${r.secrets} ${r.versions}`),
    stdout,
  ).toEqual(['plain 20 60', 'workflow 20 60']);
  for (const r of rows) {
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.secretsPerSecond).toBeGreaterThan(0);
  }
  // The plain loop: a metadata read and a read and a write per version, plus the LISTs.
  const [plain, workflow] = rows;
  expect(plain?.callsPerSecret).toBeGreaterThanOrEqual(7);
  // The workflow also checks the target, verifies each version and reads the plan and the delta.
  expect(workflow?.callsPerSecret).toBeGreaterThan(plain?.callsPerSecret ?? Infinity);
  expect(workflow?.callsRatio).toBeGreaterThan(1);
  expect(stdout).toMatch(
    /^workflow to a verified copy .*: [\d.]+ s; 60 versions written, 0 placeholders, digests equal$/m,
  );
  expect(stdout).toMatch(/^# Load average [\d. ]+ at start, [\d. ]+ at end \(\d+ cores\)\.$/m);
}, 90_000);
