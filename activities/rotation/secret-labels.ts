// The secret as a rotation reads and labels it: its KV metadata, the rotation labels kept in its
// custom_metadata (lock holder, state, current/previous/pending versions), and its versions' data.
import { ApplicationFailure } from '@temporalio/common';
import {
  formatRotationLabels,
  parseRotationLabels,
  RotationLabelError,
  type RotationLabels,
  type RotationState,
} from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { type KvMetadata, readMetadata, readSecret, writeMetadata } from '../../vault/kv.js';
import type { KvRef } from './inputs.js';
import type { Credential } from './target.js';

/** The secret's metadata, or undefined when it has none yet (a new secret). */
export async function metadataOrNothing(
  vault: VaultClient,
  mount: string,
  path: string,
): Promise<KvMetadata | undefined> {
  try {
    return await readMetadata(vault, mount, path, { consistent: true });
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return undefined;
    throw err;
  }
}

/** The rotation labels of this metadata; labels no one could have written fail, not retried. */
export function labelsOf(meta: KvMetadata | undefined): RotationLabels {
  try {
    return parseRotationLabels(meta?.custom_metadata);
  } catch (err) {
    if (err instanceof RotationLabelError)
      throw ApplicationFailure.create({ type: err.name, nonRetryable: true, message: err.message });
    throw err;
  }
}

/** Changes the labels, keeping the rest of custom_metadata. */
export async function setLabels(
  vault: VaultClient,
  ref: KvRef,
  change: (labels: RotationLabels) => RotationLabels,
  /** The metadata this activity read already (its custom_metadata is what is merged). */
  known?: KvMetadata | undefined,
): Promise<RotationLabels> {
  const meta = known ?? (await metadataOrNothing(vault, ref.mount, ref.path));
  const labels = change(labelsOf(meta));
  await writeMetadata(vault, ref.mount, ref.path, {
    customMetadata: formatRotationLabels(labels, meta?.custom_metadata),
  });
  return labels;
}

/** Records the step the rotation has reached. */
export const setState = (
  vault: VaultClient,
  ref: KvRef,
  next: RotationState,
  known: KvMetadata | undefined,
) => setLabels(vault, ref, (l) => ({ ...l, state: next }), known);

/** One version's data (the latest without `version`), or null when there is none. */
export async function readVersion(
  vault: VaultClient,
  mount: string,
  path: string,
  version?: number,
): Promise<Credential | null> {
  try {
    return (await readSecret(vault, mount, path, { consistent: true, ...(version ? { version } : {}) })).data;
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return null;
    throw err;
  }
}
