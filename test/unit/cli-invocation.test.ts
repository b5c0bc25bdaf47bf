// The CLI's hints run as printed: `vaultops ...` when vaultops is on the user's PATH, else
// `npx vaultops ...`; the node_modules/.bin that npm and npx put on PATH for their child does not count.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { invocation } from '../../client/commands/invocation.js';
import { REPO_DIR } from '../../client/stack/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-invocation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function executable(path: string, mode = 0o755): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, mode);
  return dirname(path);
}

describe('invocation', () => {
  const linked = executable(join(dir, 'global/bin/vaultops'));
  const npxBin = executable(join(dir, 'project/node_modules/.bin/vaultops'));
  const notExecutable = executable(join(dir, 'plain/vaultops'), 0o644);

  it('is `vaultops` when an executable vaultops is on PATH', () => {
    expect(invocation([join(dir, 'empty'), linked].join(delimiter))).toBe('vaultops');
  });

  it('is `npx vaultops` when the only one is the node_modules/.bin npx put on PATH', () => {
    expect(invocation([npxBin, '/usr/bin'].join(delimiter))).toBe('npx vaultops');
  });

  it('is `npx vaultops` without PATH, or with a vaultops file that is not executable', () => {
    expect(invocation(undefined)).toBe('npx vaultops');
    expect(invocation(notExecutable)).toBe('npx vaultops');
  });
});

describe('a hint printed by the CLI', () => {
  const run = (path: string) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'client/cli.ts', 'dr', 'snapshots', '--dir', join(dir, 'no-snapshots')],
        { cwd: REPO_DIR, env: { PATH: path, HOME: dir }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );

  it('names the command as the user can run it', async () => {
    const nodeDir = dirname(process.execPath);
    expect(await run(nodeDir)).toContain('take one with npx vaultops dr protect --now');
    const linked = executable(join(dir, 'linked/vaultops'));
    const text = await run([linked, nodeDir].join(delimiter));
    expect(text).toContain('take one with vaultops dr protect --now');
    expect(text).not.toContain('npx');
  }, 120_000);
});
