// Transit keys. A key that is exportable and allows plaintext backup moves whole: backed up at the
// source and restored at the target inside this one activity (the backup holds the key material:
// it must never reach a workflow's history, so it never leaves this function). Any other key is
// re-created with the same type and flags: ciphertexts made at the source do not decrypt at the
// target, so apps must rewrap them (the caveat). A key the target already has is compared by type
// and latest version.
import type { TargetMapping } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { migratedEngines } from './mounts.js';
import { type CopyStep, listOrNone, newReport, readOrNone, targetConflict } from './sides.js';

interface KeySettings {
  type: string;
  latest_version: number;
  exportable?: boolean;
  allow_plaintext_backup?: boolean;
  derived?: boolean;
  convergent_encryption?: boolean;
}

/** Every source transit key: "<mount>/keys/<name>" at the source and at the target. */
export async function transitKeys(source: VaultClient, mapping: TargetMapping) {
  const out: { mount: string; targetMount: string; name: string }[] = [];
  for (const { from, to } of await migratedEngines(source, mapping, (m) => m.type === 'transit')) {
    for (const name of await listOrNone(source, vaultPath`${from}/keys`))
      out.push({ mount: from, targetMount: to, name });
  }
  return out;
}

export const copyTransitKeys: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  for (const k of await transitKeys(source, mapping)) {
    const key = (await readOrNone(source, vaultPath`${k.mount}/keys/${segment(k.name)}`)) as
      | KeySettings
      | undefined;
    if (!key) continue; // deleted meanwhile
    const label = `${k.targetMount}/keys/${k.name}`;
    const there = (await readOrNone(target, vaultPath`${k.targetMount}/keys/${segment(k.name)}`)) as
      | KeySettings
      | undefined;
    if (there) {
      if (there.type !== key.type || there.latest_version !== key.latest_version)
        throw targetConflict(`${label} exists at the target as another key`);
      report.skipped.push(label);
      continue;
    }
    await ledger.record({ kind: 'transit-key', name: label });
    if (key.exportable && key.allow_plaintext_backup) {
      const backup = (await source.read(vaultPath`${k.mount}/backup/${segment(k.name)}`)) as {
        data: { backup: string };
      };
      await target.put(vaultPath`${k.targetMount}/restore/${segment(k.name)}`, {
        backup: backup.data.backup,
      });
      report.created.push(`${label} (restored from backup, ${key.latest_version} versions)`);
      continue;
    }
    await target.put(vaultPath`${k.targetMount}/keys/${segment(k.name)}`, {
      type: key.type,
      ...(key.derived ? { derived: true } : {}),
      ...(key.convergent_encryption ? { convergent_encryption: true } : {}),
      ...(key.exportable ? { exportable: true } : {}),
      ...(key.allow_plaintext_backup ? { allow_plaintext_backup: true } : {}),
    });
    report.created.push(`${label} (re-created)`);
    report.caveats.push(
      `${label}: re-created (the source's key material cannot leave it): apps must decrypt at the source and re-encrypt at the target`,
    );
  }
  return report;
};
