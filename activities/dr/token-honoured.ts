// Whether a cluster honours the token a client sends: the question a drill, a restore into a fresh
// standby and the keyring check all ask. Only a refusal means no; any other failure is thrown.
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';

export async function honoursToken(vault: VaultClient): Promise<boolean> {
  try {
    await vault.read('auth/token/lookup-self');
    return true;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.PermissionDenied)) return false;
    throw err;
  }
}
