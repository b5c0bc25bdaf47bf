// The pending credential: generated (or a retained version restored) and written once at
// `<path>.pending` (CAS 0), labelled with the rotation that made it; discarded on compensation.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { pendingPath } from '../../common/rotation/labels.js';
import type { VaultClient } from '../../vault/client.js';
import { deleteAll, type KvMetadata, writeMetadata, writeSecret } from '../../vault/kv.js';
import { vaultPath } from '../../vault/paths.js';
import type { ClusterClients } from '../clusters.js';
import type { CreatePendingInput, RotationRef } from './inputs.js';
import { held, refused } from './lock.js';
import { labelsOf, metadataOrNothing, readVersion, setLabels } from './secret-labels.js';
import type { Credential } from './target.js';
import { targetFor } from './target-for.js';

/** The pending credential written by createPending; its absence fails the step, not retried. */
export async function pendingCredential(vault: VaultClient, input: RotationRef): Promise<Credential> {
  const data = await readVersion(vault, input.mount, pendingPath(input.path));
  if (!data)
    throw ApplicationFailure.create({
      type: 'RotationNoPending',
      nonRetryable: true,
      message: 'no pending credential',
    });
  return data;
}

const passwordSchema = (body: unknown): string => {
  const password = (body as { data?: { password?: unknown } } | null)?.data?.password;
  if (typeof password !== 'string' || password === '')
    throw new Error('the password policy returned no password');
  return password;
};

/** The next credential: the current one with a fresh password, shaped by the target. */
async function newCredential(vault: VaultClient, input: CreatePendingInput): Promise<Credential> {
  const current =
    input.baseVersion > 0 ? await readVersion(vault, input.mount, input.path, input.baseVersion) : null;
  const password = input.passwordPolicy
    ? passwordSchema(await vault.read(vaultPath`sys/policies/password/${input.passwordPolicy}/generate`))
    : randomBytes(24).toString('base64url');
  const target = await targetFor(vault, input);
  try {
    return target.next(current, password);
  } finally {
    await target.close();
  }
}

/** The credential of a retained version to restore; a missing, deleted or current one is refused. */
async function retainedVersion(
  vault: VaultClient,
  input: CreatePendingInput,
  meta: KvMetadata | undefined,
): Promise<Credential> {
  const version = input.restoreVersion ?? 0;
  const info = meta?.versions?.[String(version)];
  const refuse = (why: string) =>
    ApplicationFailure.create({
      type: 'RotationBadInput',
      nonRetryable: true,
      message: `cannot restore version ${version} of ${input.mount}/${input.path}: ${why}`,
    });
  if (!info) throw refuse('no such version is retained (see `vaultops secret history`)');
  if (info.destroyed) throw refuse('it was destroyed');
  if (info.deletion_time) throw refuse('it was deleted (undelete it first)');
  if (version === input.baseVersion) throw refuse('it is already the current version');
  const data = await readVersion(vault, input.mount, input.path, version);
  if (!data) throw refuse('it cannot be read');
  return data;
}

export function pendingActivities(clusters: ClusterClients) {
  return {
    /** Generates the pending credential and writes it at `<path>.pending` (CAS 0), once. */
    async rotationCreatePending(
      input: CreatePendingInput,
    ): Promise<{ pendingPath: string; pendingVersion: number }> {
      const vault = clusters.get(input.cluster);
      const { meta: secretMeta } = await held(vault, input);
      const where = pendingPath(input.path);
      const meta = await metadataOrNothing(vault, input.mount, where);
      const holder = meta?.custom_metadata?.vaultops_rotation;
      if (meta && holder !== input.rotationId) {
        throw refused(
          `a pending credential of ${input.mount}/${input.path} already exists (rotation ${holder ?? 'unknown'})`,
          holder ?? '',
        );
      }
      let version = meta?.current_version ?? 0;
      if (version === 0) {
        // Checked before anything is written: a refused restore leaves nothing behind.
        const restored = input.restoreVersion ? await retainedVersion(vault, input, secretMeta) : undefined;
        if (!meta) {
          await writeMetadata(vault, input.mount, where, {
            customMetadata: { vaultops_rotation: input.rotationId },
          });
        }
        const pending = restored ?? (await newCredential(vault, input));
        version = (await writeSecret(vault, input.mount, where, pending, { cas: 0 })).version;
      }
      await setLabels(vault, input, (l) => ({ ...l, pending: version, state: 'pending' }), secretMeta);
      return { pendingPath: where, pendingVersion: version };
    },

    /** Before promotion (a compensation): removes the pending credential and its label. */
    async rotationDiscardPending(input: RotationRef): Promise<void> {
      const vault = clusters.get(input.cluster);
      const meta = await metadataOrNothing(vault, input.mount, pendingPath(input.path));
      if (meta && meta.custom_metadata?.vaultops_rotation === input.rotationId) {
        await deleteAll(vault, input.mount, pendingPath(input.path));
      }
      const labels = labelsOf(await metadataOrNothing(vault, input.mount, input.path));
      if (labels.rotation === input.rotationId && labels.pending !== undefined) {
        await setLabels(vault, input, (l) => ({ ...l, pending: undefined }));
      }
    },
  };
}
