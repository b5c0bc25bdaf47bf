// Secret rotation activities (the protocol of issue 9 on KV v2): lock, create the pending
// credential, set it on the target, test it, promote it, wait out live sessions, retire, roll
// back, unlock. Each one reads before it writes, so running it again after a crash or a lost
// reply does it once. They return references (paths, versions, role names), never credentials:
// the credential is generated, read and used inside the activity.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { logger } from '../../common/logger.js';
import {
  formatRotationLabels,
  parseRotationLabels,
  pendingPath,
  ROTATION_IN_PROGRESS,
  RotationLabelError,
  type RotationLabels,
  type RotationState,
} from '../../common/rotation/labels.js';
import { keptAlive } from '../../vault/activity-scope.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import {
  deleteAll,
  type KvMetadata,
  readMetadata,
  readSecret,
  writeMetadata,
  writeSecret,
} from '../../vault/kv.js';
import { vaultPath } from '../../vault/paths.js';
import { type ClusterClients, resolveClusters } from '../clusters.js';
import { databaseRootTarget, databaseStaticTarget } from './database-engine-target.js';
import { kvTarget } from './kv-target.js';
import { mariaDbTarget, parseMariaDbAdmin } from './mariadb-target.js';
import { parsePostgresAdmin, postgresTarget } from './postgres-target.js';
import type { Credential, LiveSession, RotationStrategy, RotationTarget } from './target.js';

/** Where a secret lives in KV: a reference, never its value. */
export interface KvRef {
  mount: string;
  path: string;
}

export type RotationTargetSpec =
  | { kind: 'kv'; field?: string | undefined }
  | {
      /** A database-engine static role; the KV secret holds a pointer to it, never its password. */
      kind: 'database-static';
      /** The database secrets engine's mount (default "database"). */
      dbMount?: string | undefined;
      /** The static role (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
    }
  | {
      /** A connection's root credential (rotate-root; single-user only). */
      kind: 'database-root';
      dbMount?: string | undefined;
      connection: string;
      /** A dynamic role on the connection whose credentials the test logs in with. */
      verifyRole?: string | undefined;
    }
  | {
      kind: 'postgres';
      /** The KV path holding the admin connection's host, port, user, password and database. */
      admin: { mount?: string | undefined; path: string };
      /** The role (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
    }
  | {
      kind: 'mariadb';
      /** The KV path holding the admin connection's host, port, user, password (database optional). */
      admin: { mount?: string | undefined; path: string };
      /** The account (single-user), or the base of the pair `<role>_a`/`<role>_b` (alternating). */
      role: string;
      /** The accounts' host part: `'<role>'@'<host>'` (default `%`). */
      host?: string | undefined;
    };

export interface RotationRef {
  cluster?: string | undefined;
  mount: string;
  path: string;
  rotationId: string;
  target: RotationTargetSpec;
  strategy: RotationStrategy;
}

export interface CreatePendingInput extends RotationRef {
  /** The version of `<path>` that was current at the lock (0: the secret is new). */
  baseVersion: number;
  /** A Vault password policy to generate the password with; random bytes by default. */
  passwordPolicy?: string | undefined;
  /** Rollback to a retained version: its credential becomes the pending one (nothing generated). */
  restoreVersion?: number | undefined;
}

/** What a rotation tells its webhook: references and outcomes, never a credential. */
export interface RotationEvent {
  event: 'notice' | 'rotated' | 'rolled-back' | 'failed' | 'cancelled';
  detail?: Record<string, string | number | null>;
}

export interface PromoteInput extends RotationRef {
  baseVersion: number;
}

const passwordSchema = (body: unknown): string => {
  const password = (body as { data?: { password?: unknown } } | null)?.data?.password;
  if (typeof password !== 'string' || password === '')
    throw new Error('the password policy returned no password');
  return password;
};

function refused(message: string, holder: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ROTATION_IN_PROGRESS,
    nonRetryable: true,
    message,
    details: [{ rotation: holder }],
  });
}

async function metadataOrNothing(
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

function labelsOf(meta: KvMetadata | undefined): RotationLabels {
  try {
    return parseRotationLabels(meta?.custom_metadata);
  } catch (err) {
    if (err instanceof RotationLabelError)
      throw ApplicationFailure.create({ type: err.name, nonRetryable: true, message: err.message });
    throw err;
  }
}

export function createRotationActivities(deps: {
  vault: VaultClient;
  clusters?: ClusterClients | undefined;
  /** Where rotation events are logged (the webhook is per rotation). */
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}) {
  const clusters = resolveClusters(deps);
  const eventLogger = deps.logger ?? logger;

  const setLabels = async (
    vault: VaultClient,
    ref: KvRef,
    change: (labels: RotationLabels) => RotationLabels,
    /** The metadata this activity read already (its custom_metadata is what is merged). */
    known?: KvMetadata | undefined,
  ): Promise<RotationLabels> => {
    const meta = known ?? (await metadataOrNothing(vault, ref.mount, ref.path));
    const labels = change(labelsOf(meta));
    await writeMetadata(vault, ref.mount, ref.path, {
      customMetadata: formatRotationLabels(labels, meta?.custom_metadata),
    });
    return labels;
  };

  /**
   * The secret's metadata and labels, refusing when another rotation holds it. The activity
   * passes the metadata on to its own label write: while we hold the lock nobody else writes it.
   */
  const held = async (
    vault: VaultClient,
    input: RotationRef,
  ): Promise<{ labels: RotationLabels; meta: KvMetadata | undefined }> => {
    const meta = await metadataOrNothing(vault, input.mount, input.path);
    const labels = labelsOf(meta);
    if (labels.rotation !== input.rotationId) {
      throw refused(
        `secret ${input.mount}/${input.path} is not locked by rotation ${input.rotationId} (held by ${labels.rotation ?? 'nobody'})`,
        labels.rotation ?? '',
      );
    }
    return { labels, meta };
  };

  const readOrNull = async (vault: VaultClient, mount: string, path: string, version?: number) => {
    try {
      return (await readSecret(vault, mount, path, { consistent: true, ...(version ? { version } : {}) }))
        .data;
    } catch (err) {
      if (isVaultFailure(err, VaultErrorType.NotFound)) return null;
      throw err;
    }
  };

  /** The target for this rotation; the caller closes it. */
  const targetFor = async (vault: VaultClient, input: RotationRef): Promise<RotationTarget> => {
    const spec = input.target;
    if (spec.kind === 'kv') {
      return kvTarget({
        field: spec.field,
        readBack: async () =>
          (await readSecret(vault, input.mount, pendingPath(input.path), { consistent: true })).data,
      });
    }
    if (spec.kind === 'database-static') {
      return databaseStaticTarget({
        vault,
        dbMount: spec.dbMount ?? 'database',
        role: spec.role,
        strategy: input.strategy,
      });
    }
    if (spec.kind === 'database-root') {
      return databaseRootTarget({
        vault,
        dbMount: spec.dbMount ?? 'database',
        connection: spec.connection,
        verifyRole: spec.verifyRole,
        strategy: input.strategy, // alternating is refused there (RotationBadTarget)
      });
    }
    // A database account: its admin connection is read here, inside the activity, from KV.
    const admin = (
      await readSecret(vault, spec.admin.mount ?? input.mount, spec.admin.path, { consistent: true })
    ).data;
    return spec.kind === 'mariadb'
      ? mariaDbTarget({
          admin: parseMariaDbAdmin(admin),
          strategy: input.strategy,
          role: spec.role,
          host: spec.host,
        })
      : postgresTarget({ admin: parsePostgresAdmin(admin), strategy: input.strategy, role: spec.role });
  };

  const withTarget = async <T>(
    input: RotationRef,
    fn: (target: RotationTarget, vault: VaultClient) => Promise<T>,
  ) => {
    const vault = clusters.get(input.cluster);
    const target = await targetFor(vault, input);
    try {
      return await fn(target, vault);
    } finally {
      await target.close();
    }
  };

  const pendingCredential = async (vault: VaultClient, input: RotationRef): Promise<Credential> => {
    const data = await readOrNull(vault, input.mount, pendingPath(input.path));
    if (!data)
      throw ApplicationFailure.create({
        type: 'RotationNoPending',
        nonRetryable: true,
        message: 'no pending credential',
      });
    return data;
  };

  /** The next credential: the current one with a fresh password, shaped by the target. */
  const newCredential = async (vault: VaultClient, input: CreatePendingInput): Promise<Credential> => {
    const current =
      input.baseVersion > 0 ? await readOrNull(vault, input.mount, input.path, input.baseVersion) : null;
    const password = input.passwordPolicy
      ? passwordSchema(await vault.read(vaultPath`sys/policies/password/${input.passwordPolicy}/generate`))
      : randomBytes(24).toString('base64url');
    const target = await targetFor(vault, input);
    try {
      return target.next(current, password);
    } finally {
      await target.close();
    }
  };

  /** The credential of a retained version to restore; a missing, deleted or current one is refused. */
  const retainedVersion = async (
    vault: VaultClient,
    input: CreatePendingInput,
    meta: KvMetadata | undefined,
  ): Promise<Credential> => {
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
    const data = await readOrNull(vault, input.mount, input.path, version);
    if (!data) throw refuse('it cannot be read');
    return data;
  };

  const state = (
    vault: VaultClient,
    input: RotationRef,
    next: RotationState,
    known: KvMetadata | undefined,
  ) => setLabels(vault, input, (l) => ({ ...l, state: next }), known);

  return keptAlive({
    /** Logs a rotation event and POSTs it to the rotation's webhook, if it has one. */
    async rotationNotify(input: RotationRef & RotationEvent & { webhookUrl?: string | undefined }) {
      const event = {
        event: `rotation.${input.event}`,
        cluster: input.cluster ?? 'default',
        mount: input.mount,
        path: input.path,
        rotation: input.rotationId,
        target: input.target.kind,
        strategy: input.strategy,
        at: new Date().toISOString(),
        detail: input.detail ?? {},
      };
      eventLogger.info({ event }, `vaultops rotation ${input.event}: ${input.mount}/${input.path}`);
      if (!input.webhookUrl) return;
      const res = await fetch(input.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(10_000),
      });
      // Refused: the activity's retry policy tries again; the workflow gives up after a few.
      if (!res.ok) throw new Error(`rotation webhook answered HTTP ${res.status}`);
    },

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

    /** Puts the pending credential in force on the target. */
    async rotationSet(input: CreatePendingInput): Promise<void> {
      await withTarget(input, async (target, vault) => {
        const { meta } = await held(vault, input);
        const pending = await pendingCredential(vault, input);
        const current =
          input.baseVersion > 0 ? await readOrNull(vault, input.mount, input.path, input.baseVersion) : null;
        await target.set(pending, current);
        await state(vault, input, 'set', meta);
      });
    },

    /** Proves the pending credential works (a real login for a database). */
    async rotationTest(input: RotationRef): Promise<void> {
      await withTarget(input, async (target, vault) => {
        const { meta } = await held(vault, input);
        await target.test(await pendingCredential(vault, input));
        await state(vault, input, 'tested', meta);
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

    /** Live sessions still logged in with the previous credential (who, from where, since when). */
    async rotationSessions(
      input: RotationRef & { previous: number; current: number },
    ): Promise<{ sessions: LiveSession[] }> {
      return withTarget(input, async (target, vault) => {
        const previous = await readOrNull(vault, input.mount, input.path, input.previous);
        const current = await readOrNull(vault, input.mount, input.path, input.current);
        if (!previous || !current) return { sessions: [] };
        return { sessions: await target.sessionsUsing(previous, current) };
      });
    },

    /** After the grace period: the previous credential is retired on the target, and recorded. */
    async rotationRetire(input: RotationRef & { previous: number; current: number }): Promise<void> {
      await withTarget(input, async (target, vault) => {
        const { labels, meta } = await held(vault, input);
        if (labels.state === 'retired') return;
        const previous = await readOrNull(vault, input.mount, input.path, input.previous);
        const current = await readOrNull(vault, input.mount, input.path, input.current);
        if (previous && current) await target.retire(previous, current);
        await state(vault, input, 'retired', meta);
      });
    },

    /** Before promotion (a compensation): the target goes back to the current credential. */
    async rotationRevertTarget(input: CreatePendingInput): Promise<void> {
      await withTarget(input, async (target, vault) => {
        const current =
          input.baseVersion > 0 ? await readOrNull(vault, input.mount, input.path, input.baseVersion) : null;
        const pending = await readOrNull(vault, input.mount, pendingPath(input.path));
        const meta = await metadataOrNothing(vault, input.mount, input.path);
        const labels = labelsOf(meta);
        const latestVersion = meta?.current_version ?? 0;
        // A promotion that landed although its step failed (its reply lost, then its retries
        // spent): the latest version is the new credential. Write the old one back (CAS), so
        // that KV and the target agree again: nothing stays half-applied.
        if (labels.rotation === input.rotationId && current && latestVersion === input.baseVersion + 1) {
          const landed = await readOrNull(vault, input.mount, input.path, latestVersion);
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

    /**
     * During the grace period: the target and KV go back to the previous credential, written as
     * a new version (CAS: the promoted one), so the latest version is again the old credential.
     */
    async rotationRollback(
      input: PromoteInput & { previous: number; current: number },
    ): Promise<{ current: number; previous: number }> {
      return withTarget(input, async (target, vault) => {
        const { labels, meta } = await held(vault, input);
        if (labels.state === 'rolled-back' && labels.current !== undefined) {
          return { current: labels.current, previous: labels.previous ?? input.current };
        }
        const previous = await readOrNull(vault, input.mount, input.path, input.previous);
        const promoted = await readOrNull(vault, input.mount, input.path, input.current);
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
  });
}

export type RotationActivities = ReturnType<typeof createRotationActivities>;
