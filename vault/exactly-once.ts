// Writes that must happen exactly once. The client never resends a write that is not safe to
// repeat once it may have reached Vault; it fails with VaultOutcomeUnknown instead. Here the
// caller settles that by reading the state: the write is done (take its result), or it is not
// (send it again, which can then not do it twice).
import { isVaultFailure, VaultErrorType } from './errors.js';

export type Settled<T> = { done: true; value: T } | { done: false };

/**
 * Sends `send`; when its outcome is unknown, asks `settle` what the state says. Gives up after
 * `attempts` sends with the last OutcomeUnknown, which names the call, so nothing is repeated
 * blindly. `settle` should be as strict as the state allows: a CAS-guarded resend cannot land
 * twice even if the first send is still in flight somewhere.
 */
export async function exactlyOnce<T>(
  send: () => Promise<T>,
  settle: () => Promise<Settled<T>>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.OutcomeUnknown) || attempt >= attempts) throw err;
      const state = await settle();
      if (state.done) return state.value;
    }
  }
}
