// `vaultops break-glass` as a user runs it, against the real server: the CLI requests (its private
// key stays in a 0600 file), two approvers approve, `collect` unwraps the token into a 0600 file,
// `revoke` ends it. The worker runs the real activities over the dev server's root token; Temporal
// is the time-skipping server (workflow time stands still while the CLI talks to it). Also: a
// wrapping token that someone else unwrapped first is reported as tampering.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../../client/stack/tools.js';
import type { BreakGlassAudit } from '../../../common/break-glass/break-glass.js';
import { open } from '../../../common/sealed-box.js';
import { createVaultopsWorker } from '../../../workers/worker.js';
import { breakGlassDeliveryQuery } from '../../../workflows/break-glass/messages.js';
import { failureType } from '../../harness/failures.js';
import { createTimeSkippingEnv } from '../../harness/temporal.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const TASK_QUEUE = unique('break-glass-cli');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-break-glass-'));
const keyDir = join(dir, 'keys');
const root = rootClient();
const policy = unique('incident-read');

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

/** This machine's settings must not leak in; the CLI gets only what the test gives it. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

function vaultops(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [
        CLI,
        ...args,
        '--address',
        env.address,
        '--namespace',
        env.namespace ?? 'default',
        '--task-queue',
        TASK_QUEUE,
      ],
      {
        env: {
          ...cleanEnv,
          VAULT_ADDR: server().address,
          VAULTOPS_BREAK_GLASS_DIR: keyDir,
          VAULTOPS_STATE_DIR: join(dir, 'no-stack-here'),
        },
        timeout: 90_000,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  await root.write(`sys/policies/acl/${policy}`, {
    policy: 'path "secret/data/incident/*" { capabilities = ["read"] }',
  });
  env = await createTimeSkippingEnv();
  worker = await createVaultopsWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: TASK_QUEUE,
    deps: { vault: root },
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

async function requestAndApprove(workflowId: string): Promise<void> {
  const requested = await vaultops([
    'break-glass',
    'request',
    '--policy',
    policy,
    '--ttl',
    '10m',
    '--uses',
    '5',
    '--reason',
    'INC-4711 primary database down',
    '--approvers',
    'alice,bob,dave',
    '--as',
    'carol',
    '--workflow-id',
    workflowId,
  ]);
  expect(requested.stderr).toBe('');
  expect(requested.code).toBe(0);
  expect(requested.stdout).toContain(
    `Requested break-glass ${workflowId}: policy ${policy} for 10m, 5 uses, as carol`,
  );
  for (const approver of ['alice', 'bob']) {
    const approved = await vaultops(['approve', workflowId, '--as', approver, '--reason', 'seen INC-4711']);
    expect(approved.code).toBe(0);
  }
}

/** Looked up by root: the emergency token has no `default` policy to look itself up with. */
const lookupToken = (token: string) =>
  root.put('auth/token/lookup', { token }) as Promise<{
    data: { policies: string[]; orphan: boolean };
  }>;

describe(`vaultops break-glass on ${server().flavour}`, () => {
  it('requests, is approved, collects the token into a 0600 file, shows the audit trail, revokes', async () => {
    const id = unique('break-glass');
    await requestAndApprove(id);
    const keyFile = join(keyDir, `${id}.key`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const out = join(dir, `${id}.token`);
    const collected = await vaultops(['break-glass', 'collect', id, '--out', out, '--as', 'carol']);
    expect(collected.stderr).toBe('');
    expect(collected.code).toBe(0);
    expect(collected.stdout).toContain(`Emergency token for ${id} written to ${out} (0600)`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(existsSync(keyFile)).toBe(false);
    const token = readFileSync(out, 'utf8').trim();
    const self = await lookupToken(token);
    expect(self.data.policies).toEqual([policy]);
    expect(self.data.orphan).toBe(true);

    // Collected once: there is nothing more to collect, and no key to open it with.
    const again = await vaultops(['break-glass', 'collect', id, '--out', join(dir, 'again.token')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no private key for');

    const status = await vaultops(['break-glass', 'status', id, '--json']);
    expect(status.code).toBe(0);
    const { audit } = JSON.parse(status.stdout) as { audit: BreakGlassAudit };
    expect(audit).toMatchObject({
      status: 'active',
      requester: 'carol',
      reason: 'INC-4711 primary database down',
      policy,
      collectedBy: 'carol',
    });
    expect(audit.approvals.map((v) => v.approver)).toEqual(['alice', 'bob']);
    expect(audit.accessor).toEqual(expect.any(String));

    const revoked = await vaultops([
      'break-glass',
      'revoke',
      id,
      '--as',
      'alice',
      '--reason',
      'incident closed',
    ]);
    expect(revoked.stderr).toBe('');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked {5}\S+ by alice: on request: incident closed/);
    expect(await failureType(lookupToken(token))).toBe('VaultPermissionDenied');

    // The token is nowhere in the workflow's history.
    const history = JSON.stringify(await env.client.workflow.getHandle(id).fetchHistory(), (key, value) =>
      key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
    );
    expect(history).toContain(audit.accessor as string);
    expect(history).not.toContain(token);
  }, 180_000);

  it('reports tampering when someone else unwrapped the wrapping token first, and writes nothing', async () => {
    const id = unique('break-glass');
    await requestAndApprove(id);
    // Someone with the private key (and so the wrapping token) unwraps it before the requester.
    const handle = env.client.workflow.getHandle(id);
    let view = await handle.query(breakGlassDeliveryQuery);
    for (let i = 0; i < 100 && !view.sealedWrappingToken; i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await handle.query(breakGlassDeliveryQuery);
    }
    const wrapping = open(
      readFileSync(join(keyDir, `${id}.key`), 'utf8'),
      view.sealedWrappingToken ?? ({} as never),
    );
    await root.write('sys/wrapping/unwrap', {}, { token: wrapping });

    const out = join(dir, `${id}.token`);
    const collected = await vaultops(['break-glass', 'collect', id, '--out', out]);
    expect(collected.code).toBe(1);
    expect(collected.stderr).toContain('TAMPERING: the wrapping token was already unwrapped by someone else');
    expect(existsSync(out)).toBe(false);

    const revoked = await vaultops([
      'break-glass',
      'revoke',
      id,
      '--reason',
      'wrapping token used by someone else',
    ]);
    expect(revoked.code).toBe(0);
  }, 180_000);

  it('exits 2 on a request beyond the bounds, before anything is started', async () => {
    const run = await vaultops([
      'break-glass',
      'request',
      '--policy',
      'root',
      '--ttl',
      '48h',
      '--reason',
      'because',
      '--approvers',
      'alice',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('never carries root');
    expect(run.stderr).toContain('ttl: at most 24h');
    expect(run.stderr).toContain('quorum: 2 approvals needed but only 1 approver(s)');
  }, 60_000);
});
