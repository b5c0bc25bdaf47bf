// `vaultops secret ...` input checks: each bad input is refused before anything connects, exit 2,
// with a message that names the fix; the <mount/path> split; the schedule offsets. The rules are
// called directly (they are pure), and a few are run as a user meets them: spawned `vaultops`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseRotation,
  type RotateOptions,
  rotationIdPrefix,
  rotationWorkflowId,
  splitSecretPath,
  versionOption,
} from '../../client/commands/rotation/args.js';
import { planSecretSchedules, planStagger } from '../../client/commands/rotation/schedule.js';
import { restoreProblem, type SecretMetadata } from '../../client/commands/rotation/vault-reads.js';
import { UsageError } from '../../client/commands/usage-error.js';
import { REPO_DIR } from '../../client/stack/tools.js';

const CLI = join(REPO_DIR, 'bin/vaultops.js');
const dir = mkdtempSync(join(tmpdir(), 'vaultops-cli-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VAULT_|BAO_|TEMPORAL_|VAULTOPS_)/.test(name)),
);

function vaultops(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      // Nothing listens at this address: a command that got as far as connecting would exit 1.
      [CLI, '--address', '127.0.0.1:1', ...args],
      { cwd: dir, env: { ...cleanEnv, VAULTOPS_STATE_DIR: join(dir, 'no-stack') }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('the <mount/path> split', () => {
  it.each([
    ['secret/app/db', undefined, { mount: 'secret', path: 'app/db' }],
    ['/secret/app/', undefined, { mount: 'secret', path: 'app' }],
    ['app/db', 'team/kv', { mount: 'team/kv', path: 'app/db' }],
    ['db', 'kv', { mount: 'kv', path: 'db' }],
  ])('%s (--mount %s)', (arg, mount, expected) => {
    expect(splitSecretPath(arg, mount)).toEqual(expected);
  });

  it.each([
    ['app', 'names no secret: write <mount>/<path>'],
    ['secret//db', 'has an empty segment'],
    ['secret/../db', 'segment ".." may hold only letters'],
    ['secret/a b', 'segment "a b" may hold only letters, digits and . _ -'],
    ['secret/a:b', 'segment "a:b"'],
  ])('refuses %j', (arg, message) => {
    expect(refusal(() => splitSecretPath(arg))).toContain(message);
  });

  it('prefixes every rotation workflow of a secret, and only of that secret', () => {
    const prefix = rotationIdPrefix('default', { mount: 'secret', path: 'app' });
    expect(prefix).toBe('rotate:default:secret/app:');
    const request = parseRotation('secret/app', { target: 'kv' });
    const id = rotationWorkflowId(request, undefined, new Date('2026-11-22T21:35:17.123Z'));
    expect(id).toBe('rotate:default:secret/app:2026-11-22T21:35:17Z');
    expect(id.startsWith(prefix)).toBe(true);
    expect(rotationWorkflowId(request, 'r1', new Date()).startsWith(prefix)).toBe(true);
    // A deeper secret of the same name does not match.
    expect('rotate:default:secret/app/db:x'.startsWith(prefix)).toBe(false);
  });
});

describe('secret rotate: the request it builds', () => {
  it('kv: single-user, grace 24h by default', () => {
    expect(parseRotation('secret/app', { target: 'kv', field: 'api_key' })).toEqual({
      cluster: 'default',
      mount: 'secret',
      path: 'app',
      target: { kind: 'kv', field: 'api_key' },
      strategy: 'single-user',
      graceMs: 86_400_000,
    });
  });

  it('databases: alternating by default; every target option lands in its spec', () => {
    expect(
      parseRotation('secret/db', {
        target: 'mariadb',
        admin: 'secret/admin/maria',
        role: 'app',
        host: '%',
        grace: '1h30m',
        notice: '1h',
        webhook: 'https://hooks.example.com/rotation',
        passwordPolicy: 'strong',
        cluster: 'dr-standby',
      }),
    ).toEqual({
      cluster: 'dr-standby',
      mount: 'secret',
      path: 'db',
      target: { kind: 'mariadb', admin: { mount: 'secret', path: 'admin/maria' }, role: 'app', host: '%' },
      strategy: 'alternating',
      graceMs: 5_400_000,
      noticeMs: 3_600_000,
      webhookUrl: 'https://hooks.example.com/rotation',
      passwordPolicy: 'strong',
    });
    expect(parseRotation('secret/db', { target: 'database-static', role: 'app' }).target).toEqual({
      kind: 'database-static',
      role: 'app',
    });
    const root = parseRotation('secret/root', {
      target: 'database-root',
      connection: 'pg',
      dbMount: 'db',
      verifyRole: 'check',
    });
    expect(root.target).toEqual({
      kind: 'database-root',
      connection: 'pg',
      dbMount: 'db',
      verifyRole: 'check',
    });
    expect(root.strategy).toBe('single-user');
  });
});

describe('secret rotate refuses bad input, naming the fix', () => {
  const cases: [string, RotateOptions, string][] = [
    ['no target', {}, '--target is required: one of kv, postgres, mariadb, database-static, database-root'],
    ['an unknown target', { target: 'redis' }, '--target "redis" is not a target; use one of kv,'],
    ['postgres without --admin', { target: 'postgres', role: 'app' }, '--target postgres needs --admin'],
    ['postgres without --role', { target: 'postgres', admin: 'secret/a' }, '--target postgres needs --role'],
    ['mariadb without --role', { target: 'mariadb', admin: 'secret/a' }, '--target mariadb needs --role'],
    ['database-static without --role', { target: 'database-static' }, 'needs --role'],
    ['database-root without --connection', { target: 'database-root' }, 'needs --connection'],
    ['--admin without a mount', { target: 'postgres', admin: 'pgadmin', role: 'a' }, 'write <mount>/<path>'],
    ['a bad --grace', { target: 'kv', grace: 'a day' }, '--grace: "a day" is not a duration; write e.g.'],
    ['a bad --notice', { target: 'kv', notice: '5 min' }, '--notice: "5 min" is not a duration'],
    [
      'alternating with kv',
      { target: 'kv', strategy: 'alternating' },
      '--target kv has one credential; use --strategy single-user',
    ],
    [
      'alternating with database-root',
      { target: 'database-root', connection: 'pg', strategy: 'alternating' },
      '--target database-root has one credential; use --strategy single-user',
    ],
    ['an unknown strategy', { target: 'kv', strategy: 'blue-green' }, 'use single-user or alternating'],
    [
      '--field with postgres',
      { target: 'postgres', admin: 's/a', role: 'r', field: 'x' },
      '--field goes with --target kv',
    ],
    [
      '--host with postgres',
      { target: 'postgres', admin: 's/a', role: 'r', host: '%' },
      '--host goes with --target mariadb',
    ],
    [
      'a webhook that is no URL',
      { target: 'kv', webhook: 'hooks.example.com' },
      'must be an http:// or https:// URL',
    ],
    ['a bad --id', { target: 'kv', id: 'a/b' }, '--id "a/b" must start with a letter or digit'],
    ['a bad --cluster', { target: 'kv', cluster: 'DR' }, '--cluster "DR" must be a cluster name'],
  ];
  it.each(cases)('%s', (_, opts, message) => {
    const text = refusal(() => parseRotation('secret/app', opts));
    expect(text).toMatch(/^rotation not started:/);
    expect(text).toContain(message);
  });

  it('lists every problem at once', () => {
    const text = refusal(() => parseRotation('app', { target: 'kv', strategy: 'alternating', grace: 'x' }));
    expect(text.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(3);
  });

  it('--to-version must be a version number', () => {
    expect(versionOption('3')).toBe(3);
    for (const bad of ['0', '-1', 'two', '1.5'])
      expect(refusal(() => versionOption(bad))).toContain('must be a KV version number');
  });

  it('a version to restore must be retained, live and not current', () => {
    const m: SecretMetadata = {
      labels: { current: 4, previous: 3 },
      meta: {
        cas_required: false,
        created_time: '',
        current_version: 4,
        custom_metadata: null,
        delete_version_after: '0s',
        max_versions: 0,
        oldest_version: 2,
        updated_time: '',
        versions: {
          '2': { created_time: '', deletion_time: '', destroyed: true },
          '3': { created_time: '', deletion_time: '2020-01-01T00:00:00Z', destroyed: false },
          '4': { created_time: '', deletion_time: '', destroyed: false },
          '5': { created_time: '', deletion_time: '2999-01-01T00:00:00Z', destroyed: false },
        },
      },
    };
    const ref = { mount: 'secret', path: 'app' };
    expect(restoreProblem(m, ref, 1)).toContain('version 1 of secret/app is not retained');
    expect(restoreProblem(m, ref, 2)).toContain('was destroyed');
    expect(restoreProblem(m, ref, 3)).toContain('is deleted; undelete it first');
    expect(restoreProblem(m, ref, 4)).toContain('is the current version');
    expect(restoreProblem(m, ref, 5)).toBeUndefined(); // deletion planned, not yet done
  });
});

describe('secret schedule: offsets', () => {
  it('offsets the i-th secret by i × stagger within the interval', () => {
    const plan = planStagger(3, '30d', '2d', 86_400_000);
    expect(plan.everyMs).toBe(30 * 86_400_000);
    expect(plan.offsets).toEqual([0, 2 * 86_400_000, 4 * 86_400_000]);
  });

  it('builds one schedule per secret, overlap SKIP, runs named after the secret', () => {
    const planned = planSecretSchedules(['secret/a', 'secret/b', 'kv/team/c'], {
      target: 'kv',
      every: '30d',
      stagger: '2d',
      grace: '1h',
    });
    expect(planned.map((p) => p.request.scheduleId)).toEqual([
      'rotate:default:secret.a',
      'rotate:default:secret.b',
      'rotate:default:kv.team.c',
    ]);
    expect(planned.map((p) => p.request.spec.intervals)).toEqual([
      [{ every: 2_592_000_000 }],
      [{ every: 2_592_000_000, offset: 172_800_000 }],
      [{ every: 2_592_000_000, offset: 345_600_000 }],
    ]);
    expect(planned.every((p) => p.request.overlap === 'SKIP')).toBe(true);
    expect(planned.map((p) => p.workflowId)).toEqual([
      'rotate:default:secret/a:scheduled',
      'rotate:default:secret/b:scheduled',
      'rotate:default:kv/team/c:scheduled',
    ]);
    // No rotation id: a run's rotation id is its workflow id.
    expect(planned[0]?.input).not.toHaveProperty('rotationId');
  });

  it.each([
    [
      'a stagger shorter than grace + 1h',
      ['secret/a', 'secret/b'],
      { every: '30d', stagger: '1d', grace: '24h' },
      '--stagger 1d is shorter than the grace period (24h) + 1h: a rotation lasts through its grace period',
    ],
    [
      'secrets that do not fit in the interval',
      ['secret/a', 'secret/b', 'secret/c'],
      { every: '3d', stagger: '2d', grace: '1h' },
      '3 secrets staggered by 2d span 96h, which does not fit in --every 3d',
    ],
    ['no --every', ['secret/a'], { grace: '1h' }, '--every is required'],
    ['no --stagger with two secrets', ['secret/a', 'secret/b'], { every: '30d' }, '--stagger is required'],
    [
      'an interval within the grace period',
      ['secret/a'],
      { every: '12h', grace: '24h' },
      '--every 12h is not longer than the grace period (24h) + 1h',
    ],
    [
      'a secret named twice',
      ['secret/a', 'secret/a/'],
      { every: '30d', stagger: '2d', grace: '1h' },
      'named twice',
    ],
    ['--id', ['secret/a'], { every: '30d', id: 'x' }, '--id goes with `secret rotate`'],
  ])('refuses %s', (_, args, opts, message) => {
    const text = refusal(() => planSecretSchedules(args, { target: 'kv', ...opts }));
    expect(text).toMatch(/^schedule not created:/);
    expect(text).toContain(message);
  });
});

describe('as a user meets it: exit 2 before anything connects', () => {
  it.each([
    [['secret', 'rotate', 'secret/app'], '--target is required'],
    [
      ['secret', 'rotate', 'secret/app', '--target', 'kv', '--grace', 'soon'],
      '--grace: "soon" is not a duration',
    ],
    [
      ['secret', 'rotate', 'secret/app', '--target', 'kv', '--strategy', 'alternating'],
      'use --strategy single-user',
    ],
    [['secret', 'rotate', 'secret/app', '--target', 'postgres'], 'needs --admin'],
    [['secret', 'rollback', 'rotate:default:secret/app:x'], "required option '--as <name>' not specified"],
    [['secret', 'rollback', 'secret/app', '--as', 'me', '--to-version', '0'], 'must be a KV version number'],
    [['secret', 'rollback', 'wf-id', '--as', 'me', '--grace', '1h'], '--grace goes with --to-version'],
    [['secret', 'status', 'app'], 'write <mount>/<path>'],
    [['secret', 'status', 'secret/app'], 'export VAULT_ADDR and VAULT_TOKEN'],
    [
      ['secret', 'schedule', 'secret/a', 'secret/b', '--target', 'kv', '--every', '30d', '--stagger', '1h'],
      'is shorter than the grace period (24h) + 1h',
    ],
  ])('vaultops %j', async (args, message) => {
    const run = await vaultops(args);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(2);
  });
});
