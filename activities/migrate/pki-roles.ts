// PKI roles: each role's settings, written to the target's PKI mount of the same name. Issuers
// are not migratable (their private keys never leave Vault: the plan says so); a role that names
// an issuer the target lacks is written to use the target's default issuer, and reported.
import { segment, vaultPath } from '../../vault/paths.js';
import { digestOf } from './digest.js';
import { migratedEngines } from './mounts.js';
import { type CopyStep, listOrNone, newReport, readOrNone, targetConflict } from './sides.js';

export const copyPkiRoles: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  for (const { from, to } of await migratedEngines(source, mapping, (m) => m.type === 'pki')) {
    for (const name of await listOrNone(source, vaultPath`${from}/roles`)) {
      const settings = (await readOrNone(source, vaultPath`${from}/roles/${segment(name)}`)) ?? {};
      const label = `${to}/roles/${name}`;
      const there = await readOrNone(target, vaultPath`${to}/roles/${segment(name)}`);
      if (there !== undefined) {
        if (digestOf(there) !== digestOf(settings))
          throw targetConflict(`${label} exists at the target with other settings`);
        report.skipped.push(label);
        continue;
      }
      await ledger.record({ kind: 'pki-role', name: label });
      const issuer = settings.issuer_ref;
      const keepIssuer = typeof issuer !== 'string' || issuer === 'default';
      await target.put(
        vaultPath`${to}/roles/${segment(name)}`,
        keepIssuer ? settings : { ...settings, issuer_ref: 'default' },
      );
      if (!keepIssuer)
        report.caveats.push(
          `${label}: issuer ${issuer} is not migrated; the role uses the target's default issuer`,
        );
      report.created.push(label);
    }
  }
  return report;
};
