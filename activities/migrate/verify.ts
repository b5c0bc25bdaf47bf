// Verification after the copy, by digest on both sides: every migrated mount's tuning, every
// policy's text (as adjusted for the target), every transit key's name, type and latest version
// (restored keys must match; re-created ones are reported as such), every identity entity and
// group (identity.ts) and database connection and role (database.ts). KV versions (v2) and KV v1
// values were compared by the copy itself (per-version / per-key digests).
import { type TargetMapping, targetMount } from '../../common/migrate/run.js';
import type { VaultClient } from '../../vault/client.js';
import { segment, vaultPath } from '../../vault/paths.js';
import { verifyDatabase } from './database.js';
import { digestOf } from './digest.js';
import { verifyIdentity } from './identity.js';
import { type MountTable, mountItem, readMounts } from './mount-table.js';
import { migratedMounts } from './mounts.js';
import { plannedPolicies, readPolicyOrNone } from './policies.js';
import { readOrNone } from './sides.js';
import { transitKeys } from './transit-keys.js';

export interface VerifyReport {
  mounts: number;
  policies: number;
  transitKeys: number;
  /** Transit keys re-created (not restored): their versions start again at 1. */
  recreatedKeys: string[];
  /** Identity entities and groups compared (policies, metadata, aliases, members). */
  identity: number;
  /** Database connections and dynamic roles compared (settings, never a password). */
  database: number;
  /** What differs, by name; empty when everything matches. */
  mismatches: string[];
  /** sha256 over the (name, digest) pairs compared, per side. */
  sourceDigest: string;
  targetDigest: string;
}

export async function verifyStructure(
  source: VaultClient,
  target: VaultClient,
  mapping: TargetMapping,
): Promise<VerifyReport> {
  const mismatches: string[] = [];
  const src: [string, string][] = [];
  const dst: [string, string][] = [];
  let mounts = 0;
  for (const table of ['sys/mounts', 'sys/auth'] as MountTable[]) {
    const there = await readMounts(target, table);
    for (const [path, m] of migratedMounts(await readMounts(source, table), mapping, table)) {
      const to = targetMount(mapping, path);
      const want = mountItem(to, m).digest;
      const have = there[to] ? mountItem(to, there[to]).digest : 'missing';
      src.push([`${table}/${to}`, want]);
      dst.push([`${table}/${to}`, have]);
      if (want !== have)
        mismatches.push(
          `${table === 'sys/auth' ? 'auth/' : ''}${to}: ${have === 'missing' ? 'missing' : 'tuning differs'}`,
        );
      mounts++;
    }
  }
  const policies = await plannedPolicies(source, mapping);
  for (const p of policies) {
    const text = await readPolicyOrNone(target, p.target);
    const have = text === undefined ? 'missing' : digestOf(text.trim());
    src.push([`policy/${p.target}`, p.digest]);
    dst.push([`policy/${p.target}`, have]);
    if (have !== p.digest)
      mismatches.push(`policy ${p.target}: ${text === undefined ? 'missing' : 'rules differ'}`);
  }
  const keys = await transitKeys(source, mapping);
  const recreatedKeys: string[] = [];
  for (const k of keys) {
    const a = await readOrNone(source, vaultPath`${k.mount}/keys/${segment(k.name)}`);
    const b = await readOrNone(target, vaultPath`${k.targetMount}/keys/${segment(k.name)}`);
    const facts = (d: Record<string, unknown> | undefined) =>
      d ? `${d.type} v${d.latest_version}` : 'missing';
    const label = `${k.targetMount}/keys/${k.name}`;
    src.push([label, facts(a)]);
    dst.push([label, facts(b)]);
    if (!b) mismatches.push(`${label}: missing`);
    else if (a && !(a.exportable && a.allow_plaintext_backup)) {
      recreatedKeys.push(label);
      if (a.type !== b.type) mismatches.push(`${label}: type ${b.type}, not ${a.type}`);
    } else if (facts(a) !== facts(b)) mismatches.push(`${label}: ${facts(b)}, not ${facts(a)}`);
  }
  const identity = await verifyIdentity(source, target, mapping);
  const database = await verifyDatabase(source, target, mapping);
  for (const part of [identity, database]) {
    mismatches.push(...part.mismatches);
    src.push(...part.source);
    dst.push(...part.target);
  }
  return {
    mounts,
    policies: policies.length,
    transitKeys: keys.length,
    recreatedKeys,
    identity: identity.entities + identity.groups,
    database: database.connections + database.roles,
    mismatches,
    sourceDigest: digestOf(src),
    targetDigest: digestOf(dst),
  };
}
