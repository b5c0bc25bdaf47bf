// A standby that has never been initialised cannot take a restore: snapshot-force needs an
// unsealed, active target and a token it honours. So the restore first initialises it with ONE
// share and threshold 1, unseals it, and restores with the init root token. Those keys are
// throwaway: the restore replaces the standby's keyring and token store with the primary's, after
// which it opens only with the primary's shares (the failover's unseal step).
//
// Why a file, and which one. A worker can die between the init and the end of the restore. If the
// throwaway key lived only in memory, the retry would meet a standby that is initialised and
// sealed with a key nobody has: stuck until someone wipes its raft data. So the key and token are
// kept, between the init and the restore's end, in a mode-0600 file next to the snapshot store
// (`.fresh-init-<cluster>.json`, written beside its name and renamed into place, fsynced): the
// workers that restore share that directory already, since they read the snapshots from it. The
// file is removed as soon as the restore is in. Nothing of it is returned to the workflow or logged.
//
// What a retry finds, and does:
//   - no file, no node initialised               → initialise afresh (the first node that answers)
//   - the file, the node sealed                  → unseal it with the throwaway key; if the key no
//                                                  longer opens it, the restore went in already (its
//                                                  keyring is the primary's): the file goes, done
//   - the file, the token no longer honoured     → the restore went in already: the file goes, and
//                                                  the usual path (the source's credentials) restores
//                                                  again, which is safe
//   - no file, a node initialised                → not fresh: the usual path
// A fresh standby of several nodes is initialised on the first that answers; the others join it
// by their retry_join once it is unsealed, and the key holders' shares (the primary's, after the
// restore) unseal them like the first.
// The one window left is between sys/init's answer and the file being durable (a few
// milliseconds): a worker killed exactly there leaves a standby sealed with a lost key, which the
// usual path reports as sealed; the message says to wipe its raft data and restart it.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { NodeProbe } from '../../common/dr/detect.js';
import { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType, vaultFailure } from '../../vault/errors.js';
import { parseResponse } from '../../vault/response.js';
import { readHealth, unseal } from '../../vault/sys.js';
import { stageFile } from '../staged-file.js';
import { probeCluster } from './probe.js';
import { honoursToken } from './token-honoured.js';

const PROBE_TIMEOUT_MS = 5000;
/** The restore's upload goes through this node client: long enough for a large snapshot. */
const NODE_TIMEOUT_MS = 600_000;
const ACTIVE_WITHIN_MS = 60_000;

const pendingSchema = z.object({
  cluster: z.string(),
  address: z.string(),
  unsealKey: z.string().min(1),
  rootToken: z.string().min(1),
  initialisedAt: z.string(),
});
type PendingInit = z.output<typeof pendingSchema>;

const initAnswer = z.object({ keys_base64: z.array(z.string()).min(1), root_token: z.string().min(1) });

/** Where a fresh standby's throwaway key and token wait for the restore (mode 0600). */
export const pendingInitFile = (dir: string, cluster: string) => join(dir, `.fresh-init-${cluster}.json`);

export type FreshStandby =
  /** Initialised here (now or by an earlier attempt): restore through `leader`, then `finish()`. */
  | { kind: 'initialised'; leader: VaultClient; finish(): Promise<void>; close(): Promise<void> }
  /** An earlier attempt's restore went in already: the usual path takes it from here. */
  | { kind: 'restored-already' }
  /** Initialised before this failover: the usual path. */
  | { kind: 'not-fresh' };

/**
 * Makes an uninitialised standby restorable (initialised, unsealed, active, a token in hand), or
 * says it is not fresh. `dir` holds the pending-init file.
 */
export async function prepareFreshStandby(
  cluster: VaultClient,
  name: string,
  dir: string,
  signal?: AbortSignal,
): Promise<FreshStandby> {
  const file = pendingInitFile(dir, name);
  let pending = await readPending(file);
  if (!pending) {
    const { nodes } = await probeCluster(cluster, PROBE_TIMEOUT_MS);
    const answering = nodes.filter((n) => n.health !== 'no-answer');
    if (answering.length === 0)
      throw vaultFailure(VaultErrorType.Unavailable, `no node of ${name} answers sys/health`, {
        method: 'GET',
        path: 'sys/health',
        status: null,
        namespace: null,
      });
    if (answering.some((n) => n.health !== 'uninitialized')) return { kind: 'not-fresh' };
    pending = await initialise(cluster, name, (answering[0] as NodeProbe).address, file);
  }
  const carrier = new VaultClient({ address: pending.address });
  carrier.tokens.set(pending.rootToken);
  const leader = cluster.forNode(pending.address, { timeoutMs: NODE_TIMEOUT_MS }).withTokensOf(carrier);
  const close = async () => {
    await Promise.all([leader.close(), carrier.close()]).catch(() => undefined);
  };
  const forget = () => rm(file, { force: true });
  try {
    if ((await readHealth(leader)).sealed && !(await opens(leader, pending.unsealKey))) {
      await forget();
      await close();
      return { kind: 'restored-already' };
    }
    await untilActive(leader, name, signal);
    if (!(await honoursToken(leader))) {
      await forget();
      await close();
      return { kind: 'restored-already' };
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    kind: 'initialised',
    leader,
    close,
    async finish() {
      await forget();
      await close();
    },
  };
}

async function readPending(file: string): Promise<PendingInit | null> {
  try {
    return pendingSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Never echo the file: it holds a key. Its name is enough to act on.
    throw vaultFailure(
      VaultErrorType.InvalidRequest,
      `${file} is not a pending-init record this worker can read; if no failover is restoring into a fresh standby, remove it`,
      { method: 'GET', path: 'sys/init', status: null, namespace: null },
    );
  }
}

/** sys/init with one share; the answer goes straight into the 0600 pending file, nowhere else. */
async function initialise(
  cluster: VaultClient,
  name: string,
  address: string,
  file: string,
): Promise<PendingInit> {
  const node = cluster.forNode(address, { timeoutMs: 30_000 });
  try {
    const answer = parseResponse(
      initAnswer,
      await node.write('sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null, namespace: '' }),
      'sys/init',
    );
    const pending: PendingInit = {
      cluster: name,
      address,
      unsealKey: answer.keys_base64[0] as string,
      rootToken: answer.root_token,
      initialisedAt: new Date().toISOString(),
    };
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const staged = await stageFile(file, JSON.stringify(pending), 0o600, 'DrFreshStandby');
    await staged.commit();
    return pending;
  } finally {
    await node.close().catch(() => undefined);
  }
}

/** Whether the throwaway key unseals the node: a refused key means its keyring is not ours any more. */
async function opens(node: VaultClient, key: string): Promise<boolean> {
  try {
    return !(await unseal(node, key)).sealed;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.InvalidRequest)) return false;
    throw err;
  }
}

/** A node just unsealed elects itself leader of its one-node raft cluster within seconds. */
async function untilActive(node: VaultClient, name: string, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (signal?.aborted) throw signal.reason;
    try {
      const h = await readHealth(node);
      if (h.initialized && !h.sealed && !h.standby) return;
      last = h.sealed ? 'sealed' : 'standby';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw vaultFailure(
    VaultErrorType.Unavailable,
    `${name} (${node.address}), initialised for the restore, did not become active within ${ACTIVE_WITHIN_MS / 1000} s (${last})`,
    { method: 'GET', path: 'sys/health', status: null, namespace: null },
  );
}
