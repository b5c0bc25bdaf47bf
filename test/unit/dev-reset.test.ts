// `vaultops dev --reset` forgets an earlier run's history; it refuses while a stack runs on that
// state directory, whose live history it would otherwise remove under its server.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearStackState, resetDevHistory, writeStackState } from '../../common/dev-state.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-dev-reset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dev --reset', () => {
  it('refuses while a stack runs on the state directory, and removes nothing', () => {
    writeFileSync(join(dir, 'temporal.sqlite'), 'live history');
    writeStackState(dir, {
      pid: process.pid,
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      taskQueue: 'vaultops',
      uiUrl: 'http://127.0.0.1:8233',
      vaultAddress: 'http://127.0.0.1:8200',
      vaultFlavour: 'openbao',
    });
    expect(() => resetDevHistory(dir)).toThrow(
      `a dev stack is running on ${dir} (pid ${process.pid}): stop it first (Ctrl-C in its terminal), then reset`,
    );
    expect(existsSync(join(dir, 'temporal.sqlite'))).toBe(true);
  });

  it('removes the earlier run once no stack runs there', () => {
    clearStackState(dir);
    expect(resetDevHistory(dir)).toEqual(['temporal.sqlite']);
    expect(existsSync(join(dir, 'temporal.sqlite'))).toBe(false);
  });
});
