// How fast `vaultops` answers: wall time from spawn to exit of `--help`, `list` and `status <id>`
// (against a Temporal dev server started here), each beside `temporal --help`, a Go binary's start
// on the same machine in the same run. `--help` through tsx shows what the build saves.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { startTemporalDevServer } from '../client/stack/temporal-dev.js';
import { REPO_DIR, toolPath } from '../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');

/** Spawn to exit, in milliseconds; a failed run fails the benchmark with its output. */
function timeRun(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

interface StartupStats {
  median: number;
  p90: number;
}

async function measure(command: string, args: string[], env: NodeJS.ProcessEnv, runs: number) {
  await timeRun(command, args, env); // warm the page cache (and tsx's transform cache)
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeRun(command, args, env));
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? Number.NaN;
  return { median: at(0.5), p90: at(0.9) };
}

function print(name: string, s: StartupStats, baseline: StartupStats): void {
  const ratio = `(median ${(s.median / baseline.median).toFixed(1)}x temporal --help)`;
  process.stdout.write(
    `${name.padEnd(46)} median ${s.median.toFixed(0).padStart(5)} ms  p90 ${s.p90.toFixed(0).padStart(5)} ms  ${ratio}\n`,
  );
}

/** Which way bin/vaultops.js starts right now: the compiled CLI or the sources through tsx. */
function startPath(env: NodeJS.ProcessEnv): string {
  const probe = spawnSync(process.execPath, [CLI, '--help'], {
    env: { ...env, NODE_DEBUG: 'vaultops' },
    encoding: 'utf8',
  });
  return probe.stderr.match(/VAULTOPS \d+: (.*)/)?.[1] ?? 'unknown';
}

export async function benchCliStartup(options: { runs: number }): Promise<void> {
  // What `npm install` does, so the figures are those of the installed CLI.
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the CLI build failed:\n${build.stderr}`);

  const dir = mkdtempSync(join(tmpdir(), 'vaultops-bench-cli-'));
  const temporal = await startTemporalDevServer({ stateDir: dir, logDir: dir });
  try {
    const connection = await Connection.connect({ address: temporal.address });
    const workflowId = 'bench-cli-status';
    // Nobody polls this task queue: the workflow stays running, which is what `status` shows.
    await new Client({ connection, namespace: temporal.namespace }).workflow.start('preflightWorkflow', {
      taskQueue: 'bench-nobody-polls',
      workflowId,
      args: [{}],
    });
    await connection.close();

    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_|NODE_DEBUG)/.test(name),
      ),
    );
    const cliEnv = { ...env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace };
    const { runs } = options;
    const pathBefore = startPath(cliEnv);
    process.stdout.write(`CLI start-up, ${runs} runs each; bin/vaultops.js is ${pathBefore}\n`);
    const baseline = await measure(toolPath('temporal'), ['--help'], env, runs);
    print('temporal --help (baseline)', baseline, baseline);
    print('vaultops --help', await measure(process.execPath, [CLI, '--help'], cliEnv, runs), baseline);
    print(
      'vaultops --help through tsx (no build)',
      await measure(
        process.execPath,
        ['--import', 'tsx', join(REPO_DIR, 'client/cli.ts'), '--help'],
        cliEnv,
        runs,
      ),
      baseline,
    );
    print('vaultops list', await measure(process.execPath, [CLI, 'list'], cliEnv, runs), baseline);
    print(
      'vaultops status <id>',
      await measure(process.execPath, [CLI, 'status', workflowId], cliEnv, runs),
      baseline,
    );
    const pathAfter = startPath(cliEnv);
    if (pathAfter !== pathBefore) {
      process.stdout.write(`  (a source changed during the run: bin/vaultops.js is now ${pathAfter})\n`);
    }
  } finally {
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchCliStartup({ runs: Number(process.env.BENCH_STARTUP_RUNS ?? 15) });
}
