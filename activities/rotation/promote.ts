// The forward steps: the pending credential put in force on the target, proven, and promoted to
// the secret's next version.
import { pendingPath } from '../../common/rotation/labels.js';
import { deleteAll, writeSecret } from '../../vault/kv.js';
import type { ClusterClients } from '../clusters.js';
import type { CreatePendingInput, PromoteInput, RotationRef } from './inputs.js';
import { held } from './lock.js';
import { pendingCredential } from './pending.js';
import { readVersion, setLabels, setState } from './secret-labels.js';
import { withTarget } from './target-for.js';

export function promoteActivities(clusters: ClusterClients) {
  return {
    /** Puts the pending credential in force on the target. */
    async rotationSet(input: CreatePendingInput): Promise<void> {
      await withTarget(clusters, input, async (target, vault) => {
        const { meta } = await held(vault, input);
        const pending = await pendingCredential(vault, input);
        const current =
          input.baseVersion > 0 ? await readVersion(vault, input.mount, input.path, input.baseVersion) : null;
        await target.set(pending, current);
        await setState(vault, input, 'set', meta);
      });
    },

    /** Proves the pending credential works (a real login for a database). */
    async rotationTest(input: RotationRef): Promise<void> {
      await withTarget(clusters, input, async (target, vault) => {
        const { meta } = await held(vault, input);
        await target.test(await pendingCredential(vault, input));
        await setState(vault, input, 'tested', meta);
      });
    },

    /**
     * Writes the tested credential as the next version of `<path>` (CAS: the version current at
     * the lock, so an interleaved write is refused), records current/previous, drops the pending.
     */
    async rotationPromote(input: PromoteInput): Promise<{ current: number; previous: number | null }> {
      const vault = clusters.get(input.cluster);
      const { labels, meta } = await held(vault, input);
      if (labels.state === 'promoted' && labels.current !== undefined && labels.current > input.baseVersion) {
        // Promoted before a crash: the pending sibling may still be there (deleting is repeatable).
        await deleteAll(vault, input.mount, pendingPath(input.path));
        return { current: labels.current, previous: labels.previous ?? null };
      }
      const pending = await pendingCredential(vault, input);
      const written = await writeSecret(vault, input.mount, input.path, pending, { cas: input.baseVersion });
      const previous = input.baseVersion > 0 ? input.baseVersion : undefined;
      await setLabels(
        vault,
        input,
        (l) => ({ ...l, current: written.version, previous, pending: undefined, state: 'promoted' }),
        meta,
      );
      await deleteAll(vault, input.mount, pendingPath(input.path));
      return { current: written.version, previous: previous ?? null };
    },
  };
}
