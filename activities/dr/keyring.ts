// The barrier keyring a cluster holds in memory, as sys/key-status tells it (term and install time
// of the active key; not secret), and the question a failover asks of a restored standby: is its
// keyring already the snapshot's? A forced restore seals a standby that cannot decrypt the restored
// keyring; one whose in-memory keyring came from the same source (drilled or failed over before,
// or the repaired old primary in a failback) decrypts it and stays unsealed, so nobody need wait
// for a seal that never comes.
// What equal term and install time do not prove: a root key rotated since (sys/rekey,
// sys/rotate/root) re-encrypts the keyring without changing its active key, so such a standby
// still seals, later. The runbook steps after the unseal are seal-aware: that seal queues them
// until the key holders unseal it, as a seal seen in the unseal step would have.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { type KeyringIdentity, sameKeyring } from '../../common/dr/snapshots.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { parseResponse } from '../../vault/response.js';
import { readHealth } from '../../vault/sys.js';
import { honoursToken } from './token-honoured.js';

const keyStatus = z.object({ term: z.number().int(), install_time: z.string() });
// Vault and OpenBao answer at the top level; some versions repeat it under `data`.
const keyStatusSchema = z.union([keyStatus, z.object({ data: keyStatus })]);

/** The active key's term and install time; null when sys/key-status may not be read. */
export async function readKeyring(vault: VaultClient): Promise<KeyringIdentity | null> {
  let body: unknown;
  try {
    body = await vault.read('sys/key-status', { namespace: '' });
  } catch (err) {
    // A policy without it, or a server that does not answer it: the failover waits the settle time.
    if (
      isVaultFailure(err, VaultErrorType.PermissionDenied) ||
      isVaultFailure(err, VaultErrorType.NotFound) ||
      isVaultFailure(err, VaultErrorType.InvalidRequest)
    )
      return null;
    throw err;
  }
  const parsed = parseResponse(keyStatusSchema, body, 'sys/key-status');
  const k = 'data' in parsed ? parsed.data : parsed;
  return { term: k.term, installTime: k.install_time };
}

export type KeyringVerdict =
  /** Serving, and its keyring is the snapshot's: the restore cannot seal it for a keyring mismatch. */
  | 'matches'
  /** Serving with another keyring: the seal is still to come (or it auto-unseals). */
  | 'differs'
  /** Sealed before it could be asked: the restore's seal came. */
  | 'sealed'
  /** Not serving the source's token within the time given, or key-status not readable. */
  | 'unknown';

/**
 * Waits (polling every 250 ms, up to `withinMs`) until the restored cluster serves the source's
 * token, then compares its keyring with the snapshot's. A cold standby never serves that token
 * before it seals (it cannot decrypt the restored token store), so it answers `sealed` or `unknown`.
 */
export async function restoredKeyringVerdict(
  borrowed: VaultClient,
  snapshot: KeyringIdentity,
  o: { withinMs: number; signal?: AbortSignal | undefined },
): Promise<{ verdict: KeyringVerdict; detail: string }> {
  const deadline = Date.now() + o.withinMs;
  let last = 'no answer yet';
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason;
    try {
      if ((await readHealth(borrowed)).sealed) return { verdict: 'sealed', detail: 'sealed' };
      if (!(await honoursToken(borrowed))) throw new Error("the source's token is not honoured yet");
      const held = await readKeyring(borrowed);
      if (!held) return { verdict: 'unknown', detail: 'sys/key-status is not readable with this token' };
      const line = `term ${held.term}, installed ${held.installTime}`;
      return sameKeyring(held, snapshot)
        ? { verdict: 'matches', detail: `keyring is the snapshot's (${line})` }
        : {
            verdict: 'differs',
            detail: `keyring ${line}; the snapshot's is term ${snapshot.term}, installed ${snapshot.installTime}`,
          };
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.Sealed)) return { verdict: 'sealed', detail: 'sealed' };
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) return { verdict: 'unknown', detail: `not serving yet (${last})` };
    await sleep(250);
  }
}
