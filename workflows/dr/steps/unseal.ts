// The unseal steps of the DR runbooks (failover, failback), shared: wait until every node of the
// restored (or fenced) cluster is unsealed, showing "unseal: k of n shares" while the key holders
// send theirs with `vaultops dr unseal-share`.
//
// After a forced restore the cluster runs unsealed for a few seconds, then seals itself when it
// cannot decrypt the restored keyring (encrypted with the source's root key). So "unsealed" means
// done only once it has sealed and been unsealed, or has stayed unsealed for the settle time (an
// auto-unseal seal), or - the early end - its in-memory keyring is already the snapshot's (a
// standby drilled or failed over before; the repaired old primary in a failback), read from
// sys/key-status once the cluster serves the source's token. Then the seal is watched for only
// through the reload window, not the whole settle time: the reload that seals a cluster comes
// about 5 s after the upload on both servers, and a rekey or root-key rotation keeps the keyring's
// term and install time, so a match alone cannot rule that seal out.
import { workflowInfo } from '@temporalio/workflow';
import type { DrFailoverActivities } from '../../../activities/dr/failover.js';
import type { DrActivities } from '../../../activities/dr/protect-and-drill.js';
import {
  allUnsealed,
  anySealed,
  type DrFailoverState,
  describeUnseal,
  type SealProgress,
  sealProgressKey,
} from '../../../common/dr/failover.js';
import type { KeyringIdentity } from '../../../common/dr/snapshots.js';
import { sealAware } from '../../lib/seal-aware.js';
import { failureDetail, type StepTracker } from '../../lib/status.js';

/** From the end of the upload: the reload that seals a cluster came 5.0 s after it in every run. */
const RELOAD_WINDOW_MS = 8_000;

type UnsealActs = Pick<
  DrActivities & DrFailoverActivities,
  'drSealProgress' | 'drAwaitSealChange' | 'drRestoredKeyring' | 'drAwaitRestored'
>;

/** How the wait ended. */
export type UnsealEnd =
  | 'unsealed-by-key-holders'
  /** The keyring is already the snapshot's, and no seal came through the reload window. */
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
  const started = Date.now();
  let settleBy = started + o.settleMs;
  let progress = o.first ?? (await act.drSealProgress({ cluster }));
  let sawSealed = anySealed(progress);
  // Asked once, while settling: the keyring cannot change without a seal in between.
  let keyringToAsk = o.settleMs > 0 && o.restored?.keyring ? o.restored : undefined;
  let keyringMatches = false;
  let keyringLine: string | null = null;
  while (!(allUnsealed(progress) && (sawSealed || Date.now() >= settleBy))) {
    const line = describeUnseal(progress);
    state.unseal = { waiting: anySealed(progress), nodes: progress.nodes.map((n) => n.address), line };
    const settling = allUnsealed(progress) && !sawSealed;
    // Queued for the key holders only while a node says it is sealed: a node that does not answer
    // (the server's pause after a restore) is waited for, and unseal-share would refuse it.
    const sealed = anySealed(progress);
    steps.set(
      step,
      sealed ? 'queued-sealed' : 'running',
      sealed
        ? `${line}; key holders: vaultops dr unseal-share ${workflowInfo().workflowId} --cluster ${cluster}`
        : !settling
          ? `${line}; waiting for every node to answer`
          : keyringToAsk
            ? `${line}; asking whether its keyring is already the snapshot's (else watching for the seal that follows a forced restore)`
            : keyringMatches
              ? `${line}; keyring matches the snapshot's; watching through the reload window for a seal`
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
        keyringMatches = true;
        settleBy = Math.min(settleBy, started + RELOAD_WINDOW_MS);
      }
      continue; // then watch for the seal until the (maybe shortened) settle time is up
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
      return `unsealed; its ${keyringLine ?? "keyring is the snapshot's"}, and no seal came in the ${RELOAD_WINDOW_MS / 1000} s after the restore`;
    case 'settled':
      return `unsealed (no seal followed the restore within ${settleMs / 1000} s${keyringLine ? `; ${keyringLine}` : ''})`;
    case 'unsealed':
      return 'unsealed already';
  }
}
