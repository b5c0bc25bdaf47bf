// The certificate inventory: one entry per certificate vaultops issued, renewed or
// revoked, keyed by serial, with the history of what happened to it. Only public facts: serials,
// subjects, SANs, dates, fingerprints, workflow ids. Pure (no I/O, no Node built-ins), so that a
// workflow may import the types and the merge rule.

export type CertEvent = 'issued' | 'renewed' | 'revoked';

/** What the certificate workflow reports after each issue, renewal or revocation. */
export interface CertRecord {
  /** Vault's form (aa:bb:cc) or bare hex; both name the same certificate. */
  serial: string;
  issuerId: string;
  /** The PKI mount that issued it. */
  mount: string;
  role?: string;
  subject: string;
  sans: string[];
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  /** SHA-256 of the DER, colon-separated hex as openssl prints it. */
  fingerprint: string;
  workflowId?: string;
  event: CertEvent;
  /** ISO 8601; from the workflow's clock, so that a retried activity records the same event. */
  recordedAt: string;
}

export interface CertHistoryEvent {
  event: CertEvent;
  recordedAt: string;
  workflowId?: string;
}

/** The stored entry: the certificate's facts, its status and every event recorded for it. */
export interface CertInventoryEntry extends Omit<CertRecord, 'event' | 'recordedAt'> {
  /** Revoked once any 'revoked' event was recorded; expiry is judged when read (entryStatus). */
  status: 'active' | 'revoked';
  events: CertHistoryEvent[];
}

/** Where the inventory lives: a KV v2 mount and a folder, one secret per certificate. */
export interface CertInventoryStore {
  mount: string;
  prefix: string;
}

export const DEFAULT_CERT_INVENTORY_STORE: CertInventoryStore = {
  mount: 'secret',
  prefix: 'vaultops/cert-inventory',
};

/** Bare lowercase hex without leading zero bytes: Node and Vault spell serials differently. */
export function serialKey(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`"${serial}" is not a certificate serial (hex)`);
  const trimmed = hex.replace(/^0+/, '') || '0';
  return trimmed.length % 2 === 0 ? trimmed : `0${trimmed}`;
}

/** Vault's spelling of a serial (aa:bb:cc), whatever spelling came in. */
export const vaultSerial = (serial: string): string => serialKey(serial).match(/../g)?.join(':') ?? '';

/** Fingerprints compare as uppercase colon-separated hex. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replace(/[:\s]/g, '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

const sameEvent = (a: CertHistoryEvent, b: CertHistoryEvent) =>
  a.event === b.event && a.recordedAt === b.recordedAt && a.workflowId === b.workflowId;

/**
 * The entry after recording `record`, and whether anything changed. Recording the same event twice
 * (a retried activity) changes nothing; a certificate's facts come from its first record, since a
 * serial names one certificate; a 'revoked' event makes it revoked for good.
 */
export function applyCertRecord(
  entry: CertInventoryEntry | undefined,
  record: CertRecord,
): { entry: CertInventoryEntry; changed: boolean } {
  const { event, recordedAt } = record;
  const happened: CertHistoryEvent = {
    event,
    recordedAt,
    ...(record.workflowId ? { workflowId: record.workflowId } : {}),
  };
  if (entry?.events.some((e) => sameEvent(e, happened))) return { entry, changed: false };
  // Only the known fields: a caller's extra properties have no place in the stored entry.
  const base: CertInventoryEntry = entry ?? {
    serial: vaultSerial(record.serial),
    issuerId: record.issuerId,
    mount: record.mount,
    ...(record.role ? { role: record.role } : {}),
    subject: record.subject,
    sans: [...record.sans],
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    fingerprint: normalizeFingerprint(record.fingerprint),
    status: 'active',
    events: [],
  };
  const events = [...base.events, happened].sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
  return {
    entry: {
      ...base,
      // The latest workflow to touch the certificate is the one to ask about it.
      ...(record.workflowId ? { workflowId: record.workflowId } : {}),
      status: base.status === 'revoked' || event === 'revoked' ? 'revoked' : 'active',
      events,
    },
    changed: true,
  };
}

const DAY_MS = 86_400_000;

/** Whole days until notAfter (negative once expired). */
export function daysLeft(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}

export type EntryStatus = 'active' | 'superseded' | 'expired' | 'revoked';

/**
 * For each certificate that a later one of the same workflow replaced (a renewal), the serial of
 * its successor. A superseded certificate is still valid, but nothing should serve it any more:
 * an endpoint that does missed its reload.
 */
export function supersededBy(entries: readonly CertInventoryEntry[]): Map<string, string> {
  const byWorkflow = new Map<string, CertInventoryEntry[]>();
  for (const e of entries)
    if (e.workflowId) byWorkflow.set(e.workflowId, [...(byWorkflow.get(e.workflowId) ?? []), e]);
  const replaced = new Map<string, string>();
  for (const issued of byWorkflow.values()) {
    const inOrder = [...issued].sort((a, b) => Date.parse(a.notBefore) - Date.parse(b.notBefore));
    for (let i = 0; i + 1 < inOrder.length; i++)
      replaced.set((inOrder[i] as CertInventoryEntry).serial, (inOrder[i + 1] as CertInventoryEntry).serial);
  }
  return replaced;
}

/** Revoked, expired, superseded (`successor` replaced it), or active, as of `now`. */
export function entryStatus(entry: CertInventoryEntry, now: Date, successor?: string): EntryStatus {
  if (entry.status === 'revoked') return 'revoked';
  if (Date.parse(entry.notAfter) <= now.getTime()) return 'expired';
  return successor ? 'superseded' : 'active';
}

/** In use (not revoked, not superseded) and expiring within `withinMs` of now, or already expired. */
export function expiresWithin(
  entry: CertInventoryEntry,
  withinMs: number,
  now: Date,
  successor?: string,
): boolean {
  return entry.status !== 'revoked' && !successor && Date.parse(entry.notAfter) - now.getTime() <= withinMs;
}

const CSV_COLUMNS = [
  'serial',
  'subject',
  'sans',
  'issuer_id',
  'mount',
  'role',
  'not_before',
  'not_after',
  'days_left',
  'status',
  'superseded_by',
  'fingerprint',
  'workflow_id',
  'last_event',
  'last_recorded_at',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One header line, then one line per entry; SANs joined by spaces (a SAN has none). */
export function inventoryToCsv(
  entries: readonly CertInventoryEntry[],
  now = new Date(),
  replaced = supersededBy(entries),
): string {
  const rows = entries.map((e) => {
    const last = e.events.at(-1);
    const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
      serial: e.serial,
      subject: e.subject,
      sans: e.sans.join(' '),
      issuer_id: e.issuerId,
      mount: e.mount,
      role: e.role ?? '',
      not_before: e.notBefore,
      not_after: e.notAfter,
      days_left: String(daysLeft(e.notAfter, now)),
      status: entryStatus(e, now, replaced.get(e.serial)),
      superseded_by: replaced.get(e.serial) ?? '',
      fingerprint: e.fingerprint,
      workflow_id: e.workflowId ?? '',
      last_event: last?.event ?? '',
      last_recorded_at: last?.recordedAt ?? '',
    };
    return CSV_COLUMNS.map((c) => csvField(cells[c])).join(',');
  });
  return [CSV_COLUMNS.join(','), ...rows].join('\n');
}

/** The entries as a JSON array, each with its status and days left as of `now`. */
export function inventoryToJson(
  entries: readonly CertInventoryEntry[],
  now = new Date(),
  replaced = supersededBy(entries),
): string {
  return JSON.stringify(
    entries.map((e) => ({
      ...e,
      status: entryStatus(e, now, replaced.get(e.serial)),
      ...(replaced.has(e.serial) ? { supersededBy: replaced.get(e.serial) } : {}),
      daysLeft: daysLeft(e.notAfter, now),
    })),
    null,
    2,
  );
}
