// `npm run build` (also npm install's `prepare` step): compiles the CLI to dist/cli/ so that
// bin/vaultops.js starts without compiling TypeScript. esbuild comes with tsx, already installed.
//
// Packages stay external (node_modules is next door); our own modules are bundled, one chunk per
// lazily imported command, so `vaultops --help` loads only the CLI's own chunk and commander.
// Modules that find files from `import.meta.url` (the tools directory, the workflow sources that
// the worker's webpack bundles) get the URL of their source file, so they behave as under tsx.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The esbuild that tsx itself uses, wherever npm placed it: no dependency of our own to keep in step.
const { build } = createRequire(join(REPO_DIR, 'node_modules/tsx/package.json'))('esbuild');
const OUT_DIR = join(REPO_DIR, 'dist', 'cli');

/** `import.meta.url` → the URL of the module's source file, relative to the output directory. */
const sourceLocatedImportMeta = (outDir) => ({
  name: 'source-located-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (args.path.includes(`${sep}node_modules${sep}`) || !text.includes('import.meta.url'))
        return undefined;
      const fromOut = relative(outDir, args.path).split(sep).join('/');
      return {
        contents: text.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(fromOut)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
});

export async function buildCli() {
  const builtAt = Date.now();
  const staging = join(REPO_DIR, 'dist', `.cli-${process.pid}-${builtAt}`);
  mkdirSync(staging, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: REPO_DIR,
      entryPoints: { vaultops: 'client/cli.ts' },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
      plugins: [sourceLocatedImportMeta(OUT_DIR)],
    });
    // bin/vaultops.js runs this build only while none of these files is newer than the build.
    const inputs = [...Object.keys(result.metafile.inputs), 'tsconfig.json'].sort();
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify({ builtAt, inputs }, null, 2)}\n`);
    install(staging, result.metafile.outputs);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Moves the build into dist/cli so that a CLI starting meanwhile, or another build (parallel test
 * runs), never sees half of one: chunks are named by their content, so they go in first without
 * disturbing the old entry; then the entry and the manifest, each by an atomic rename.
 */
function install(staging, outputs) {
  mkdirSync(OUT_DIR, { recursive: true });
  const last = ['vaultops.mjs.map', 'vaultops.mjs', 'manifest.json'];
  const files = readdirSync(staging);
  for (const file of [...files.filter((f) => !last.includes(f)), ...last]) {
    renameSync(join(staging, file), join(OUT_DIR, file));
  }
  // Chunks of earlier builds: a CLI that started a moment ago may still be importing them.
  const current = new Set([...Object.keys(outputs).map((o) => basename(o)), 'manifest.json']);
  for (const file of readdirSync(OUT_DIR)) {
    const path = join(OUT_DIR, file);
    if (!current.has(file) && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildCli();
  } catch (err) {
    // `prepare` passes --warn-only: a failed build must not fail `npm install`, since
    // bin/vaultops.js then runs the sources through tsx, which reports the same error in context.
    if (!process.argv.includes('--warn-only')) throw err;
    console.warn(
      `vaultops: the CLI was not compiled (${err.message.split('\n')[0]}); it will run through tsx`,
    );
  }
}
