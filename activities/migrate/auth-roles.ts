// Auth roles. AppRole: each role's settings, and its role_id set to the source's (apps keep their
// role ID); secret IDs cannot be read, so none is copied: new ones are issued at the target (the
// caveat). Userpass: each user's settings, with a random password nobody knows (Vault keeps only
// a hash of the source's, which it never returns): the user is flagged "reset required". Other
// methods move as mounts only (the plan says so). Role IDs and passwords stay inside this activity.
import { randomBytes } from 'node:crypto';
import { type StepReport, type TargetMapping, targetMount, targetPolicy } from '../../common/migrate-run.js';
import type { VaultClient } from '../vault/client.js';
import { segment, vaultPath } from '../vault/paths.js';
import { digestOf } from './digest.js';
import type { Ledger } from './ledger.js';
import { migratedMounts, readMounts } from './mounts.js';
import { migratedPolicyNames } from './policies.js';
import { listOrNone, newReport, readOrNone, targetConflict } from './sides.js';

const ROLE_LISTS: Record<string, string> = { approle: 'role', userpass: 'users' };

/**
 * Settings as they can be written back: deprecated aliases Vault still returns (policies beside
 * token_policies, period beside token_period, ...) are left out, as Vault refuses both at once.
 */
export function writableSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).filter(([k]) => !(`token_${k}` in settings) && k !== 'bound_cidr_list'),
  );
}

/** A role's policies as the target names them (prefixed, where the policy was migrated). */
export function withTargetPolicies(
  settings: Record<string, unknown>,
  mapping: TargetMapping,
  migrated: ReadonlySet<string>,
): Record<string, unknown> {
  const list = settings.token_policies;
  if (!Array.isArray(list)) return settings;
  return {
    ...settings,
    token_policies: list.map((p) =>
      typeof p === 'string' && migrated.has(p) ? targetPolicy(mapping, p) : p,
    ),
  };
}

export async function copyAuthRoles(
  source: VaultClient,
  target: VaultClient,
  ledger: Ledger,
  mapping: TargetMapping,
): Promise<StepReport> {
  const report = newReport();
  const policies = new Set(await migratedPolicyNames(source, mapping));
  for (const [path, m] of migratedMounts(await readMounts(source, 'sys/auth'), mapping, 'sys/auth')) {
    const list = ROLE_LISTS[m.type];
    if (!list) {
      report.caveats.push(`auth/${path}: ${m.type} roles are not copied; re-create them at the target`);
      continue;
    }
    const from = `auth/${path.replace(/\/$/, '')}`;
    const to = `auth/${targetMount(mapping, path).replace(/\/$/, '')}`;
    for (const name of await listOrNone(source, vaultPath`${from}/${list}`)) {
      const read = (await readOrNone(source, vaultPath`${from}/${list}/${segment(name)}`)) ?? {};
      const settings = withTargetPolicies(writableSettings(read), mapping, policies);
      const label = `${to}/${list}/${name}`;
      const there = await readOrNone(target, vaultPath`${to}/${list}/${segment(name)}`);
      if (there !== undefined) {
        if (digestOf(writableSettings(there)) !== digestOf(settings))
          throw targetConflict(`${label} exists at the target with other settings`);
        report.skipped.push(label);
        continue;
      }
      await ledger.record({ kind: 'auth-role', name: label });
      if (m.type === 'approle') {
        await target.put(vaultPath`${to}/role/${segment(name)}`, settings);
        const roleId = (await source.read(vaultPath`${from}/role/${segment(name)}/role-id`)) as {
          data: { role_id: string };
        };
        await target.put(vaultPath`${to}/role/${segment(name)}/role-id`, { role_id: roleId.data.role_id });
        report.caveats.push(
          `${label}: role ID kept; secret IDs are not copied: issue new ones at the target`,
        );
      } else {
        await target.put(vaultPath`${to}/users/${segment(name)}`, {
          ...settings,
          password: randomBytes(32).toString('base64url'),
        });
        report.caveats.push(`${label}: reset required (created with a random password nobody knows)`);
      }
      report.created.push(label);
    }
  }
  return report;
}
