// The unseal steps of the DR runbooks (failover, failback), shared: wait until every node of the
// restored (or fenced) cluster is unsealed, showing "unseal: k of n shares" while the key holders
// send theirs with `vaultops dr unseal-share`.
//
// After a forced restore the cluster runs unsealed for a few seconds, then seals itself when it
// cannot decrypt the restored keyring (encrypted with the source's root key). So "unsealed" means
// done only once it has sealed and been unsealed, or has stayed unsealed for the settle time (an
// auto-unseal seal), or - the early end - its in-memory keyring is already the snapshot's: then the
// reload after the restore decrypts it and no seal follows (a standby drilled or failed over
// before; the repaired old primary in a failback). That is read from sys/key-status once the
// cluster serves the source's token, and the seal status is read again after it.
import { workflowInfo } from '@temporalio/workflow';
import type { DrActivities } from '../../activities/dr.js';
import type { DrFailoverActivities } from '../../activities/dr-failover.js';
import type { KeyringIdentity } from '../../common/dr.js';
import {
  allUnsealed,
  anySealed,
  type DrFailoverState,
  describeUnseal,
  type SealProgress,
  sealProgressKey,
} from '../../common/dr-failover.js';
import { sealAware } from './seal-aware.js';
import { failureDetail, type StepTracker } from './status.js';

type UnsealActs = Pick<
  DrActivities & DrFailoverActivities,
  'drSealProgress' | 'drAwaitSealChange' | 'drRestoredKeyring' | 'drAwaitRestored'
>;

/** How the wait ended. */
export type UnsealEnd =
  | 'unsealed-by-key-holders'
  /** The keyring is already the snapshot's: no seal can follow the restore. */
  | 'keyring-matches'
  /** Unsealed for the whole settle time: an auto-unseal seal, or a seal that never came. */
  | 'settled'
  /** Unsealed already, no settle asked for. */
  | 'unsealed';

export interface AwaitUnsealedOptions<N extends string> {
  act: UnsealActs;
  steps: StepTracker<N>;
  step: N;
  state: DrFailoverState;
  cluster: string;
  /** The seal progress already read, if any. */
  first?: SealProgress;
  /** How long an unsealed cluster is watched for the seal a forced restore brings (0: not watched). */
  settleMs: number;
  /** After a restore: whose token the cluster honours now, and the snapshot's keyring (null: not recorded). */
  restored?: { sourceCluster: string; keyring: KeyringIdentity | null };
}

export async function awaitUnsealed<N extends string>(
  o: AwaitUnsealedOptions<N>,
): Promise<{ sawSealed: boolean; end: UnsealEnd; keyringLine: string | null }> {
  const { act, steps, step, state, cluster } = o;
  const settleBy = Date.now() + o.settleMs;
  let progress = o.first ?? (await act.drSealProgress({ cluster }));
  let sawSealed = anySealed(progress);
  // Asked once, while settling: the keyring cannot change without a seal in between.
  let keyringToAsk = o.settleMs > 0 && o.restored?.keyring ? o.restored : undefined;
  let keyringMatches = false;
  let keyringLine: string | null = null;
  while (!(allUnsealed(progress) && (sawSealed || keyringMatches || Date.now() >= settleBy))) {
    const line = describeUnseal(progress);
    state.unseal = { waiting: anySealed(progress), nodes: progress.nodes.map((n) => n.address), line };
    const settling = allUnsealed(progress) && !sawSealed;
    steps.set(
      step,
      settling ? 'running' : 'queued-sealed',
      !settling
        ? `${line}; key holders: vaultops dr unseal-share ${workflowInfo().workflowId} --cluster ${cluster}`
        : keyringToAsk
          ? `${line}; asking whether its keyring is already the snapshot's (else watching for the seal that follows a forced restore)`
          : `${line}; watching for the seal that follows a forced restore${keyringLine ? ` (${keyringLine})` : ''}`,
    );
    if (settling && keyringToAsk?.keyring) {
      const asked = await act.drRestoredKeyring({
        targetCluster: cluster,
        sourceCluster: keyringToAsk.sourceCluster,
        snapshotKeyring: keyringToAsk.keyring,
        withinMs: Math.max(1, settleBy - Date.now()),
      });
      keyringToAsk = undefined;
      keyringLine = asked.detail;
      if (asked.verdict === 'matches') {
        // Every node still unsealed after the cluster served: nothing is left to seal it.
        progress = await act.drSealProgress({ cluster });
        if (anySealed(progress)) sawSealed = true;
        else keyringMatches = true;
      }
      continue; // otherwise as before: watch for the seal until the settle time is up
    }
    progress = await act.drAwaitSealChange({
      cluster,
      knownKey: sealProgressKey(progress),
      maxWaitMs: settling ? Math.max(1, settleBy - Date.now()) : 60_000,
    });
    if (anySealed(progress)) sawSealed = true;
  }
  state.unseal = {
    waiting: false,
    nodes: progress.nodes.map((n) => n.address),
    line: describeUnseal(progress),
  };
  const end: UnsealEnd = sawSealed
    ? 'unsealed-by-key-holders'
    : keyringMatches
      ? 'keyring-matches'
      : o.settleMs > 0
        ? 'settled'
        : 'unsealed';
  return { sawSealed, end, keyringLine };
}

/**
 * The unseal step after a forced restore: unsealed (as above), then serving the source's data with
 * the source's token (it may seal again: then the step queues for the key holders). Returns
 * whether the cluster sealed itself.
 */
export async function unsealAfterRestore<N extends string>(
  o: AwaitUnsealedOptions<N> & { restored: { sourceCluster: string; keyring: KeyringIdentity | null } },
): Promise<boolean> {
  const { act, steps, step, cluster } = o;
  try {
    const { sawSealed, end, keyringLine } = await awaitUnsealed(o);
    await sealAware(
      step,
      () => act.drAwaitRestored({ targetCluster: cluster, sourceCluster: o.restored.sourceCluster }),
      { cluster },
    );
    steps.set(step, 'done', describeEnd(end, keyringLine, o.settleMs));
    return sawSealed;
  } catch (err) {
    steps.set(step, 'failed', failureDetail(err));
    throw err;
  }
}

export function describeEnd(end: UnsealEnd, keyringLine: string | null, settleMs: number): string {
  switch (end) {
    case 'unsealed-by-key-holders':
      return 'unsealed by the key holders';
    case 'keyring-matches':
      return `unsealed; no seal can follow the restore: its ${keyringLine ?? "keyring is the snapshot's"}`;
    case 'settled':
      return `unsealed (no seal followed the restore within ${settleMs / 1000} s${keyringLine ? `; ${keyringLine}` : ''})`;
    case 'unsealed':
      return 'unsealed already';
  }
}
