// ACL policies. Each source policy's text is adjusted for the target (common/migrate/run.ts
// adjustPolicyText: namespace paths, prefixed mounts) and compared by digest: identical at the
// target is skipped, different is a conflict. `root` and `default` belong to each namespace.
import { adjustPolicyText, type TargetMapping, targetPolicy } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { ifFound } from '../../vault/errors.js';
import { listPolicies, readPolicy, writePolicy } from '../../vault/sys.js';
import { digestOf } from './digest.js';
import { readMounts } from './mount-table.js';
import { migratedMounts } from './mounts.js';
import { type CopyStep, newReport, targetConflict } from './sides.js';

const OWN_POLICIES = new Set(['root', 'default']);

export interface PolicyPlan {
  source: string;
  target: string;
  /** The digest the target's text must have. */
  digest: string;
  adjusted: string[];
}

/** Every migrated policy, its target name and expected digest (texts stay inside the activity). */
export async function plannedPolicies(
  source: VaultClient,
  mapping: TargetMapping,
): Promise<(PolicyPlan & { text: string })[]> {
  const mounts = [
    ...migratedMounts(await readMounts(source, 'sys/mounts'), mapping, 'sys/mounts').map(([p]) => p),
    ...migratedMounts(await readMounts(source, 'sys/auth'), mapping, 'sys/auth').map(([p]) => `auth/${p}`),
  ];
  const names = await migratedPolicyNames(source, mapping);
  const out: (PolicyPlan & { text: string })[] = [];
  for (const name of names) {
    const { text, adjusted } = adjustPolicyText(await readPolicy(source, name), mapping, mounts);
    out.push({
      source: name,
      target: targetPolicy(mapping, name),
      text,
      digest: digestOf(text.trim()),
      adjusted,
    });
  }
  return out;
}

/** The source policies this migration moves, by their source names. */
export async function migratedPolicyNames(source: VaultClient, mapping: TargetMapping): Promise<string[]> {
  return (await listPolicies(source))
    .filter((n) => !OWN_POLICIES.has(n) && !(mapping.prefix !== '' && n.startsWith(mapping.prefix)))
    .filter((n) => !mapping.only || mapping.only.policies.includes(n))
    .sort();
}

export const readPolicyOrNone = (vault: VaultClient, name: string): Promise<string | undefined> =>
  ifFound(readPolicy(vault, name), undefined);

export const copyPolicies: CopyStep = async (source, target, ledger, mapping) => {
  const report = newReport();
  for (const p of await plannedPolicies(source, mapping)) {
    const there = await readPolicyOrNone(target, p.target);
    if (there !== undefined) {
      if (digestOf(there.trim()) !== p.digest)
        throw targetConflict(`policy ${p.target} exists at the target with other rules`);
      report.skipped.push(`policy ${p.target}`);
      continue;
    }
    await ledger.record({ kind: 'policy', name: p.target });
    await writePolicy(target, p.target, p.text);
    report.created.push(`policy ${p.target}`);
    if (p.adjusted.length > 0)
      report.caveats.push(`policy ${p.target}: paths adjusted (${p.adjusted.join(', ')})`);
  }
  return report;
};
