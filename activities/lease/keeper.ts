import { readFile, rm } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { dynamicCredentials, renewLease, revokeLease } from '../../vault/database.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { writeSecret } from '../../vault/kv.js';
import { type ClusterDeps, DEFAULT_CLUSTER, resolveClusters } from '../clusters.js';
import type { Notifier } from '../notifier.js';
import { type StagedFile, stageFile } from '../staged-file.js';

/** Bad keeper input (a relative file path, nowhere to deliver): not retried, says what to fix. */
export const LEASE_BAD_INPUT = 'LeaseBadInput';
/** The credential could not be delivered (directory missing, not writable): the lease was revoked. */
export const LEASE_DELIVERY_FAILED = 'LeaseDeliveryFailed';

/** Where the credential goes: references (a path on the worker's machine, a KV v2 path). */
export interface LeaseDelivery {
  /** An absolute path on the worker's machine; written as JSON, mode 0600, replaced atomically. */
  file?: string | undefined;
  kv?: { mount: string; path: string } | undefined;
}

export interface LeaseIssueInput {
  cluster?: string | undefined;
  /** The database secrets engine's mount, e.g. "database". */
  dbMount: string;
  /** The dynamic role: credentials come from `<dbMount>/creds/<role>`. */
  role: string;
  deliver: LeaseDelivery;
}

/**
 * The lease behind a delivered credential. The lease id is a reference, not a credential:
 * sys/leases/lookup with it answers times and renewability only, and no endpoint hands the secret
 * out again by lease id; it only lets a holder of sys/leases rights renew or revoke it. The
 * username is left out on purpose: the workflow renews and revokes by lease id and never needs
 * it, and a username is half a login that the history has no reason to keep.
 */
export interface IssuedLease {
  leaseId: string;
  /** What Vault granted at issue (the role's default_ttl): the length asked for at each renewal. */
  durationSeconds: number;
  renewable: boolean;
  /** The worker's clock when Vault answered (for operators; the workflow keeps its own time). */
  issuedAt: string;
}

export interface LeaseRenewInput {
  cluster?: string | undefined;
  leaseId: string;
  /** How long to ask for, counted from now. */
  incrementSeconds: number;
}

/**
 * A renewal's outcome as data: refused (the lease is gone or not renewable), or granted for
 * `grantedSeconds`; `capped` when that is less than asked, i.e. the max TTL is near.
 */
export type LeaseRenewResult =
  | { renewed: true; grantedSeconds: number; renewable: boolean; capped: boolean }
  | { renewed: false; reason: string };

export interface LeaseRevokeInput {
  cluster?: string | undefined;
  leaseId: string;
}

export interface LeaseRemoveFileInput {
  path: string;
  /** Removed only while the file still holds this lease's credential (not a newer keeper's). */
  leaseId: string;
}

export interface LeaseAlertInput {
  cluster: string;
  event: string;
  episode: number;
  detail: Record<string, unknown>;
}

function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: LEASE_BAD_INPUT, nonRetryable: true, message });
}

/** The fields a delivered credential carries: what a client needs to log in and to tell leases apart. */
interface DeliveredCredential {
  username: string;
  password: string;
  lease_id: string;
  issued_at: string;
}

/**
 * Writes the credential next to `path` under a temporary name (created 0600, never wider) and
 * flushes it; `commit` renames it over `path`, so nothing replaces the old file until every other
 * delivery has succeeded.
 */
const stageCredential = (path: string, credential: DeliveredCredential) =>
  stageFile(path, `${JSON.stringify(credential, null, 2)}\n`, 0o600, LEASE_DELIVERY_FAILED);

/** The lease id in a delivered file, or undefined when there is no file or it is not ours to read. */
async function leaseIdInFile(path: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { lease_id?: unknown };
    return typeof parsed.lease_id === 'string' ? parsed.lease_id : undefined;
  } catch {
    return undefined;
  }
}

/** Vault's answers for a lease that no longer exists or cannot be renewed. */
const isRefusal = (err: unknown) =>
  isVaultFailure(err, VaultErrorType.InvalidRequest) || isVaultFailure(err, VaultErrorType.NotFound);

export function createLeaseActivities(
  deps: ClusterDeps & {
    notifier: Notifier;
  },
) {
  const clusters = resolveClusters(deps);

  return {
    /** Issues credentials from `<dbMount>/creds/<role>`, delivers them, and returns the lease only. */
    async leaseIssue(input: LeaseIssueInput): Promise<IssuedLease> {
      const { file, kv } = input.deliver;
      if (!file && !kv) throw badInput('say where the credential goes: a file, a KV v2 path, or both');
      if (file !== undefined && !isAbsolute(file))
        throw badInput(`the file ${JSON.stringify(file)} must be an absolute path on the worker`);
      const vault = clusters.get(input.cluster);
      // A retry after a lost reply issues a second lease; the first one then expires at its TTL.
      const creds = await dynamicCredentials(vault, input.dbMount, input.role);
      const issuedAt = new Date().toISOString();
      const credential: DeliveredCredential = {
        username: creds.username,
        password: creds.password,
        lease_id: creds.leaseId,
        issued_at: issuedAt,
      };
      let staged: StagedFile | undefined;
      try {
        // The file is staged first (a missing directory is the likeliest failure, and then KV is
        // left as it was) but put in place last: a failed KV write leaves the old file, still valid.
        if (file) staged = await stageCredential(file, credential);
        if (kv) await writeSecret(vault, kv.mount, kv.path, { ...credential });
        await staged?.commit();
      } catch (err) {
        await staged?.discard();
        // Undelivered credentials help nobody: revoke them now rather than at their TTL.
        await revokeLease(vault, creds.leaseId).catch(() => {});
        throw err;
      }
      return {
        leaseId: creds.leaseId,
        durationSeconds: creds.leaseSeconds,
        renewable: creds.renewable,
        issuedAt,
      };
    },

    /** Renews for `incrementSeconds`; a refusal or a capped grant is an answer, not a failure. */
    async leaseRenew(input: LeaseRenewInput): Promise<LeaseRenewResult> {
      const vault = clusters.get(input.cluster);
      try {
        const lease = await renewLease(vault, input.leaseId, input.incrementSeconds);
        return {
          renewed: true,
          grantedSeconds: lease.leaseSeconds,
          renewable: lease.renewable,
          capped: lease.leaseSeconds < input.incrementSeconds,
        };
      } catch (err) {
        // Vault's reason ("lease not found", "lease is not renewable") names no secret.
        if (isRefusal(err)) return { renewed: false, reason: (err as Error).message };
        throw err;
      }
    },

    /** Revokes the lease (Vault drops the database user); a lease already gone counts as revoked. */
    async leaseRevoke(input: LeaseRevokeInput): Promise<{ revoked: boolean }> {
      const vault = clusters.get(input.cluster);
      try {
        await revokeLease(vault, input.leaseId);
        return { revoked: true };
      } catch (err) {
        if (isRefusal(err)) return { revoked: false };
        throw err;
      }
    },

    /** Removes the delivered file if it still holds this lease's credential. */
    async leaseRemoveFile(input: LeaseRemoveFileInput): Promise<{ removed: boolean }> {
      if (!isAbsolute(input.path)) throw badInput(`the file ${JSON.stringify(input.path)} must be absolute`);
      if ((await leaseIdInFile(input.path)) !== input.leaseId) return { removed: false };
      await rm(input.path, { force: true });
      return { removed: true };
    },

    /** Tells operators a lease could not be kept (or revoked): facts and references only. */
    async leaseAlert(input: LeaseAlertInput): Promise<void> {
      await deps.notifier.notify({
        event: input.event,
        cluster: input.cluster || DEFAULT_CLUSTER,
        episode: input.episode,
        at: new Date().toISOString(),
        detail: input.detail,
      });
    },
  };
}

export type LeaseActivities = ReturnType<typeof createLeaseActivities>;
