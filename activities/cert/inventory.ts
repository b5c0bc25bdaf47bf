// The certificate inventory in KV v2: one secret per certificate at
// <mount>/<prefix>/<serial hex>, holding only public facts and the certificate's history. The
// certificate workflow records every issue, renewal and revocation; `vaultops cert list` reads it.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  applyCertRecord,
  type CertInventoryEntry,
  type CertInventoryStore,
  type CertRecord,
  DEFAULT_CERT_INVENTORY_STORE,
  serialKey,
} from '../../common/cert/inventory.js';
import { inBatches } from '../../vault/batch.js';
import type { VaultClient } from '../../vault/client.js';
import { isVaultFailure, VaultErrorType } from '../../vault/errors.js';
import { type KvSecret, listKeys, readSecret, writeSecret } from '../../vault/kv.js';
import { type ClusterDeps, resolveClusters } from '../clusters.js';

export interface CertInventoryRecordInput {
  cluster?: string | undefined;
  record: CertRecord;
  /** Where the inventory lives; default secret/vaultops/cert-inventory (DEFAULT_CERT_INVENTORY_STORE). */
  store?: CertInventoryStore | undefined;
}

const eventSchema = z.object({
  event: z.enum(['issued', 'renewed', 'revoked']),
  recordedAt: z.string(),
  workflowId: z.string().optional(),
});

const entrySchema = z.object({
  serial: z.string(),
  issuerId: z.string(),
  mount: z.string(),
  role: z.string().optional(),
  subject: z.string(),
  sans: z.array(z.string()),
  notBefore: z.string(),
  notAfter: z.string(),
  fingerprint: z.string(),
  workflowId: z.string().optional(),
  status: z.enum(['active', 'revoked']),
  events: z.array(eventSchema),
});

/** How often a record is retried against concurrent writers before the activity retry takes over. */
const CAS_ATTEMPTS = 5;

export const inventoryPath = (store: CertInventoryStore, serial: string) =>
  `${store.prefix.replace(/^\/+|\/+$/g, '')}/${serialKey(serial)}`;

function parseEntry(store: CertInventoryStore, key: string, secret: KvSecret): CertInventoryEntry {
  const parsed = entrySchema.safeParse(secret.data);
  if (!parsed.success)
    throw ApplicationFailure.create({
      type: 'CertInventoryCorrupt',
      nonRetryable: true,
      message: `${store.mount}/${store.prefix}/${key} is not a certificate inventory entry (${parsed.error.issues[0]?.message ?? 'bad shape'}); fix or delete it`,
    });
  return parsed.data;
}

async function readEntry(vault: VaultClient, store: CertInventoryStore, serial: string) {
  try {
    const secret = await readSecret(vault, store.mount, inventoryPath(store, serial), { consistent: true });
    return { entry: parseEntry(store, serialKey(serial), secret), version: secret.metadata.version };
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.NotFound)) return { entry: undefined, version: 0 };
    throw err;
  }
}

/** A record that cannot be stored is a bug in its caller: said at once, not retried. */
function checkRecord(record: CertRecord): void {
  const problem = (() => {
    if (!/^[0-9a-fA-F:\s]+$/.test(record.serial)) return `serial "${record.serial}" is not hex`;
    for (const field of ['notBefore', 'notAfter', 'recordedAt'] as const)
      if (Number.isNaN(Date.parse(record[field]))) return `${field} "${record[field]}" is not a date`;
    return undefined;
  })();
  if (problem)
    throw ApplicationFailure.create({
      type: 'CertInventoryBadRecord',
      nonRetryable: true,
      message: `cannot record certificate ${record.serial}: ${problem}`,
    });
}

/** KV keeps JSON: drop undefined fields so that a read-back compares equal to what was written. */
const asKvData = (entry: CertInventoryEntry) => JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;

/**
 * Records one event for one certificate. Idempotent: keyed by serial, a repeated event (a retried
 * activity) changes nothing; every write is check-and-set on the version read, so two workflows
 * recording at once both land, one after the other.
 */
export async function recordCertificate(
  vault: VaultClient,
  record: CertRecord,
  store: CertInventoryStore = DEFAULT_CERT_INVENTORY_STORE,
): Promise<{ changed: boolean; entry: CertInventoryEntry }> {
  checkRecord(record);
  for (let attempt = 1; ; attempt++) {
    const { entry, version } = await readEntry(vault, store, record.serial);
    const next = applyCertRecord(entry, record);
    if (!next.changed) return next;
    try {
      await writeSecret(vault, store.mount, inventoryPath(store, record.serial), asKvData(next.entry), {
        cas: version,
      });
      return next;
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.CasMismatch) || attempt >= CAS_ATTEMPTS) throw err;
    }
  }
}

/** Every entry in the inventory, soonest expiry first. Needs list and read on the store's folder. */
export async function listInventory(
  vault: VaultClient,
  store: CertInventoryStore = DEFAULT_CERT_INVENTORY_STORE,
): Promise<CertInventoryEntry[]> {
  const folder = store.prefix.replace(/^\/+|\/+$/g, '');
  const keys = (await listKeys(vault, store.mount, folder)).filter((k) => !k.endsWith('/'));
  const outcomes = await inBatches(keys, 8, async (key) => {
    try {
      return parseEntry(store, key, await readSecret(vault, store.mount, `${folder}/${key}`));
    } catch (err) {
      // Deleted between the list and the read: not in the inventory any more.
      if (isVaultFailure(err, VaultErrorType.NotFound)) return undefined;
      throw err;
    }
  });
  const entries: CertInventoryEntry[] = [];
  for (const outcome of outcomes) {
    if (!outcome.ok) throw outcome.error;
    if (outcome.value) entries.push(outcome.value);
  }
  return entries.sort(
    (a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || a.serial.localeCompare(b.serial),
  );
}

export function createCertInventoryActivities(deps: ClusterDeps) {
  const clusters = resolveClusters(deps);
  return {
    /** Records an issue, renewal or revocation of one certificate (public facts only). */
    async certInventoryRecord(input: CertInventoryRecordInput): Promise<void> {
      await recordCertificate(
        clusters.get(input.cluster),
        input.record,
        input.store ?? DEFAULT_CERT_INVENTORY_STORE,
      );
    },
  };
}

export type CertInventoryActivities = ReturnType<typeof createCertInventoryActivities>;
