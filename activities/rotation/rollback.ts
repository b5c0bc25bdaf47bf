// Going back: before promotion the target returns to the current credential (a compensation);
// during the grace period target and KV return to the previous one, as a new version.
import { isDeepStrictEqual } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { pendingPath } from '../../common/rotation/labels.js';
import { writeSecret } from '../../vault/kv.js';
import type { ClusterClients } from '../clusters.js';
import type { CreatePendingInput, PromoteInput } from './inputs.js';
import { held } from './lock.js';
import { labelsOf, metadataOrNothing, readVersion, setLabels } from './secret-labels.js';
import { withTarget } from './target-for.js';

export function rollbackActivities(clusters: ClusterClients) {
  return {
    /** Before promotion (a compensation): the target goes back to the current credential. */
    async rotationRevertTarget(input: CreatePendingInput): Promise<void> {
      await withTarget(clusters, input, async (target, vault) => {
        const current =
          input.baseVersion > 0 ? await readVersion(vault, input.mount, input.path, input.baseVersion) : null;
        const pending = await readVersion(vault, input.mount, pendingPath(input.path));
        const meta = await metadataOrNothing(vault, input.mount, input.path);
        const labels = labelsOf(meta);
        const latestVersion = meta?.current_version ?? 0;
        // A promotion that landed although its step failed (its reply lost, then its retries
        // spent): the latest version is the new credential. Write the old one back (CAS), so
        // that KV and the target agree again: nothing stays half-applied.
        if (labels.rotation === input.rotationId && current && latestVersion === input.baseVersion + 1) {
          const landed = await readVersion(vault, input.mount, input.path, latestVersion);
          if (landed && (!pending || isDeepStrictEqual(landed, pending))) {
            await target.revert(current, landed);
            const written = await writeSecret(vault, input.mount, input.path, current, {
              cas: latestVersion,
            });
            await setLabels(
              vault,
              input,
              (l) => ({
                ...l,
                current: written.version,
                previous: latestVersion,
                pending: undefined,
                state: 'rolled-back',
              }),
              meta,
            );
            return;
          }
        }
        if (!pending) return; // nothing was created, so nothing was set
        await target.revert(current, pending);
      });
    },

    /**
     * During the grace period: the target and KV go back to the previous credential, written as
     * a new version (CAS: the promoted one), so the latest version is again the old credential.
     */
    async rotationRollback(
      input: PromoteInput & { previous: number; current: number },
    ): Promise<{ current: number; previous: number }> {
      return withTarget(clusters, input, async (target, vault) => {
        const { labels, meta } = await held(vault, input);
        if (labels.state === 'rolled-back' && labels.current !== undefined) {
          return { current: labels.current, previous: labels.previous ?? input.current };
        }
        const previous = await readVersion(vault, input.mount, input.path, input.previous);
        const promoted = await readVersion(vault, input.mount, input.path, input.current);
        if (!previous || !promoted) {
          throw ApplicationFailure.create({
            type: 'RotationNoPrevious',
            nonRetryable: true,
            message: `version ${input.previous} or ${input.current} of ${input.mount}/${input.path} is gone; cannot roll back`,
          });
        }
        await target.revert(previous, promoted);
        const written = await writeSecret(vault, input.mount, input.path, previous, { cas: input.current });
        await setLabels(
          vault,
          input,
          (l) => ({ ...l, current: written.version, previous: input.current, state: 'rolled-back' }),
          meta,
        );
        return { current: written.version, previous: input.current };
      });
    },
  };
}
