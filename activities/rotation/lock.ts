// The rotation lock: the rotation's id in the secret's custom_metadata. One rotation at a time
// holds a secret; every step checks it still does (`held`) before it writes.
import { ApplicationFailure } from '@temporalio/common';
import { ROTATION_IN_PROGRESS, type RotationLabels } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { type KvMetadata, readMetadata } from '../../vault/kv.js';
import type { ClusterClients } from '../clusters.js';
import type { RotationRef } from './inputs.js';
import { labelsOf, metadataOrNothing, setLabels } from './secret-labels.js';

/** Another rotation holds the secret: not retried, and the holder named for the workflow. */
export function refused(message: string, holder: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ROTATION_IN_PROGRESS,
    nonRetryable: true,
    message,
    details: [{ rotation: holder }],
  });
}

/**
 * The secret's metadata and labels, refusing when another rotation holds it. The activity
 * passes the metadata on to its own label write: while we hold the lock nobody else writes it.
 */
export async function held(
  vault: VaultClient,
  input: RotationRef,
): Promise<{ labels: RotationLabels; meta: KvMetadata | undefined }> {
  const meta = await metadataOrNothing(vault, input.mount, input.path);
  const labels = labelsOf(meta);
  if (labels.rotation !== input.rotationId) {
    throw refused(
      `secret ${input.mount}/${input.path} is not locked by rotation ${input.rotationId} (held by ${labels.rotation ?? 'nobody'})`,
      labels.rotation ?? '',
    );
  }
  return { labels, meta };
}

export function lockActivities(clusters: ClusterClients) {
  return {
    /**
     * Locks the secret for this rotation: records its id in custom_metadata. Another rotation's
     * lock is refused (RotationInProgress); our own is found again. Returns the current version.
     */
    async rotationLock(input: RotationRef): Promise<{ baseVersion: number; labels: RotationLabels }> {
      const vault = clusters.get(input.cluster);
      const meta = await metadataOrNothing(vault, input.mount, input.path);
      const labels = labelsOf(meta);
      if (labels.rotation && labels.rotation !== input.rotationId) {
        throw refused(
          `secret ${input.mount}/${input.path} is being rotated by ${labels.rotation}; wait for it to finish or roll it back`,
          labels.rotation,
        );
      }
      const baseVersion = meta?.current_version ?? 0;
      if (labels.rotation === input.rotationId) return { baseVersion: labels.current ?? baseVersion, labels };
      await setLabels(
        vault,
        input,
        (l) => ({
          ...l,
          ...(baseVersion > 0 ? { current: baseVersion } : {}),
          rotation: input.rotationId,
          state: 'locked',
        }),
        meta,
      );
      // Metadata writes have no check-and-set: read back, so that of two racing locks one loses
      // here (and the data writes below are guarded by CAS anyway).
      const after = labelsOf(await readMetadata(vault, input.mount, input.path, { consistent: true }));
      if (after.rotation !== input.rotationId) {
        throw refused(
          `secret ${input.mount}/${input.path} was locked meanwhile by ${after.rotation}`,
          after.rotation ?? '',
        );
      }
      return { baseVersion, labels: after };
    },

    /** Releases the lock if this rotation holds it (the labels current/previous stay). */
    async rotationUnlock(input: RotationRef): Promise<void> {
      const vault = clusters.get(input.cluster);
      const meta = await metadataOrNothing(vault, input.mount, input.path);
      if (!meta) return;
      const labels = labelsOf(meta);
      if (labels.rotation !== input.rotationId) return;
      // A state the rotation did not finish (locked, pending, set, tested) goes with the lock.
      const final =
        labels.state === 'promoted' || labels.state === 'retired' || labels.state === 'rolled-back';
      await setLabels(
        vault,
        input,
        (l) => ({ ...l, rotation: undefined, state: final ? l.state : undefined }),
        meta,
      );
    },
  };
}
