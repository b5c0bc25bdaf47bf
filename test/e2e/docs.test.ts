// The docs run as written: every walkthrough marked `<!-- run: name -->` in docs/ is extracted
// and run, block after block in one shell, against one `vaultops dev --dr` stack, from a reader's
// directory. A page that drifts from the tool fails here. The walkthroughs share the stack: each
// works on its own paths and mounts, and the DR failover, which kills the DR primary, runs last.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR, TOOLS_BIN } from '../../client/stack/tools.js';
import { readerDirectory, runWalkthrough, walkthroughsIn } from '../harness/doc-walkthroughs.js';
import { type Spawned, spawnCollecting } from '../harness/spawned.js';

/** In the order they run: cheapest first, the one that kills a server last. */
const RUN_ORDER = [
  'preflight',
  'break-glass',
  'secret-rotation',
  'certificate',
  'schedules',
  'encrypted-payloads',
  'ca',
  'migration',
  'dr-drill',
  'dr-failover',
];

const walkthroughs = walkthroughsIn(join(REPO_DIR, 'docs'));
const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-e2e-docs-'));
const home = mkdtempSync(join(tmpdir(), 'vaultops-e2e-docs-home-'));
const reader = readerDirectory(REPO_DIR, stateDir, dirname(TOOLS_BIN));
const timings: string[] = [];
let dev: Spawned;

// A reader's new terminal: `vaultops` on the PATH (as `npm link` puts it there), a home, and the
// state dir `vaultops` finds the stack by (for a reader, the repository's own .vaultops/dev).
const pathDir = join(home, 'bin');
mkdirSync(pathDir);
symlinkSync(join(REPO_DIR, 'bin/vaultops.js'), join(pathDir, 'vaultops'));
const readerEnv = {
  PATH: `${pathDir}:${process.env.PATH}`,
  HOME: home,
  VAULTOPS_STATE_DIR: stateDir,
  LANG: 'C.UTF-8',
};

beforeAll(async () => {
  const started = Date.now();
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  dev = spawnCollecting(
    process.execPath,
    [join(REPO_DIR, 'bin/vaultops.js'), 'dev', '--dr', '--no-preflight', '--state-dir', stateDir],
    {
      env: { ...process.env, VAULTOPS_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '', VAULTOPS_CONFIG: '' },
      cwd: REPO_DIR,
    },
  );
  await dev.waitFor('Press Ctrl-C to stop.', 180_000);
  timings.push(`dev stack up: ${Date.now() - started} ms`);
}, 200_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await dev.exited;
  }
  process.stdout.write(`docs walkthroughs:\n  ${timings.join('\n  ')}\n`);
  for (const dir of [stateDir, home, reader]) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the docs, run as written on vaultops dev', () => {
  it('takes only the sh blocks right after a marker, in order, and never a prose example', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultops-docs-md-'));
    const sh = (body: string) => `\`\`\`sh\n${body}\n\`\`\``;
    writeFileSync(
      join(dir, 'page.md'),
      [
        '<!-- run: demo -->',
        sh('echo one'),
        sh('echo prose, not run'),
        '<!-- run: demo -->',
        '',
        sh('echo two\necho three'),
        '```\noutput, not a shell block\n```',
      ].join('\n'),
    );
    try {
      expect(walkthroughsIn(dir).get('demo')?.blocks).toEqual(['echo one', 'echo two\necho three']);
      // A marker before anything but a sh block is a mistake in the page, not a shorter walkthrough.
      writeFileSync(join(dir, 'page.md'), `<!-- run: demo -->\n\`\`\`\nls\n\`\`\`\n`);
      expect(() => walkthroughsIn(dir)).toThrow(/page\.md: 1 "<!-- run:" marker/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('marks exactly the walkthroughs this test runs', () => {
    expect([...walkthroughs.keys()].sort()).toEqual([...RUN_ORDER].sort());
  });

  for (const name of RUN_ORDER) {
    it(`walkthrough ${name}`, async () => {
      const walkthrough = walkthroughs.get(name);
      expect(walkthrough, `no <!-- run: ${name} --> block in docs/`).toBeDefined();
      if (!walkthrough) return;
      const run = await runWalkthrough(walkthrough, { cwd: reader, env: readerEnv, timeoutMs: 150_000 });
      timings.push(`${name} (${walkthrough.file}): ${run.ms} ms`);
      expect(run.code, `docs/${walkthrough.file}, walkthrough ${name}:\n${run.output}`).toBe(0);
    }, 160_000);
  }
});
