// The pure parts of `vaultops migrate run`: the CLI's input (every bad flag a UsageError saying what
// to fix), target names and policy texts adjusted for the target, and role settings as they can
// be written back.
import { describe, expect, it } from 'vitest';
import { withTargetPolicies, writableSettings } from '../../activities/migrate/auth-roles.js';
import { parseMigrateRun } from '../../client/commands/migrate/run.js';
import { UsageError } from '../../client/commands/usage-error.js';
import { adjustPolicyText, type TargetMapping } from '../../common/migrate/run.js';

const base = { from: 'admin/team-a', to: 'admin/team-b', approver: ['bob'] };
const parse = (over: Record<string, unknown> = {}) =>
  parseMigrateRun({ ...base, ...over }, 'alice', () => 'fixed-id');

describe('parseMigrateRun', () => {
  it('builds the workflow input: approval, 24h grace, marking (not deleting) the source by default', () => {
    expect(parse()).toEqual({
      id: 'fixed-id',
      from: 'admin/team-a',
      to: 'admin/team-b',
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '24h' },
      graceMs: 24 * 3_600_000,
      retireSource: false,
    });
  });

  it('takes --grace, --retire-source, --prefix within one namespace, clusters and the batch size', () => {
    expect(
      parse({
        from: '/',
        to: '/',
        prefix: 'moved-',
        grace: '30m',
        retireSource: true,
        cluster: 'vault',
        targetCluster: 'bao',
        batchSize: '50',
      }),
    ).toMatchObject({
      from: '',
      to: '',
      prefix: 'moved-',
      graceMs: 1_800_000,
      retireSource: true,
      sourceCluster: 'vault',
      targetCluster: 'bao',
      kvBatchSize: 50,
    });
  });

  it.each([
    [{ to: 'admin/team-a' }, /same namespace.*--prefix/],
    [{ approver: [] }, /--approver/],
    [{ approver: ['alice'] }, /approval cannot gate/],
    [{ grace: 'soon' }, /--grace "soon" is not a duration/],
    [{ prefix: 'bad/prefix' }, /--prefix/],
    [{ quorum: '0' }, /--quorum/],
    [{ id: 'Not An Id' }, /--id/],
    [{ batchSize: '5000' }, /--batch-size/],
    [{ from: 'a//b' }, /not a namespace path/],
  ])('refuses %j', (over, message) => {
    expect(() => parse(over)).toThrow(UsageError);
    expect(() => parse(over)).toThrow(message);
  });
});

describe('adjustPolicyText', () => {
  const between: TargetMapping = { from: 'admin/team-a', to: 'admin/team-b', prefix: '' };
  it('renames patterns that name the source namespace by its full path, and only those', () => {
    const text =
      'path "admin/team-a/secret/*" { capabilities = ["read"] }\npath "secret/data/*" { capabilities = ["read"] }';
    const out = adjustPolicyText(text, between, ['secret/']);
    expect(out.text).toBe(
      'path "admin/team-b/secret/*" { capabilities = ["read"] }\npath "secret/data/*" { capabilities = ["read"] }',
    );
    expect(out.adjusted).toEqual(['admin/team-a/secret/* -> admin/team-b/secret/*']);
  });

  it('with a prefix, points patterns of migrated mounts and auth methods at the copies', () => {
    const within: TargetMapping = { from: '', to: '', prefix: 'to-' };
    const text = [
      'path "kv/data/*" {}',
      'path "auth/approle/login" {}',
      'path "other/*" {}',
      'path "sys/health" {}',
    ].join('\n');
    const out = adjustPolicyText(text, within, ['kv/', 'auth/approle/']);
    expect(out.text).toBe(
      [
        'path "to-kv/data/*" {}',
        'path "auth/to-approle/login" {}',
        'path "other/*" {}',
        'path "sys/health" {}',
      ].join('\n'),
    );
  });
});

describe('role settings written back', () => {
  it('leaves out deprecated aliases Vault returns beside their token_ fields', () => {
    expect(
      writableSettings({
        policies: ['a'],
        token_policies: ['a'],
        period: 0,
        token_period: 0,
        bound_cidr_list: [],
        secret_id_ttl: 3600,
      }),
    ).toEqual({ token_policies: ['a'], token_period: 0, secret_id_ttl: 3600 });
  });

  it('names migrated policies as the target does', () => {
    const mapping: TargetMapping = { from: '', to: '', prefix: 'to-' };
    expect(withTargetPolicies({ token_policies: ['app', 'default'] }, mapping, new Set(['app']))).toEqual({
      token_policies: ['to-app', 'default'],
    });
  });
});
