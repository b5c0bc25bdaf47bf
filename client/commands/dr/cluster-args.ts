// Options the DR commands share: two cluster names (the one acted from and the one acted on) and
// the hook run at the switch. Each command says in its own words why the second must differ.
import { UsageError } from '../usage-error.js';

/** A cluster name as the configuration's vault_clusters keys spell it. */
export const CLUSTER = /^[a-z0-9][a-z0-9-]*$/;

type Flag = readonly [flag: string, value: string | undefined];

/** Two well-formed, different cluster names; `why` ends the "must be another cluster" message. */
export function checkClusterPair(from: Flag, to: Flag, why: string): void {
  for (const [flag, value] of [from, to])
    if (!CLUSTER.test(value ?? ''))
      throw new UsageError(`${flag} must be a configured cluster name (lowercase letters, digits and "-")`);
  if (from[1] === to[1]) throw new UsageError(`${to[0]} must be another cluster than ${from[0]}: ${why}`);
}

/** A --hook that is given must be a command, not blank. */
export function checkHook(hook: string | undefined): void {
  if (hook !== undefined && hook.trim() === '')
    throw new UsageError('--hook must be a command, e.g. --hook "./switch-dns.sh"');
}
