// Auth roles. AppRole: each role's settings, and its role_id set to the source's (apps keep their
// role ID); secret IDs cannot be read, so none is copied: new ones are issued at the target (the
// caveat). Userpass: each user's settings, with a random password nobody knows (Vault keeps only
// a hash of the source's, which it never returns): the user is flagged "reset required". JWT/OIDC
// and Kubernetes roles, TLS certificate entries (public certificates) and LDAP groups and users
// are plain settings and copy as read; their method's configuration is copied into an auth mount
// this migration created, minus what Vault never returns (client secret, reviewer JWT, bind
// password: the caveat names it). Other methods move as mounts only (the plan says so). Role IDs
// and passwords stay inside this activity.
import { randomBytes } from 'node:crypto';
import { type StepReport, type TargetMapping, targetMount, targetPolicy } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { digestOf } from './digest.js';
import type { Ledger } from './ledger.js';
import { readMounts } from './mount-table.js';
import { migratedMounts } from './mounts.js';
import { migratedPolicyNames } from './policies.js';
import { type CopyStep, listOrNone, newReport, readOrNone, targetConflict } from './sides.js';

/** Where each method keeps its roles, and its configuration's fields Vault never returns. */
const AUTH_COPY: Record<string, { lists: string[]; config?: (c: Record<string, unknown>) => string[] }> = {
  approle: { lists: ['role'] },
  userpass: { lists: ['users'] },
  jwt: { lists: ['role'], config: (c) => (c.oidc_client_id ? ['oidc_client_secret'] : []) },
  oidc: { lists: ['role'], config: (c) => (c.oidc_client_id ? ['oidc_client_secret'] : []) },
  kubernetes: { lists: ['role'], config: (c) => (c.token_reviewer_jwt_set ? ['token_reviewer_jwt'] : []) },
  cert: { lists: ['certs'] },
  ldap: {
    lists: ['groups', 'users'],
    config: (c) => [...(c.binddn ? ['bindpass'] : []), ...(c.client_tls_cert ? ['client_tls_key'] : [])],
  },
};

/** Read-only facts some methods report beside their configuration: not written back. */
const REPORTED_ONLY = new Set(['token_reviewer_jwt_set', 'bindpass_set', 'oidc_client_secret_set']);

/**
 * Settings as they can be written back: deprecated aliases Vault still returns (policies beside
 * token_policies, period beside token_period, ...) are left out, as Vault refuses both at once.
 */
export function writableSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).filter(([k]) => !(`token_${k}` in settings) && k !== 'bound_cidr_list'),
  );
}

/**
 * Settings as compared: unset, null, [] and "" say the same, and servers answer one for another
 * (an AppRole role written with secret_id_bound_cidrs null reads back []), so a role a cut-short
 * attempt created is not mistaken for another's with other settings.
 */
function comparable(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).filter(
      ([, v]) => !(v === null || v === '' || (Array.isArray(v) && v.length === 0)),
    ),
  );
}

/** A role's policies as the target names them (prefixed, where the policy was migrated). */
export function withTargetPolicies(
  settings: Record<string, unknown>,
  mapping: TargetMapping,
  migrated: ReadonlySet<string>,
): Record<string, unknown> {
  // token_policies for most methods; LDAP groups and users keep theirs in `policies`.
  const out = { ...settings };
  for (const key of ['token_policies', 'policies'] as const) {
    const list = out[key];
    if (Array.isArray(list))
      out[key] = list.map((p) => (typeof p === 'string' && migrated.has(p) ? targetPolicy(mapping, p) : p));
  }
  return out;
}

export const copyAuthRoles: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  const policies = new Set(await migratedPolicyNames(source, mapping));
  const created = new Set((await ledger.entries()).filter((e) => e.kind === 'auth').map((e) => e.name));
  for (const [path, m] of migratedMounts(await readMounts(source, 'sys/auth'), mapping, 'sys/auth')) {
    const spec = AUTH_COPY[m.type];
    if (!spec) {
      report.caveats.push(
        `auth/${path}: not migrated: ${m.type} configuration and roles (vaultops copies only the mount and its tuning); re-create them at the target`,
      );
      continue;
    }
    const from = `auth/${path.replace(/\/$/, '')}`;
    const to = `auth/${targetMount(mapping, path).replace(/\/$/, '')}`;
    if (spec.config)
      await copyAuthConfig(
        source,
        target,
        { from, to, fresh: created.has(targetMount(mapping, path)), unreadable: spec.config },
        report,
      );
    for (const list of spec.lists)
      await copyRoles(source, target, ledger, { m, from, to, list, mapping, policies }, report);
  }
  return report;
};

/**
 * The method's configuration, into an auth mount this migration created (one the target had
 * keeps its own: a difference is reported). A configuration the target refuses (it may contact
 * an identity provider the target cannot reach) is reported, not fatal: the roles still move.
 */
async function copyAuthConfig(
  source: VaultClient,
  target: VaultClient,
  at: { from: string; to: string; fresh: boolean; unreadable: (c: Record<string, unknown>) => string[] },
  report: StepReport,
) {
  const read = await readOrNone(source, vaultPath`${at.from}/config`);
  if (!read || Object.keys(read).length === 0) return;
  const settings = configSettings(read);
  const label = `${at.to}/config`;
  if (!at.fresh) {
    const there = await readOrNone(target, vaultPath`${at.to}/config`);
    if (there && digestOf(configSettings(there)) === digestOf(settings)) report.skipped.push(label);
    else
      report.caveats.push(
        `${label}: the target's auth method existed with another configuration: kept; compare them`,
      );
    return;
  }
  try {
    await target.put(vaultPath`${at.to}/config`, settings);
  } catch (err) {
    if (!isVaultFailure(err, VaultErrorType.InvalidRequest)) throw err;
    report.caveats.push(
      `${label}: not copied, the target refused it (${(err as Error).message}): configure it at the target`,
    );
    return;
  }
  report.created.push(label);
  const secrets = at.unreadable(read);
  if (secrets.length > 0)
    report.caveats.push(`${label}: re-enter ${secrets.join(', ')} at the target (Vault never returns it)`);
}

/** A configuration as written back: reported-only facts and empty values (servers differ) left out. */
export function configSettings(read: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(read).filter(
      ([k, v]) =>
        !REPORTED_ONLY.has(k) &&
        v !== null &&
        v !== '' &&
        !(Array.isArray(v) && v.length === 0) &&
        !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0),
    ),
  );
}

async function copyRoles(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  at: {
    m: { type: string };
    from: string;
    to: string;
    list: string;
    mapping: TargetMapping;
    policies: ReadonlySet<string>;
  },
  report: StepReport,
) {
  const { m, from, to, list, mapping, policies } = at;
  // Roles an earlier attempt of this step created: a worker killed (or a reply lost) between an
  // AppRole's two writes left it with a random role ID, which the retry must still set.
  const createdBefore = new Set(
    (await ledger.entries()).filter((e) => e.kind === 'auth-role').map((e) => e.name),
  );
  const keepRoleId = async (name: string, label: string) => {
    const roleId = (await source.read(vaultPath`${from}/role/${segment(name)}/role-id`)) as {
      data: { role_id: string };
    };
    await target.put(vaultPath`${to}/role/${segment(name)}/role-id`, { role_id: roleId.data.role_id });
    report.caveats.push(`${label}: role ID kept; secret IDs are not copied: issue new ones at the target`);
  };
  for (const name of await listOrNone(source, vaultPath`${from}/${list}`)) {
    const read = (await readOrNone(source, vaultPath`${from}/${list}/${segment(name)}`)) ?? {};
    const settings = withTargetPolicies(writableSettings(read), mapping, policies);
    const label = `${to}/${list}/${name}`;
    const there = await readOrNone(target, vaultPath`${to}/${list}/${segment(name)}`);
    if (there !== undefined) {
      if (digestOf(comparable(writableSettings(there))) !== digestOf(comparable(settings)))
        throw targetConflict(`${label} exists at the target with other settings`);
      if (!createdBefore.has(label)) {
        report.skipped.push(label);
        continue;
      }
      // Ours, from an attempt cut short: finished (the role-id put is idempotent) and reported as created.
      if (m.type === 'approle') await keepRoleId(name, label);
      else if (m.type === 'userpass')
        report.caveats.push(`${label}: reset required (created with a random password nobody knows)`);
      report.created.push(label);
      continue;
    }
    await ledger.record({ kind: 'auth-role', name: label });
    if (m.type === 'approle') {
      await target.put(vaultPath`${to}/role/${segment(name)}`, settings);
      await keepRoleId(name, label);
    } else if (m.type === 'userpass') {
      await target.put(vaultPath`${to}/users/${segment(name)}`, {
        ...settings,
        password: randomBytes(32).toString('base64url'),
      });
      report.caveats.push(`${label}: reset required (created with a random password nobody knows)`);
    } else await target.put(vaultPath`${to}/${list}/${segment(name)}`, settings);
    report.created.push(label);
  }
}
