// How `vaultops` starts: the compiled CLI (npm install's build) while it is up to date, the
// TypeScript sources through tsx otherwise; and `--help` loads nothing but commander.
// Runs in a copy of the sources, so that it can build and touch files without disturbing this tree.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';

const copy = mkdtempSync(join(tmpdir(), 'vaultops-cli-startup-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

function run(args: string[], nodeArgs: string[] = []) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, ...args],
      {
        cwd: copy,
        env: { PATH: process.env.PATH, HOME: copy, NODE_DEBUG: 'vaultops' },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

/**
 * A loader hook that refuses the heavy modules: a command that needs one fails with its name.
 * Registered before bin/vaultops.js runs, so it sees every import of the CLI and of tsx alike.
 */
function refusingHeavyModules(): string[] {
  const hooks = `export async function resolve(specifier, context, next) {
    if (/^(@temporalio\\/|zod$|yaml$|pino$|undici$|node-vault$|graphene-pk11$)/.test(specifier))
      throw new Error('vaultops --help must not load ' + specifier);
    return next(specifier, context);
  }`;
  const register = join(copy, 'refuse-heavy-modules.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`,
  );
  return ['--import', pathToFileURL(register).href];
}

beforeAll(() => {
  for (const entry of [
    'bin',
    'scripts',
    'client',
    'common',
    'vault',
    'codec',
    'workers',
    'workflows',
    'activities',
  ]) {
    cpSync(join(REPO_DIR, entry), join(copy, entry), { recursive: true });
  }
  for (const file of ['package.json', 'tsconfig.json']) cpSync(join(REPO_DIR, file), join(copy, file));
  symlinkSync(join(REPO_DIR, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

describe('bin/vaultops.js', () => {
  it('runs the sources through tsx while there is no build', async () => {
    const help = await run(['bin/vaultops.js', '--help']);
    expect(help.stderr).toContain('running the TypeScript sources through tsx: no build in dist/cli');
    expect(help.stdout).toContain('Usage: vaultops');
    expect(help.code).toBe(0);
  });

  it('runs the compiled CLI once built, until a source changes', async () => {
    const build = await run(['scripts/build-cli.mjs']);
    expect(build.code, build.stderr).toBe(0);

    const compiled = await run(['bin/vaultops.js', '--help']);
    expect(compiled.stderr).toContain('running the compiled CLI in dist/cli');
    expect(compiled.stdout).toContain('Usage: vaultops');
    expect(compiled.code).toBe(0);

    // An edit after the build: one millisecond after the time the build recorded.
    const { builtAt } = JSON.parse(readFileSync(join(copy, 'dist/cli/manifest.json'), 'utf8')) as {
      builtAt: number;
    };
    const edit = new Date(builtAt + 1);
    utimesSync(join(copy, 'client/format.ts'), edit, edit);
    const edited = await run(['bin/vaultops.js', '--help']);
    expect(edited.stderr).toContain('through tsx: client/format.ts changed since the build');
    expect(edited.stdout).toContain('Usage: vaultops');

    const rebuilt = await run(['scripts/build-cli.mjs']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect((await run(['bin/vaultops.js', '--help'])).stderr).toContain('running the compiled CLI');
  });

  it('loads only commander for --help, compiled or not', async () => {
    const refuse = refusingHeavyModules();
    const compiled = await run(['bin/vaultops.js', '--help'], refuse);
    expect(compiled.stderr).toContain('running the compiled CLI');
    expect(compiled.code, compiled.stderr).toBe(0);
    // The hook does refuse: a command that talks to Temporal fails on it.
    const list = await run(['bin/vaultops.js', 'list'], refuse);
    expect(list.stderr).toMatch(/must not load (zod|yaml|@temporalio\/client)/);

    rmSync(join(copy, 'dist'), { recursive: true, force: true });
    const sources = await run(['bin/vaultops.js', '--help'], refuse);
    expect(sources.stderr).toContain('through tsx');
    expect(sources.code, sources.stderr).toBe(0);
  });

  it('a failed build fails `npm run build` but not `npm install`, whose prepare step only warns', async () => {
    const file = join(copy, 'client/format.ts');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `${text}\nexport const broken = ;\n`);
    try {
      const build = await run(['scripts/build-cli.mjs']);
      expect(build.code).not.toBe(0);
      expect(build.stderr).toContain('client/format.ts');
      const prepare = await run(['scripts/build-cli.mjs', '--warn-only']);
      expect(prepare.code).toBe(0);
      expect(prepare.stderr).toContain('the CLI was not compiled');
    } finally {
      writeFileSync(file, text);
    }
  });
});
