// The house rule of the source tree, checked on every run: each floor imports only floors below it
// (common <- vault <- codec <- activities <- workflows <- workers <- client), workflows take
// nothing but types from the floors under them beside common/, and no files import each other in a
// loop. Read from the sources as text, so a new file is covered the moment it exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../common/repo-dir.js';

const FLOORS = ['common', 'vault', 'codec', 'activities', 'workflows', 'workers', 'client'] as const;
const floorOf = (file: string) => FLOORS.indexOf(file.split('/')[0] as (typeof FLOORS)[number]);

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(REPO_DIR, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(REPO_DIR, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(name) ? [path] : [];
  });
}

/** Relative imports, re-exports and dynamic imports of one file, resolved to repository paths. */
function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^;'"]*?from\s+'(\.[^']+)'/gm;
  const bare = /^\s*import\s+'(\.[^']+)'/gm;
  const dynamic = /\bimport\(\s*'(\.[^']+)'\s*\)/g;
  const add = (spec: string, typeOnly: boolean) => {
    const to = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
    found.push({ from: file, to, typeOnly });
  };
  for (const m of text.matchAll(statement)) {
    const clause = m[0];
    // `import { type A, type B } from` is type-only too; one plain name makes it a runtime import.
    const names = /\{([^}]*)\}/.exec(clause)?.[1];
    const allTypes =
      (names?.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type ')) ?? false) &&
      !/^\s*(import|export)\s+\w+\s*,/.test(clause);
    add(m[3] as string, Boolean(m[2]) || allTypes);
  }
  for (const m of text.matchAll(bare)) add(m[1] as string, false);
  for (const m of text.matchAll(dynamic)) add(m[1] as string, false);
  return found;
}

const files = FLOORS.flatMap((floor) => sourceFiles(floor));
const imports = files.flatMap((file) => importsOf(file, readFileSync(join(REPO_DIR, file), 'utf8')));

describe('the layers of the source tree', () => {
  it('reads the imports it checks (the scanner sees the tree)', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(imports.filter((i) => i.from.startsWith('workflows/')).length).toBeGreaterThan(50);
    expect(importsOf('client/x.ts', "import { a, type B } from '../vault/y.js';")).toEqual([
      { from: 'client/x.ts', to: 'vault/y.ts', typeOnly: false },
    ]);
    expect(importsOf('client/x.ts', "import type { B } from '../vault/y.js';")[0]?.typeOnly).toBe(true);
  });

  it('has no import that runs up a floor', () => {
    const upward = imports
      .filter((i) => floorOf(i.to) >= 0 && floorOf(i.to) > floorOf(i.from))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(upward).toEqual([]);
  });

  it('keeps workflow code deterministic: beside common/, only types from the floors below', () => {
    const runtime = imports
      .filter((i) => i.from.startsWith('workflows/') && !i.typeOnly)
      .filter((i) => !i.to.startsWith('workflows/') && !i.to.startsWith('common/'))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(runtime).toEqual([]);
  });

  it('has no files that import each other in a loop', () => {
    const edges = new Map<string, string[]>();
    for (const i of imports) edges.set(i.from, [...(edges.get(i.from) ?? []), i.to]);
    const loops: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        loops.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(loops).toEqual([]);
  });

  it('finds every import target on disk (a moved file leaves no stale path behind)', () => {
    const known = new Set(files);
    const missing = imports
      .filter((i) => floorOf(i.to) >= 0 && !known.has(i.to) && !i.to.endsWith('.cjs'))
      .map((i) => `${i.from} -> ${relative('.', i.to)}`);
    expect(missing).toEqual([]);
  });
});
