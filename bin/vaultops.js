#!/usr/bin/env node
// Runs the CLI compiled to dist/cli/ (`npm run build`, also npm install's `prepare` step) while it
// is up to date with its sources, so a command starts without compiling TypeScript. Otherwise,
// e.g. right after an edit, it runs the sources through tsx: slower, never stale.
// `NODE_DEBUG=vaultops` says which one runs and why.
import { readFileSync, statSync } from 'node:fs';
import { debuglog } from 'node:util';

const debug = debuglog('vaultops');
const repo = new URL('../', import.meta.url);
const compiled = new URL('../dist/cli/', import.meta.url);

/** Why the compiled CLI cannot be used, or undefined when it can. */
function staleness() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', compiled), 'utf8'));
  } catch {
    return 'no build in dist/cli (run `npm run build`)';
  }
  for (const input of manifest.inputs) {
    let mtimeMs;
    try {
      mtimeMs = statSync(new URL(input, repo)).mtimeMs;
    } catch {
      return `${input} is gone since the build`;
    }
    if (mtimeMs > manifest.builtAt) return `${input} changed since the build`;
  }
  return undefined;
}

const stale = staleness();
if (stale === undefined) {
  debug('running the compiled CLI in dist/cli');
  await import(new URL('vaultops.mjs', compiled).href);
} else {
  debug('running the TypeScript sources through tsx: %s', stale);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../client/cli.ts');
}
