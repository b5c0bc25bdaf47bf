// `vaultops cert discover host:port...`: which certificate each endpoint serves, and whether it is
// one vaultops issued (in the inventory, by serial and fingerprint). The chain is read without
// verifying it (rejectUnauthorized: false): discovery reports what is served, trusted or not.
// Exits 1 when an endpoint is unreachable, or serves an expired certificate or one the inventory
// says is revoked.
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import {
  type CertInventoryEntry,
  type CertInventoryStore,
  DEFAULT_CERT_INVENTORY_STORE,
  daysLeft,
  normalizeFingerprint,
  supersededBy,
  vaultSerial,
} from '../../../common/cert/inventory.js';
import { type CertFacts, certFacts } from '../../../common/cert/pem.js';
import { parseDuration } from '../../../common/durations.js';
import { printTable } from '../../format.js';
import { userVaultClient } from '../../user-vault.js';
import { splitSecretPath } from '../rotation/args.js';
import { UsageError } from '../usage-error.js';
import { readInventory } from './list.js';

type Out = (line: string) => void;

export const DISCOVER_FORMATS = ['table', 'json'] as const;
export type DiscoverFormat = (typeof DISCOVER_FORMATS)[number];

export interface CertDiscoverOptions {
  format?: string | undefined;
  servername?: string | undefined;
  timeout?: string | undefined;
  store?: string | undefined;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface DiscoverRequest {
  endpoints: Endpoint[];
  format: DiscoverFormat;
  servername?: string;
  timeoutMs: number;
  store: CertInventoryStore;
}

const MAX_TIMEOUT_MS = 5 * 60_000;

/** `host:port` or `[v6]:port`; a missing or impossible port is a UsageError. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d*)$/.exec(text) ?? /^([^:[\]]+):(\d*)$/.exec(text);
  if (!m || m[1]?.trim() === '')
    throw new UsageError(
      `"${text}" is not host:port; write e.g. example.com:443, 10.0.0.5:8443 or [2001:db8::1]:443`,
    );
  const port = Number(m[2]);
  if (m[2] === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`"${text}": the port must be a number from 1 to 65535`);
  return { host: m[1] as string, port };
}

export function parseCertDiscover(endpoints: readonly string[], opts: CertDiscoverOptions): DiscoverRequest {
  if (endpoints.length === 0) throw new UsageError('name at least one endpoint, e.g. example.com:443');
  const format = (opts.format ?? 'table') as DiscoverFormat;
  if (!DISCOVER_FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${DISCOVER_FORMATS.join(', ')}, not "${opts.format}"`);
  const timeoutMs = parseDuration(opts.timeout ?? '5s');
  if (timeoutMs === undefined || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS)
    throw new UsageError(`--timeout "${opts.timeout}" must be a duration from 1ms to 5m, e.g. 5s`);
  const servername = opts.servername?.trim();
  if (servername !== undefined && !/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/.test(servername))
    throw new UsageError(`--servername "${opts.servername}" is not a DNS name`);
  const store = opts.store
    ? (({ mount, path }) => ({ mount, prefix: path }))(splitSecretPath(opts.store))
    : DEFAULT_CERT_INVENTORY_STORE;
  return {
    endpoints: endpoints.map(parseEndpoint),
    format,
    timeoutMs,
    store,
    ...(servername ? { servername } : {}),
  };
}

export type Probe =
  | { endpoint: string; reachable: true; chain: CertFacts[] }
  | { endpoint: string; reachable: false; error: string };

const label = (e: Endpoint) => (isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);

/** The served chain, leaf first, as far as the server sends it (a self-signed root ends it). */
function servedChain(leaf: PeerCertificate): CertFacts[] {
  const chain: CertFacts[] = [];
  const seen = new Set<string>();
  for (let c: PeerCertificate | undefined = leaf; c?.raw && !seen.has(c.fingerprint256); ) {
    seen.add(c.fingerprint256);
    chain.push(certFacts(c.raw));
    c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return chain;
}

/** One TLS handshake; whatever goes wrong (refused, timeout, no TLS) is the probe's answer, not a throw. */
export async function probeEndpoint(
  endpoint: Endpoint,
  options: { servername?: string; timeoutMs: number },
): Promise<Probe> {
  const tls = await import('node:tls');
  const name = label(endpoint);
  // SNI takes a DNS name only: an IP address is sent no server name unless --servername gives one.
  const servername = options.servername ?? (isIP(endpoint.host) ? undefined : endpoint.host);
  return new Promise<Probe>((resolve) => {
    const socket = tls.connect({
      host: endpoint.host,
      port: endpoint.port,
      rejectUnauthorized: false,
      ...(servername ? { servername } : {}),
    });
    let settled = false;
    const finish = (probe: Probe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(
      () =>
        finish({ endpoint: name, reachable: false, error: `no TLS handshake within ${options.timeoutMs}ms` }),
      options.timeoutMs,
    );
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerCertificate(true);
      if (!leaf?.raw) return finish({ endpoint: name, reachable: false, error: 'served no certificate' });
      try {
        finish({ endpoint: name, reachable: true, chain: servedChain(leaf) });
      } catch (err) {
        finish({
          endpoint: name,
          reachable: false,
          error: `unreadable certificate: ${(err as Error).message}`,
        });
      }
    });
    // `on`, not `once`: a socket may emit a second error, and an unheard one would crash the CLI.
    socket.on('error', (err) => finish({ endpoint: name, reachable: false, error: err.message }));
  });
}

/** How the served leaf relates to the inventory. */
export type InventoryMatch =
  | { state: 'recorded'; entry: CertInventoryEntry }
  /** Same serial, another certificate: another CA's, or a substitute; worth a look. */
  | { state: 'serial-mismatch'; entry: CertInventoryEntry }
  | { state: 'not-recorded' }
  | { state: 'unknown' };

export function matchInventory(
  leaf: CertFacts,
  inventory: readonly CertInventoryEntry[] | undefined,
): InventoryMatch {
  if (!inventory) return { state: 'unknown' };
  const serial = vaultSerial(leaf.serial);
  const entry = inventory.find((e) => vaultSerial(e.serial) === serial);
  if (!entry) return { state: 'not-recorded' };
  return normalizeFingerprint(entry.fingerprint) === normalizeFingerprint(leaf.fingerprint)
    ? { state: 'recorded', entry }
    : { state: 'serial-mismatch', entry };
}

export interface DiscoveryRow {
  endpoint: string;
  reachable: boolean;
  error?: string;
  leaf?: CertFacts & { daysLeft: number; expired: boolean };
  chain?: CertFacts[];
  inventory?: 'recorded' | 'serial-mismatch' | 'not-recorded' | 'unknown';
  status?: 'active' | 'revoked';
  /** A renewal replaced the served certificate: the successor's serial (the reload was missed?). */
  supersededBy?: string;
  workflowId?: string;
}

export function discoveryRow(
  probe: Probe,
  inventory: readonly CertInventoryEntry[] | undefined,
  now: Date,
  replaced: ReadonlyMap<string, string> = supersededBy(inventory ?? []),
): DiscoveryRow {
  if (!probe.reachable) return { endpoint: probe.endpoint, reachable: false, error: probe.error };
  const leaf = probe.chain[0] as CertFacts;
  const match = matchInventory(leaf, inventory);
  const recorded = match.state === 'recorded' ? match.entry : undefined;
  return {
    endpoint: probe.endpoint,
    reachable: true,
    leaf: {
      ...leaf,
      daysLeft: daysLeft(leaf.notAfter, now),
      expired: Date.parse(leaf.notAfter) <= now.getTime(),
    },
    chain: probe.chain.slice(1),
    inventory: match.state,
    ...(recorded ? { status: recorded.status } : {}),
    ...(recorded && replaced.has(recorded.serial) ? { supersededBy: replaced.get(recorded.serial) } : {}),
    ...(recorded?.workflowId ? { workflowId: recorded.workflowId } : {}),
  };
}

/** Why the command exits 1 for this endpoint, or undefined. */
export function rowProblem(row: DiscoveryRow): string | undefined {
  if (!row.reachable) return `${row.endpoint} unreachable`;
  if (row.leaf?.expired) return `${row.endpoint} serves an expired certificate`;
  if (row.status === 'revoked') return `${row.endpoint} serves a revoked certificate`;
  if (row.supersededBy)
    return `${row.endpoint} serves a certificate renewed since (as ${row.supersededBy}): reload it`;
  return undefined;
}

/** Some endpoint was unreachable or served an expired or revoked certificate: exit code 1. */
export class DiscoveryProblemError extends Error {
  override name = 'DiscoveryProblemError';
}

/** The inventory, or why it could not be read; discovery goes on without it. */
async function inventoryIfConfigured(
  store: CertInventoryStore,
): Promise<{ entries: CertInventoryEntry[] } | { reason: string }> {
  const address = process.env.VAULT_ADDR;
  const token = process.env.VAULT_TOKEN;
  if (!address || !token) return { reason: 'VAULT_ADDR and VAULT_TOKEN are not both set' };
  const vault = await userVaultClient(address);
  vault.tokens.set(token);
  try {
    return { entries: await readInventory(vault, store) };
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  } finally {
    await vault.close();
  }
}

const INVENTORY_WORDS: Record<NonNullable<DiscoveryRow['inventory']>, string> = {
  recorded: 'yes',
  'serial-mismatch': 'NO (serial recorded for another certificate)',
  'not-recorded': 'no',
  unknown: '?',
};

export async function certDiscoverCommand(
  endpoints: readonly string[],
  opts: CertDiscoverOptions,
  out: Out,
  now = new Date(),
): Promise<DiscoveryRow[]> {
  const request = parseCertDiscover(endpoints, opts);
  const [inventory, probes] = await Promise.all([
    inventoryIfConfigured(request.store),
    Promise.all(
      request.endpoints.map((e) =>
        probeEndpoint(e, {
          timeoutMs: request.timeoutMs,
          ...(request.servername ? { servername: request.servername } : {}),
        }),
      ),
    ),
  ]);
  const entries = 'entries' in inventory ? inventory.entries : undefined;
  const replaced = supersededBy(entries ?? []);
  const rows: DiscoveryRow[] = probes.map((p) => discoveryRow(p, entries, now, replaced));
  const inventoryNote =
    'reason' in inventory
      ? `the inventory (${request.store.mount}/${request.store.prefix}) could not be read: ${inventory.reason}`
      : undefined;

  if (request.format === 'json') {
    out(
      JSON.stringify(
        {
          inventory: inventoryNote ? { read: false, reason: inventoryNote } : { read: true },
          endpoints: rows,
        },
        null,
        2,
      ),
    );
  } else {
    printTable(
      [
        [
          'ENDPOINT',
          'SUBJECT',
          'ISSUER',
          'SANS',
          'NOT AFTER',
          'DAYS LEFT',
          'SERIAL',
          'INVENTORY',
          'WORKFLOW',
        ],
        ...rows.map((r) =>
          r.leaf
            ? [
                r.endpoint,
                r.leaf.subject,
                r.leaf.issuer,
                r.leaf.sans.join(' ') || '-',
                r.leaf.notAfter,
                r.leaf.expired ? `${r.leaf.daysLeft} EXPIRED` : String(r.leaf.daysLeft),
                r.leaf.serial,
                `${INVENTORY_WORDS[r.inventory ?? 'unknown']}${r.status === 'revoked' ? ' REVOKED' : r.supersededBy ? ' SUPERSEDED' : ''}`,
                r.workflowId ?? '-',
              ]
            : [r.endpoint, `UNREACHABLE (${r.error})`, '', '', '', '', '', '', ''],
        ),
      ],
      out,
    );
    if (inventoryNote) out(`Note: ${inventoryNote}.`);
  }
  const problems = rows.map(rowProblem).filter((p): p is string => p !== undefined);
  if (problems.length) throw new DiscoveryProblemError(problems.join('; '));
  return rows;
}
