// The database secrets engine for the migration: connections and dynamic roles of each migrated
// database mount. A connection is written with everything Vault returns (plugin, connection_url
// with its {{username}}/{{password}} templates, username, allowed roles, rotation statements),
// never its password, which Vault does not return: so it is written with verify_connection=false
// and the operator re-enters the password at the target (the caveat). Dynamic roles are settings
// and copy exactly. Static roles are not created: creating one rotates the database user's
// password at once, which needs the connection's password (reported, for the cutover).
import type { TargetMapping } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { type Compared, compareDigests, digestOf } from './digest.js';
import { migratedEngines } from './mounts.js';
import { type CopyStep, listOrNone, newReport, readOrNone, targetConflict } from './sides.js';

/** The connection's settings as compared on both sides (what the target may differ in is left out). */
export function connectionSettings(read: Record<string, unknown>): Record<string, unknown> {
  const details = { ...((read.connection_details as Record<string, unknown> | undefined) ?? {}) };
  delete details.password; // never returned; dropped should a plugin echo it
  return {
    plugin_name: read.plugin_name,
    ...(read.plugin_version ? { plugin_version: read.plugin_version } : {}),
    connection_details: details,
    allowed_roles: read.allowed_roles ?? [],
    root_credentials_rotate_statements: read.root_credentials_rotate_statements ?? [],
    ...(read.password_policy ? { password_policy: read.password_policy } : {}),
  };
}

/** The body that configures the connection at the target, without a password and unverified. */
export function connectionBody(read: Record<string, unknown>): Record<string, unknown> {
  const s = connectionSettings(read);
  return {
    ...(s.connection_details as Record<string, unknown>),
    plugin_name: s.plugin_name,
    ...(s.plugin_version ? { plugin_version: s.plugin_version } : {}),
    allowed_roles: s.allowed_roles,
    root_rotation_statements: s.root_credentials_rotate_statements,
    ...(s.password_policy ? { password_policy: s.password_policy } : {}),
    verify_connection: false,
  };
}

/** A dynamic role as Vault returns it, minus empty fields (servers differ in which they list). */
export function roleSettings(read: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(read).filter(
      ([, v]) =>
        v !== null &&
        v !== '' &&
        !(Array.isArray(v) && v.length === 0) &&
        !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0),
    ),
  );
}

export const passwordAction = (mount: string, name: string) =>
  `re-enter the connection's password (vault write ${mount}/config/${name} password=…)`;

const databaseMounts = (source: VaultClient, mapping: TargetMapping) =>
  migratedEngines(source, mapping, (m) => m.type === 'database');

export const copyDatabase: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  for (const { from, to } of await databaseMounts(source, mapping)) {
    for (const name of await listOrNone(source, vaultPath`${from}/config`)) {
      const read = await readOrNone(source, vaultPath`${from}/config/${segment(name)}`);
      if (!read) continue;
      const label = `${to}/config/${name}`;
      const there = await readOrNone(target, vaultPath`${to}/config/${segment(name)}`);
      if (there !== undefined) {
        if (digestOf(connectionSettings(there)) !== digestOf(connectionSettings(read)))
          throw targetConflict(`${label} exists at the target with other settings`);
        report.skipped.push(label);
        continue;
      }
      await ledger.record({ kind: 'database-connection', name: label });
      await target.put(vaultPath`${to}/config/${segment(name)}`, connectionBody(read));
      report.created.push(label);
      const url = (read.connection_details as { connection_url?: string } | undefined)?.connection_url ?? '';
      report.caveats.push(
        `${label}: ${passwordAction(to, name)}${url.includes('{{password}}') ? '' : '; its connection_url has no {{password}} template: check it'}`,
      );
    }
    for (const name of await listOrNone(source, vaultPath`${from}/roles`)) {
      const read = await readOrNone(source, vaultPath`${from}/roles/${segment(name)}`);
      if (!read) continue;
      const settings = roleSettings(read);
      const label = `${to}/roles/${name}`;
      const there = await readOrNone(target, vaultPath`${to}/roles/${segment(name)}`);
      if (there !== undefined) {
        if (digestOf(roleSettings(there)) !== digestOf(settings))
          throw targetConflict(`${label} exists at the target with other settings`);
        report.skipped.push(label);
        continue;
      }
      await ledger.record({ kind: 'database-role', name: label });
      await target.put(vaultPath`${to}/roles/${segment(name)}`, settings);
      report.created.push(label);
    }
    for (const name of await listOrNone(source, vaultPath`${from}/static-roles`))
      report.caveats.push(
        `${from}/static-roles/${name}: not migrated: create it at the target after re-entering the connection password; creating it rotates the user's password, so move its apps in the cutover`,
      );
  }
  return report;
};

export interface DatabaseVerifyReport extends Compared {
  connections: number;
  roles: number;
}

/** Connections and dynamic roles compared by digest of their settings (never a password). */
export async function verifyDatabase(
  source: VaultClient,
  target: VaultClient,
  mapping: TargetMapping,
): Promise<DatabaseVerifyReport> {
  const out: DatabaseVerifyReport = { connections: 0, roles: 0, mismatches: [], source: [], target: [] };
  for (const { from, to } of await databaseMounts(source, mapping)) {
    for (const [list, settings, counter] of [
      ['config', connectionSettings, 'connections'],
      ['roles', roleSettings, 'roles'],
    ] as const) {
      for (const name of await listOrNone(source, vaultPath`${from}/${list}`)) {
        const a = await readOrNone(source, vaultPath`${from}/${list}/${segment(name)}`);
        if (!a) continue;
        const b = await readOrNone(target, vaultPath`${to}/${list}/${segment(name)}`);
        const have = b ? digestOf(settings(b)) : 'missing';
        compareDigests(out, `${to}/${list}/${name}`, digestOf(settings(a)), have, 'settings differ');
        out[counter]++;
      }
    }
  }
  return out;
}
