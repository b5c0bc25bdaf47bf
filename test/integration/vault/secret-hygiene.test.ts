// No secret leaves the process: a workload that handles passwords, secret_ids, tokens, KV values
// and transit plaintext, with DEBUG=* and trace logging, logging the objects it handles, leaves
// none of them in its output, in any file it or the server wrote, or in the server's log.
// The server is this test's own, so its log directory is known and holds nothing else.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../../client/stack/tools.js';
import { startVaultDevServer, type VaultDevServer } from '../../../client/stack/vault-dev.js';
import { describeLeaks, filesUnder, type ScanSource, scanForSecrets } from '../../harness/leak-scan.js';
import { server as providedServer } from '../../harness/vault.js';

const root = mkdtempSync(join(tmpdir(), 'vaultops-hygiene-'));
const serverLogs = join(root, 'server-logs');
const childHome = join(root, 'home');
const childTmp = join(root, 'tmp');
const report = mkdtempSync(join(tmpdir(), 'vaultops-hygiene-report-')); // outside the scanned dirs
const secretsFile = join(report, 'secrets.json');
let vault: VaultDevServer;
let output = { stdout: '', stderr: '', code: null as number | null };

beforeAll(async () => {
  vault = await startVaultDevServer({ flavour: providedServer().flavour, logDir: serverLogs });
  mkdirSync(childHome, { mode: 0o700 });
  mkdirSync(childTmp, { mode: 0o700 });
  output = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/harness/secret-workload.ts'], {
      cwd: REPO_DIR,
      env: {
        PATH: process.env.PATH,
        HOME: childHome,
        TMPDIR: childTmp,
        DEBUG: '*',
        VAULTOPS_LOG_LEVEL: 'trace',
        VAULT_UNDER_TEST_ADDR: vault.address,
        VAULT_UNDER_TEST_TOKEN: vault.rootToken,
        SECRETS_FILE: secretsFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}, 120_000);

afterAll(async () => {
  await vault?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(report, { recursive: true, force: true });
});

const everything = (): ScanSource[] => [
  { name: 'workload stdout', text: output.stdout },
  { name: 'workload stderr', text: output.stderr },
  ...filesUnder(childHome),
  ...filesUnder(childTmp),
  ...filesUnder(serverLogs),
];

const madeSecrets = (): Record<string, string> => ({
  ...(JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>),
  devRootToken: vault.rootToken,
});

describe(`secret hygiene on ${providedServer().flavour}`, () => {
  it('runs the whole workload, with trace logging on', () => {
    expect(output.code, `${output.stdout}\n${output.stderr}`).toBe(0);
    expect(output.stdout).toContain('workload done');
    expect(output.stdout).toContain('"level":10'); // trace lines were written
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(Object.keys(madeSecrets())).toEqual(
      expect.arrayContaining([
        'password',
        'secretId',
        'userpassToken',
        'approleToken',
        'createdToken',
        'kvValue',
        'plaintext',
      ]),
    );
  });

  it('leaves no secret it handled in its output, its files or the server log', () => {
    const leaks = scanForSecrets(madeSecrets(), everything());
    expect(leaks, describeLeaks(leaks)).toEqual([]);
  });

  it('would find a secret that leaked (the scan is not vacuous)', () => {
    const secrets = madeSecrets();
    const planted = join(childTmp, 'planted.log');
    writeFileSync(planted, `line one\nsomething ${secrets.secretId} leaked\n`);
    try {
      const b64 = Buffer.from(secrets.plaintext as string).toString('base64');
      const leaks = scanForSecrets(secrets, [...everything(), { name: 'planted stdout', text: `x ${b64}` }]);
      expect(leaks).toContainEqual({ secret: 'secretId', where: planted, line: 2 });
      expect(leaks).toContainEqual({ secret: 'plaintext', where: 'planted stdout', line: 1 });
    } finally {
      rmSync(planted);
    }
  });

  it('keeps the dev server log private, and its banner without root token or unseal key', () => {
    expect(statSync(serverLogs).mode & 0o777).toBe(0o700);
    const logs = filesUnder(serverLogs);
    expect(logs.length).toBeGreaterThan(0);
    for (const { name } of logs) expect(statSync(name).mode & 0o777, name).toBe(0o600);
    const text = logs.map((l) => l.text).join('\n');
    expect(text).toMatch(/Root Token: \[redacted\]/);
    expect(text).toMatch(/Unseal Key: \[redacted\]/);
    expect(text).not.toContain(vault.rootToken);
  });
});
