// The Temporal UI in a real browser (Debian's Chromium, driven by playwright-core) shows the
// dev stack's preflight decoded through the codec server, while the history Temporal stores
// holds only encrypted payloads.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { type Spawned, spawnCollecting } from '../harness/spawned.js';

const CHROMIUM = '/usr/bin/chromium';
const CLI = join(REPO_DIR, 'bin/vaultops.js');
const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-e2e-ui-'));
const shots = mkdtempSync(join(tmpdir(), 'vaultops-e2e-shots-'));
const env = { ...process.env, VAULTOPS_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '', VAULTOPS_CONFIG: '' };
const field = (text: string, label: string) => text.match(new RegExp(`${label}\\s+(\\S+)`))?.[1] ?? '';
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

let dev: Spawned;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    const install = spawnSync('bash', [join(REPO_DIR, 'scripts/install-tools.sh'), 'chromium'], {
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).toBe(0);
  }
  dev = spawnCollecting(process.execPath, [CLI, 'dev', '--state-dir', stateDir], { env, cwd: REPO_DIR });
  await dev.waitFor('Press Ctrl-C to stop.', 180_000);
});
afterAll(async () => {
  await browser?.close();
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await dev.exited;
  }
  rmSync(stateDir, { recursive: true, force: true });
});

type RawPayload = { path: string; metadata: Record<string, string>; data?: string };

/**
 * Every payload ({ metadata, data }) in a history as `temporal workflow show` prints it, with where
 * it is. Left out, as no SDK encodes them: search attributes (the server indexes them) and the
 * patch markers `patched()` leaves (Temporal's core writes them: a patch id, no data of ours).
 */
function payloadsIn(value: unknown, path = '', found: RawPayload[] = []): RawPayload[] {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) payloadsIn(v, `${path}[${i}]`, found);
  } else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object)) {
      found.push({ ...(o as Omit<RawPayload, 'path'>), path });
    } else {
      for (const [k, v] of Object.entries(o))
        if (k !== 'searchAttributes' && k !== 'patch-data') payloadsIn(v, `${path}.${k}`, found);
    }
  }
  return found;
}

describe('the Temporal UI decodes payloads through the codec server', () => {
  it('stores only binary/encrypted payloads in the history', () => {
    const url = field(dev.output(), 'Preflight history:');
    const workflowId = decodeURIComponent(url.match(/\/workflows\/([^/]+)\//)?.[1] ?? '');
    const address = dev.output().match(/Temporal address:\s+(\S+)/)?.[1] ?? '';
    const show = spawnSync(
      inject('tools').temporal,
      ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(show.status, show.stderr).toBe(0);
    const payloads = payloadsIn(JSON.parse(show.stdout));
    expect(payloads.length).toBeGreaterThan(5);
    const plain = payloads.filter((p) => p.metadata.encoding !== ENCRYPTED);
    expect(plain.map((p) => `${p.path}: ${Buffer.from(p.metadata.encoding ?? '', 'base64')}`)).toEqual([]);
    const clear = payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('latin1')).join('');
    expect(clear).not.toContain('builtin.bao');
    expect(show.stdout).not.toContain('builtin.bao');
  });

  it("shows the preflight report's server version in the UI's history page", async () => {
    const url = field(dev.output(), 'Preflight history:');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const codecCalls: number[] = [];
    page.on('response', (r) => {
      if (/\/decode(\?|$)/.test(r.url())) codecCalls.push(r.status());
    });
    await page.goto(url);
    // The report's server version, as the UI prints the decoded result: only a decoded payload holds it.
    const version = dev.output().match(/Server\s+OpenBao (\d+\.\d+\.\d+)/)?.[1] ?? 'missing';
    const decoded = page.getByText(`"version": "${version}"`).first();
    try {
      await decoded.waitFor({ timeout: 60_000 });
    } finally {
      await page.screenshot({ path: join(shots, 'preflight-history.png'), fullPage: true });
      console.warn(`ui-codec screenshot: ${join(shots, 'preflight-history.png')}`);
    }
    expect(codecCalls.length).toBeGreaterThan(0);
    expect(codecCalls.every((s) => s === 200)).toBe(true);
  });
});
