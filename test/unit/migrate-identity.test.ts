// The pure parts of migrating identity, the database engine and other auth methods: group order
// (members first), alias classification, identity comparison, the database connection body
// (no password, unverified) and settings digests, auth configuration as written back, and policy
// names mapped for LDAP's `policies` as for `token_policies`.
import { describe, expect, it } from 'vitest';
import { configSettings, withTargetPolicies } from '../../activities/migrate/auth-roles.js';
import { connectionBody, connectionSettings, roleSettings } from '../../activities/migrate/database.js';
import { digestOf } from '../../activities/migrate/digest.js';
import { membersFirst } from '../../activities/migrate/identity.js';
import type { IdentityEntityItem, IdentityGroupItem } from '../../common/migrate/inventory.js';
import { aliasBlocker, sameEntity, sameGroup } from '../../common/migrate/plan-identity.js';

describe('identity', () => {
  it('orders groups so that each comes after the groups it has as members', () => {
    const g = (id: string, members: string[] = []) => ({ id, member_group_ids: members });
    const order = membersFirst([g('top', ['mid', 'other-ns']), g('mid', ['leaf']), g('leaf'), g('solo')]);
    expect(order.map((x) => x.id)).toEqual(['leaf', 'solo', 'mid', 'top']);
    // A cycle (Vault refuses them) still yields every group once.
    expect(membersFirst([g('a', ['b']), g('b', ['a'])]).map((x) => x.id)).toEqual(['a', 'b']);
  });

  it('classifies an alias by its auth mount: migrated, not migrated, or gone', () => {
    const migrated = new Set(['userpass/']);
    expect(aliasBlocker({ name: 'alice', mount: 'userpass/' }, migrated)).toBeUndefined();
    expect(aliasBlocker({ name: 'alice', mount: 'github/' }, migrated)).toMatch(
      /^its auth mount auth\/github\/ is not migrated/,
    );
    expect(aliasBlocker({ name: 'alice', mount: null }, migrated)).toMatch(/no longer exists/);
  });

  it('compares entities and groups by policies (any order), metadata digest and members', () => {
    const e: IdentityEntityItem = {
      name: 'svc',
      policies: ['a', 'b'],
      metadataDigest: digestOf({ team: 'a' }),
      disabled: false,
      aliases: [],
    };
    expect(sameEntity(e, { ...e, policies: ['b', 'a'], aliases: [{ name: 'x', mount: 'y/' }] })).toBe(true);
    expect(sameEntity(e, { ...e, metadataDigest: digestOf({ team: 'b' }) })).toBe(false);
    expect(sameEntity(e, { ...e, disabled: true })).toBe(false);
    expect(sameEntity(e, { ...e, policies: ['a'] })).toBe(false);
    const g: IdentityGroupItem = {
      name: 'ops',
      type: 'internal',
      policies: ['a'],
      metadataDigest: digestOf({}),
      memberEntities: ['svc', 'web'],
      memberGroups: [],
      alias: null,
    };
    expect(sameGroup(g, { ...g, memberEntities: ['web', 'svc'] })).toBe(true);
    expect(sameGroup(g, { ...g, memberEntities: ['svc'] })).toBe(false);
    expect(sameGroup(g, { ...g, type: 'external' })).toBe(false);
  });
});

describe('database engine', () => {
  const read = {
    plugin_name: 'postgresql-database-plugin',
    plugin_version: '',
    connection_details: {
      connection_url: 'postgresql://{{username}}:{{password}}@db:5432/postgres',
      username: 'vaultadmin',
      max_open_connections: 4,
    },
    allowed_roles: ['readonly'],
    root_credentials_rotate_statements: [],
    password_policy: '',
    verify_connection: true,
  };

  it('writes the connection without a password, unverified, with its templated URL and username', () => {
    const body = connectionBody(read);
    expect(body).toEqual({
      connection_url: 'postgresql://{{username}}:{{password}}@db:5432/postgres',
      username: 'vaultadmin',
      max_open_connections: 4,
      plugin_name: 'postgresql-database-plugin',
      allowed_roles: ['readonly'],
      root_rotation_statements: [],
      verify_connection: false,
    });
    // Should a plugin ever echo a password, it is not copied.
    const echoed = { ...read, connection_details: { ...read.connection_details, password: 'p' } };
    expect(connectionBody(echoed)).not.toHaveProperty('password');
  });

  it('digests connections and roles alike on both sides, whatever the target may differ in', () => {
    expect(digestOf(connectionSettings(read))).toBe(
      digestOf(connectionSettings({ ...read, verify_connection: false })),
    );
    expect(digestOf(connectionSettings(read))).not.toBe(
      digestOf(connectionSettings({ ...read, allowed_roles: ['*'] })),
    );
    const role = {
      db_name: 'pg',
      creation_statements: ['CREATE ROLE x'],
      default_ttl: 3600,
      renew_statements: [],
    };
    expect(roleSettings(role)).toEqual({
      db_name: 'pg',
      creation_statements: ['CREATE ROLE x'],
      default_ttl: 3600,
    });
    expect(digestOf(roleSettings(role))).toBe(digestOf(roleSettings({ ...role, rollback_statements: null })));
  });
});

describe('other auth methods', () => {
  it('writes a configuration back without reported-only facts or empty values', () => {
    expect(
      configSettings({
        url: 'ldap://x',
        binddn: 'cn=v',
        bindpass_set: true,
        token_reviewer_jwt_set: true,
        certificate: '',
        pem_keys: [],
        provider_config: {},
        insecure_tls: false,
      }),
    ).toEqual({ url: 'ldap://x', binddn: 'cn=v', insecure_tls: false });
  });

  it("names migrated policies as the target does, in LDAP's policies as in token_policies", () => {
    const mapping = { from: '', to: '', prefix: 'm-' };
    const migrated = new Set(['app']);
    expect(withTargetPolicies({ policies: ['app', 'default'] }, mapping, migrated)).toEqual({
      policies: ['m-app', 'default'],
    });
    expect(withTargetPolicies({ token_policies: ['app'], groups: 'admins' }, mapping, migrated)).toEqual({
      token_policies: ['m-app'],
      groups: 'admins',
    });
  });
});
