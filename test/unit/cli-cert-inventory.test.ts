// `vaultops cert list` and `cert discover` input: every bad option is refused (exit 2) with what
// to fix, before anything connects; and how a served certificate is judged against the inventory.
import { describe, expect, it } from 'vitest';
import {
  discoveryRow,
  matchInventory,
  parseCertDiscover,
  parseEndpoint,
  rowProblem,
} from '../../client/commands/cert/discover.js';
import { parseCertList, printInventory, selectEntries } from '../../client/commands/cert/list.js';
import { applyCertRecord, type CertInventoryEntry, type CertRecord } from '../../common/cert/inventory.js';
import type { CertFacts } from '../../common/cert/pem.js';

const now = new Date('2026-01-01T00:00:00.000Z');

function usageError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect((err as Error).name).toBe('UsageError');
    return err as Error;
  }
  throw new Error('no UsageError');
}

const record = (over: Partial<CertRecord> = {}): CertRecord => ({
  serial: '0a:1b',
  issuerId: 'issuer-1',
  mount: 'pki_int',
  subject: 'CN=app.example.com',
  sans: ['app.example.com'],
  notBefore: '2025-12-01T00:00:00.000Z',
  notAfter: '2026-01-31T00:00:00.000Z',
  fingerprint: 'AA:BB',
  workflowId: 'cert:app',
  event: 'issued',
  recordedAt: '2025-12-01T00:00:00.000Z',
  ...over,
});
const entry = (over: Partial<CertRecord> = {}) => applyCertRecord(undefined, record(over)).entry;

describe('cert list options', () => {
  it('defaults: a table of the whole inventory at secret/vaultops/cert-inventory', () => {
    expect(parseCertList({})).toEqual({
      format: 'table',
      store: { mount: 'secret', prefix: 'vaultops/cert-inventory' },
    });
    expect(
      parseCertList({ format: 'csv', mount: '/pki_int/', expiringWithin: '30d', store: 'kv/team/certs' }),
    ).toEqual({
      format: 'csv',
      mount: 'pki_int',
      expiringWithinMs: 30 * 86_400_000,
      store: { mount: 'kv', prefix: 'team/certs' },
    });
  });

  for (const [options, message] of [
    [{ format: 'yaml' }, /--format must be one of table, json, csv/],
    [{ expiringWithin: 'soon' }, /--expiring-within "soon" is not a duration/],
    [{ mount: 'pki int' }, /--mount "pki int" is not a PKI mount path/],
    [{ store: 'nomount' }, /secret path/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      expect(usageError(() => parseCertList(options)).message).toMatch(message);
    });
  }

  it('selects by issuing mount and by expiry', () => {
    // Three certificates of three workflows (of one workflow, the earlier would be superseded).
    const soon = entry({ serial: '01', workflowId: 'cert:a' });
    const later = entry({ serial: '02', notAfter: '2027-01-01T00:00:00.000Z', workflowId: 'cert:b' });
    const other = entry({ serial: '03', mount: 'pki_other', workflowId: 'cert:c' });
    const all = [soon, later, other];
    const pick = (opts: Parameters<typeof parseCertList>[0]) =>
      selectEntries(all, parseCertList(opts), now).map((e) => e.serial);
    expect(pick({})).toEqual(['01', '02', '03']);
    expect(pick({ mount: 'pki_int' })).toEqual(['01', '02']);
    expect(pick({ expiringWithin: '30d' })).toEqual(['01', '03']);
    expect(pick({ expiringWithin: '30d', mount: 'pki_other' })).toEqual(['03']);
    // Renewed by its workflow: the earlier certificate no longer counts as about to expire.
    const renewed = entry({ serial: '04', notBefore: '2026-01-02T00:00:00.000Z', workflowId: 'cert:a' });
    expect(
      selectEntries([...all, renewed], parseCertList({ expiringWithin: '30d' }), now).map((e) => e.serial),
    ).toEqual(['03', '04']);
  });

  it('the table: serial, subject, SANs, issuer by name, not-after, days left, status, workflow', () => {
    const lines: string[] = [];
    const revoked = applyCertRecord(
      entry({ serial: '02', sans: [] }),
      record({ serial: '02', event: 'revoked' }),
    ).entry;
    const other = entry({
      serial: '03',
      mount: 'pki_other',
      sans: ['a.example.com', '10.0.0.5'],
      workflowId: 'cert:other',
    });
    printInventory(
      [entry(), { ...revoked, workflowId: undefined } as CertInventoryEntry, other],
      'table',
      (l) => lines.push(l),
      now,
      undefined,
      // Names are per mount: pki_other's issuer-1 has none known, so its id shows.
      new Map([['pki_int issuer-1', 'int-2026']]),
    );
    expect(lines[0]).toMatch(
      /^SERIAL\s+SUBJECT\s+SANS\s+ISSUER\s+NOT AFTER\s+DAYS LEFT\s+STATUS\s+WORKFLOW$/,
    );
    expect(lines[1]).toMatch(
      /^0a:1b\s+CN=app\.example\.com\s+app\.example\.com\s+pki_int int-2026\s+2026-01-31T00:00:00\.000Z\s+30\s+active\s+cert:app$/,
    );
    expect(lines[2]).toMatch(/^02\s+CN=app\.example\.com\s+-\s+pki_int int-2026\s+.*\s+revoked\s+-$/);
    expect(lines[3]).toMatch(
      /^03\s+CN=app\.example\.com\s+a\.example\.com,10\.0\.0\.5\s+pki_other issuer-1\s/,
    );
    expect(lines).toHaveLength(4);
  });
});

describe('cert discover options', () => {
  it('host:port, [v6]:port, defaults and options', () => {
    expect(parseEndpoint('example.com:443')).toEqual({ host: 'example.com', port: 443 });
    expect(parseEndpoint('10.0.0.5:8443')).toEqual({ host: '10.0.0.5', port: 8443 });
    expect(parseEndpoint('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443 });
    expect(parseCertDiscover(['a.example.com:443'], {})).toEqual({
      endpoints: [{ host: 'a.example.com', port: 443 }],
      format: 'table',
      timeoutMs: 5000,
      store: { mount: 'secret', prefix: 'vaultops/cert-inventory' },
    });
    expect(
      parseCertDiscover(['10.0.0.5:443', 'b:1'], {
        format: 'json',
        servername: 'app.example.com',
        timeout: '250ms',
      }),
    ).toMatchObject({ format: 'json', servername: 'app.example.com', timeoutMs: 250 });
  });

  for (const [endpoints, options, message] of [
    [['example.com'], {}, /"example.com" is not host:port/],
    [['example.com:'], {}, /the port must be a number from 1 to 65535/],
    [['example.com:0'], {}, /the port must be a number from 1 to 65535/],
    [['example.com:65536'], {}, /the port must be a number from 1 to 65535/],
    [['2001:db8::1:443'], {}, /is not host:port/],
    [[':443'], {}, /is not host:port/],
    [[], {}, /name at least one endpoint/],
    [['a:1'], { format: 'csv' }, /--format must be one of table, json/],
    [['a:1'], { timeout: 'soon' }, /--timeout "soon" must be a duration/],
    [['a:1'], { timeout: '1h' }, /--timeout "1h" must be a duration from 1ms to 5m/],
    [['a:1'], { servername: 'bad name' }, /--servername "bad name" is not a DNS name/],
  ] as const) {
    it(`refuses ${JSON.stringify(endpoints)} ${JSON.stringify(options)}`, () => {
      expect(usageError(() => parseCertDiscover(endpoints, options)).message).toMatch(message);
    });
  }
});

describe('a served certificate against the inventory', () => {
  const leaf: CertFacts = {
    serial: 'A1B', // Node's spelling of 0a:1b
    subject: 'CN=app.example.com',
    issuer: 'CN=Example Intermediate',
    sans: ['app.example.com'],
    notBefore: '2025-12-01T00:00:00.000Z',
    notAfter: '2026-01-31T00:00:00.000Z',
    fingerprint: 'aa:bb',
  };
  const served = { endpoint: 'app:443', reachable: true as const, chain: [leaf] };

  it('recorded by serial and fingerprint; another certificate under a recorded serial is not', () => {
    expect(matchInventory(leaf, [entry()])).toMatchObject({ state: 'recorded' });
    expect(matchInventory(leaf, [entry({ fingerprint: 'CC:DD' })])).toMatchObject({
      state: 'serial-mismatch',
    });
    expect(matchInventory(leaf, [entry({ serial: '0c' })])).toEqual({ state: 'not-recorded' });
    expect(matchInventory(leaf, undefined)).toEqual({ state: 'unknown' });
  });

  it('the row names the workflow; exit 1 for unreachable, expired, revoked or superseded', () => {
    const row = discoveryRow(served, [entry()], now);
    expect(row).toMatchObject({ inventory: 'recorded', status: 'active', workflowId: 'cert:app' });
    expect(row.leaf).toMatchObject({ daysLeft: 30, expired: false });
    expect(rowProblem(row)).toBeUndefined();
    expect(rowProblem(discoveryRow(served, undefined, now))).toBeUndefined();
    expect(rowProblem(discoveryRow(served, [entry()], new Date('2026-02-01T00:00:00Z')))).toBe(
      'app:443 serves an expired certificate',
    );
    expect(rowProblem(discoveryRow(served, [entry({ event: 'revoked' })], now))).toBe(
      'app:443 serves a revoked certificate',
    );
    expect(rowProblem(discoveryRow({ endpoint: 'x:1', reachable: false, error: 'refused' }, [], now))).toBe(
      'x:1 unreachable',
    );
    // Renewed since by its workflow: the endpoint serves a stale certificate (its reload missed).
    const renewed = entry({ serial: '0e:0f', fingerprint: 'EE:FF', notBefore: '2025-12-20T00:00:00.000Z' });
    const stale = discoveryRow(served, [entry(), renewed], now);
    expect(stale).toMatchObject({ inventory: 'recorded', supersededBy: '0e:0f' });
    expect(rowProblem(stale)).toBe('app:443 serves a certificate renewed since (as 0e:0f): reload it');
  });
});
