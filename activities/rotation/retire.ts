// After promotion: who still uses the previous credential, and its retirement once the grace
// period is over.
import type { ClusterClients } from '../clusters.js';
import type { RotationRef } from './inputs.js';
import { held } from './lock.js';
import { readVersion, setState } from './secret-labels.js';
import type { LiveSession } from './target.js';
import { withTarget } from './target-for.js';

export function retireActivities(clusters: ClusterClients) {
  return {
    /** Live sessions still logged in with the previous credential (who, from where, since when). */
    async rotationSessions(
      input: RotationRef & { previous: number; current: number },
    ): Promise<{ sessions: LiveSession[] }> {
      return withTarget(clusters, input, async (target, vault) => {
        const previous = await readVersion(vault, input.mount, input.path, input.previous);
        const current = await readVersion(vault, input.mount, input.path, input.current);
        if (!previous || !current) return { sessions: [] };
        return { sessions: await target.sessionsUsing(previous, current) };
      });
    },

    /** After the grace period: the previous credential is retired on the target, and recorded. */
    async rotationRetire(input: RotationRef & { previous: number; current: number }): Promise<void> {
      await withTarget(clusters, input, async (target, vault) => {
        const { labels, meta } = await held(vault, input);
        if (labels.state === 'retired') return;
        const previous = await readVersion(vault, input.mount, input.path, input.previous);
        const current = await readVersion(vault, input.mount, input.path, input.current);
        if (previous && current) await target.retire(previous, current);
        await setState(vault, input, 'retired', meta);
      });
    },
  };
}
