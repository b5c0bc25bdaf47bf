// The CLI as a user runs it: `vaultops dev` brings up the embedded stack (real Temporal dev server,
// UI, OpenBao, SoftHSM2, worker) and other `vaultops` commands talk to it from another process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { startVaultDevServer } from '../../client/stack/vault-dev.js';
import { type Spawned, spawnCollecting } from '../harness/spawned.js';
import { PREFLIGHT_STEPS } from '../harness/temporal.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-e2e-'));
const env = { ...process.env, VAULTOPS_STATE_DIR: stateDir, TEMPORAL_ADDRESS: '', VAULTOPS_CONFIG: '' };

/** Starts `vaultops dev` and resolves once it says the stack is up (or fails with its output). */
async function startDev(): Promise<Spawned> {
  const dev = spawnCollecting(process.execPath, [CLI, 'dev', '--state-dir', stateDir], {
    env,
    cwd: REPO_DIR,
  });
  await dev.waitFor('Press Ctrl-C to stop.', 180_000);
  return dev;
}

function vaultops(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env,
    cwd: REPO_DIR,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const field = (text: string, label: string) => text.match(new RegExp(`${label}\\s+(\\S+)`))?.[1] ?? '';

/** A shell with nothing of ours but what `source env.sh` brings, as in a user's new terminal. */
function sourced(envFile: string, command: string) {
  const result = spawnSync('bash', ['-c', `source ${envFile} && ${command}`], {
    env: { PATH: process.env.PATH, HOME: stateDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dev: Spawned;
beforeAll(async () => {
  // What `npm install` does (its prepare step), so these tests run the compiled CLI users run.
  const build = spawnSync(process.execPath, [join(REPO_DIR, 'scripts/build-cli.mjs')], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  dev = await startDev();
});
afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGKILL');
    await dev.exited;
  }
  rmSync(stateDir, { recursive: true, force: true });
});

describe('vaultops dev (the main job)', () => {
  it('prints the UI URL and a first preflight of the embedded OpenBao', () => {
    const out = dev.output();
    expect(out).toMatch(/Temporal UI:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/Server\s+OpenBao \d+\.\d+\.\d+/);
    expect(out).toMatch(/Ready\s+yes/);
    expect(out).toMatch(
      /Preflight history: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/preflight-dev-/,
    );
  });

  it("opens the preflight workflow's history at the printed URL", async () => {
    const url = field(dev.output(), 'Preflight history:');
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    // The UI renders the page from its own API; ask that API for the same workflow's history.
    const [, ui, workflowId] =
      url.match(/^(http:\/\/[^/]+)\/namespaces\/default\/workflows\/([^/]+)\//) ?? [];
    const history = (await (
      await fetch(`${ui}/api/v1/namespaces/default/workflows/${workflowId}/history`)
    ).json()) as {
      history: {
        events: {
          eventType: string;
          activityTaskScheduledEventAttributes?: { activityType: { name: string } };
        }[];
      };
    };
    const activities = history.history.events
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType.name)
      .filter(Boolean);
    expect(activities).toEqual(PREFLIGHT_STEPS);
    expect(history.history.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });
});

describe('vaultops dev for people: the exports of its servers', () => {
  const envFile = join(stateDir, 'env.sh');

  it('prints them, as `vault server -dev` does, and writes them to env.sh, mode 0600', () => {
    const out = dev.output();
    const vaultLine = out.match(/export VAULT_ADDR=.*/)?.[0] ?? '';
    expect(vaultLine).toMatch(
      /^export VAULT_ADDR='http:\/\/127\.0\.0\.1:\d+' VAULT_TOKEN='dev-\w+' BAO_ADDR='http:\/\/127\.0\.0\.1:\d+' BAO_TOKEN='dev-\w+'$/,
    );
    expect(out).toMatch(/export TEMPORAL_ADDRESS='127\.0\.0\.1:\d+' TEMPORAL_NAMESPACE='default'/);
    expect(out).toContain(`source ${envFile}`);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(vaultLine);
    // The token is in the file the user asked for, never in the state file other commands read.
    const token = vaultLine.match(/VAULT_TOKEN='([^']+)'/)?.[1] ?? 'missing';
    expect(readFileSync(join(stateDir, 'stack.json'), 'utf8')).not.toContain(token);
  });

  it("lets the user's own bao and temporal commands reach the stack", () => {
    const { openbao, temporal } = inject('tools');
    const lookup = sourced(envFile, `${openbao} token lookup -format=json`);
    expect(lookup.code, lookup.stderr).toBe(0);
    expect((JSON.parse(lookup.stdout) as { data: { policies: string[] } }).data.policies).toContain('root');

    const put = sourced(envFile, `${openbao} kv put -mount=secret e2e/env-sh greeting=hello`);
    expect(put.code, put.stderr).toBe(0);
    const get = sourced(envFile, `${openbao} kv get -mount=secret -field=greeting e2e/env-sh`);
    expect(get.stdout.trim()).toBe('hello');

    const workflows = sourced(envFile, `${temporal} workflow list --output json`);
    expect(workflows.code, workflows.stderr).toBe(0);
    expect(workflows.stdout).toContain('preflight-dev-');
  });
});

describe('vaultops commands against the running stack', () => {
  let workflowId = '';

  it('runs preflight from another process, finding the stack by itself', () => {
    const run = vaultops('preflight', '--json');
    expect(run.code, run.stderr).toBe(0);
    const parsed = JSON.parse(run.stdout) as {
      workflowId: string;
      report: { flavour: string; ready: boolean };
    };
    expect(parsed.report).toMatchObject({ flavour: 'openbao', ready: true });
    workflowId = parsed.workflowId;
  });

  it('lists both preflight runs and shows the status of one', () => {
    const list = vaultops('list', '--type', 'preflightWorkflow', '--json');
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { workflowId: string; status: string }[];
    expect(rows.map((r) => r.workflowId)).toContain(workflowId);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.status === 'COMPLETED')).toBe(true);

    const status = vaultops('status', workflowId);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Status\s+COMPLETED/);
    expect(status.stdout).toMatch(/Server\s+OpenBao/);
    expect(status.stdout).toMatch(/UI\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\//);
  });

  it('answers bad input with exit code 2 and what to fix', () => {
    const limit = vaultops('list', '--limit', '0');
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit');
    const missing = vaultops('--config', join(stateDir, 'nope.yaml'), 'preflight');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('file not found: check the --config path or $VAULTOPS_CONFIG');
    const unknown = vaultops('status', 'no-such-workflow');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no workflow with id "no-such-workflow"');
  });

  it("reads only the temporal section of a worker's config file", () => {
    const file = join(stateDir, 'worker-elsewhere.yaml');
    const stack = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as {
      temporalAddress: string;
    };
    writeFileSync(
      file,
      [
        'vault_integration:',
        '  address: "https://vault.example.com:8200"',
        '  authentication:',
        '    method: approle',
        '    role_id: "${VAULTOPS_E2E_UNSET_ROLE_ID}"',
        '    secret_id: "${VAULTOPS_E2E_UNSET_SECRET_ID}"',
        'temporal:',
        `  address: "${stack.temporalAddress}"`,
      ].join('\n'),
    );
    const list = vaultops('--config', file, 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThan(0);
  });

  it('refuses a bad worker config file, naming the field, before touching anything', () => {
    const file = join(stateDir, 'bad.yaml');
    writeFileSync(
      file,
      'vault_integration:\n  address: vault.example.com\n  authentication:\n    method: approle\n',
    );
    const worker = vaultops('--config', file, 'worker');
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('vault_integration.address: must be an http:// or https:// URL');
    expect(worker.stderr).toContain('vault_integration.authentication.role_id: is required');
  });
});

describe('vaultops worker against a Vault and Temporal of your own', () => {
  it('serves its task queue with the VAULT_*/TEMPORAL_* environment and stops on SIGTERM', async () => {
    const vault = await startVaultDevServer({ flavour: 'openbao', logDir: stateDir });
    const stack = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as {
      temporalAddress: string;
    };
    const worker = spawnCollecting(process.execPath, [CLI, 'worker'], {
      cwd: REPO_DIR,
      env: {
        ...env,
        VAULT_ADDR: vault.address,
        VAULT_TOKEN: vault.rootToken,
        TEMPORAL_ADDRESS: stack.temporalAddress,
        VAULTOPS_TASK_QUEUE: 'e2e-own-worker',
      },
    });
    try {
      await worker.waitFor('"msg":"worker polling"', 120_000);
      const run = vaultops(
        '--address',
        stack.temporalAddress,
        '--task-queue',
        'e2e-own-worker',
        'preflight',
        '--json',
      );
      expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(run.stdout) as { report: { address: string } }).report.address).toBe(vault.address);

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toContain('"msg":"worker stopped"');
      expect(worker.output()).not.toContain(vault.rootToken);
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await vault.stop();
    }
  });
});

describe('stopping and restarting the stack', () => {
  it('stops cleanly on Ctrl-C and keeps workflow history for the next start', async () => {
    // The preflights (the stack's seal guard runs on, so it is no COMPLETED witness).
    const before = JSON.parse(vaultops('list', '--type', 'preflightWorkflow', '--json').stdout) as {
      workflowId: string;
    }[];
    const ui = field(dev.output(), 'Temporal UI:');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toContain('[dev] stopped');
    expect(existsSync(join(stateDir, 'stack.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'env.sh'))).toBe(false);
    await expect(fetch(ui)).rejects.toThrow(); // the UI and its server are gone

    dev = await startDev();
    const after = vaultops('status', before[0]?.workflowId ?? 'missing');
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/Status\s+COMPLETED/);

    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
  });
});
