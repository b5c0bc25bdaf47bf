// `vaultops cert list`: the certificate inventory (secret/vaultops/cert-inventory by default), read
// with the user's own VAULT_ADDR/VAULT_TOKEN, as a table, JSON or CSV. Only public facts are stored
// there, so everything may be printed.

import {
  type CertInventoryEntry,
  type CertInventoryStore,
  DEFAULT_CERT_INVENTORY_STORE,
  daysLeft,
  entryStatus,
  expiresWithin,
  inventoryToCsv,
  inventoryToJson,
  supersededBy,
} from '../../../common/cert/inventory.js';
import { parseDuration } from '../../../common/durations.js';
import type { VaultClient } from '../../../vault/client.js';
import { printTable } from '../../format.js';
import { withUserVault } from '../../user-vault.js';
import { splitSecretPath } from '../rotation/args.js';
import { UsageError } from '../usage-error.js';

type Out = (line: string) => void;

export const LIST_FORMATS = ['table', 'json', 'csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export interface CertListOptions {
  format?: string | undefined;
  /** Only certificates issued by this PKI mount. */
  mount?: string | undefined;
  /** Only certificates expiring within this duration (or expired), e.g. 30d. */
  expiringWithin?: string | undefined;
  /** The inventory's KV v2 folder, <mount>/<path> (default secret/vaultops/cert-inventory). */
  store?: string | undefined;
}

export interface CertListRequest {
  format: ListFormat;
  mount?: string;
  expiringWithinMs?: number;
  store: CertInventoryStore;
}

export function parseCertList(opts: CertListOptions): CertListRequest {
  const format = (opts.format ?? 'table') as ListFormat;
  if (!LIST_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${LIST_FORMATS.join(', ')}, not "${opts.format}"`);
  let expiringWithinMs: number | undefined;
  if (opts.expiringWithin !== undefined) {
    expiringWithinMs = parseDuration(opts.expiringWithin);
    if (expiringWithinMs === undefined)
      throw new UsageError(
        `--expiring-within "${opts.expiringWithin}" is not a duration; write e.g. 30d or 72h`,
      );
  }
  const mount = opts.mount?.trim().replace(/^\/+|\/+$/g, '');
  if (mount !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/.test(mount))
    throw new UsageError(`--mount "${opts.mount}" is not a PKI mount path, e.g. pki_int`);
  const store = opts.store
    ? (({ mount, path }) => ({ mount, prefix: path }))(splitSecretPath(opts.store))
    : DEFAULT_CERT_INVENTORY_STORE;
  return {
    format,
    store,
    ...(mount ? { mount } : {}),
    ...(expiringWithinMs === undefined ? {} : { expiringWithinMs }),
  };
}

/** The entries the request asks for: by issuing mount and by expiry. */
/** The entries asked for; a renewed (superseded) certificate is not one that is about to expire. */
export function selectEntries(
  entries: readonly CertInventoryEntry[],
  request: CertListRequest,
  now: Date,
  replaced = supersededBy(entries),
): CertInventoryEntry[] {
  return entries.filter(
    (e) =>
      (request.mount === undefined || e.mount === request.mount) &&
      (request.expiringWithinMs === undefined ||
        expiresWithin(e, request.expiringWithinMs, now, replaced.get(e.serial))),
  );
}

/** Issuer names by mount and issuer id: the inventory keeps ids, a reader knows issuers by name. */
export type IssuerNames = ReadonlyMap<string, string>;
const issuerKey = (mount: string, issuerId: string) => `${mount} ${issuerId}`;

/**
 * `replaced` comes from the whole inventory, so a filter cannot hide a certificate's successor.
 * An issuer without a known name (unnamed, or a mount the token may not list) shows its id.
 */
export function printInventory(
  entries: readonly CertInventoryEntry[],
  format: ListFormat,
  out: Out,
  now: Date,
  replaced = supersededBy(entries),
  issuerNames: IssuerNames = new Map(),
): void {
  if (format !== 'table') {
    out(format === 'json' ? inventoryToJson(entries, now, replaced) : inventoryToCsv(entries, now, replaced));
    return;
  }
  printTable(
    [
      ['SERIAL', 'SUBJECT', 'SANS', 'ISSUER', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'WORKFLOW'],
      ...entries.map((e) => [
        e.serial,
        e.subject,
        e.sans.length > 0 ? e.sans.join(',') : '-',
        `${e.mount} ${issuerNames.get(issuerKey(e.mount, e.issuerId)) || e.issuerId}`,
        e.notAfter,
        String(daysLeft(e.notAfter, now)),
        entryStatus(e, now, replaced.get(e.serial)),
        e.workflowId ?? '-',
      ]),
    ],
    out,
  );
}

/** The inventory with the user's token; a refused or missing store says what is needed. */
export async function readInventory(vault: VaultClient, store: CertInventoryStore) {
  const [{ listInventory }, { isVaultFailure, VaultErrorType }] = await Promise.all([
    import('../../../activities/cert/inventory.js'),
    import('../../../vault/errors.js'),
  ]);
  try {
    return await listInventory(vault, store);
  } catch (err) {
    if (isVaultFailure(err, VaultErrorType.PermissionDenied))
      throw new Error(
        `VAULT_TOKEN may not list or read ${store.mount}/metadata/${store.prefix}/ and ${store.mount}/data/${store.prefix}/*`,
      );
    throw err;
  }
}

/** The names of the issuers of `mounts`, as far as the user's token may list them. */
export async function readIssuerNames(vault: VaultClient, mounts: Iterable<string>): Promise<IssuerNames> {
  const { listIssuers } = await import('../../../vault/pki/issuers.js');
  const names = new Map<string, string>();
  for (const mount of new Set(mounts)) {
    try {
      for (const { issuerId, issuerName } of await listIssuers(vault, mount))
        if (issuerName) names.set(issuerKey(mount, issuerId), issuerName);
    } catch {
      // Not allowed, or the mount is gone: its issuers show their ids.
    }
  }
  return names;
}

export async function certListCommand(opts: CertListOptions, out: Out, now = new Date()): Promise<void> {
  const request = parseCertList(opts);
  const where = `${request.store.mount}/${request.store.prefix}`;
  const { entries, selected, replaced, issuerNames } = await withUserVault(
    () =>
      new UsageError(
        `export VAULT_ADDR and VAULT_TOKEN (a token that may list and read ${where}): the inventory is read with your own token`,
      ),
    async (vault) => {
      const entries = await readInventory(vault, request.store);
      const replaced = supersededBy(entries);
      const selected = selectEntries(entries, request, now, replaced);
      const issuerNames =
        request.format === 'table'
          ? await readIssuerNames(
              vault,
              selected.map((e) => e.mount),
            )
          : new Map();
      return { entries, selected, replaced, issuerNames };
    },
  );
  if (selected.length === 0 && request.format === 'table') {
    out(
      entries.length === 0
        ? `No certificates in the inventory at ${where}.`
        : `None of the ${entries.length} certificates in ${where} match.`,
    );
    return;
  }
  printInventory(selected, request.format, out, now, replaced, issuerNames);
}
