// `vaultops dr primary`: which cluster takes writes now, and where. The configuration's cluster
// entries stay as written; the current-primary record the last failover or failback wrote (next
// to the snapshot store) says which of them is primary (common/dr/primary.ts says why). `--env`
// prints the VAULT_ADDR to export, so `eval "$(vaultops dr primary --env)"` points a shell, and
// the `vault`/`bao` CLIs in it, at the new primary.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultSnapshotDir } from '../../../activities/dr/directory-store.js';
import { loadClusterAddresses } from '../../../common/config/file.js';
import type { CurrentPrimaryRecord } from '../../../common/dr/failover.js';
import {
  type PrimaryResolution,
  parseCurrentPrimaryRecord,
  resolvePrimary,
} from '../../../common/dr/primary.js';

type Out = (line: string) => void;

export interface DrPrimaryOptions {
  config?: string;
  /** The worker's snapshot directory, where the record is (default: as `dr snapshots`). */
  dir?: string;
  env?: boolean;
  json?: boolean;
}

/** The record file the switch writes: current-primary.json in the snapshot directory. */
export const currentPrimaryFile = (dir: string) => join(dir, 'current-primary.json');

async function readRecord(file: string): Promise<CurrentPrimaryRecord | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseCurrentPrimaryRecord(text, file);
}

/** The primary as the configuration and the record resolve it (what the next command should use). */
export async function currentPrimary(
  opts: Pick<DrPrimaryOptions, 'config' | 'dir'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PrimaryResolution> {
  const clusters = loadClusterAddresses(opts.config, env);
  const record = await readRecord(currentPrimaryFile(opts.dir ?? defaultSnapshotDir(env)));
  return resolvePrimary(clusters, record);
}

export async function drPrimaryCommand(opts: DrPrimaryOptions, out: Out): Promise<PrimaryResolution> {
  const primary = await currentPrimary(opts);
  const first = primary.addresses[0];
  if (opts.json) out(JSON.stringify(primary, null, 2));
  else if (opts.env) {
    if (!first) throw new Error(`no address is known for ${primary.cluster}: add it under vault_clusters`);
    out(`export VAULT_ADDR=${first}`);
  } else {
    const r = primary.record;
    out(
      `Primary    ${primary.cluster}${r ? ` since ${r.since} (${r.previous} before it; ${r.workflowId}, snapshot ${r.snapshotId})` : ' (the configured default cluster; no failover recorded)'}`,
    );
    out(
      `Addresses  ${primary.addresses.join(', ') || '(none known)'}${primary.addressesFrom === 'record' ? ` (as the worker reached them: the configuration does not name ${primary.cluster})` : ''}`,
    );
  }
  return primary;
}
