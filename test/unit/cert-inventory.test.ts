// The certificate inventory's pure parts: serial and fingerprint spellings, the merge rule that
// makes recording idempotent and revocation final, CSV quoting, JSON, and reading a PEM's facts.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  applyCertRecord,
  type CertInventoryEntry,
  type CertRecord,
  csvField,
  daysLeft,
  entryStatus,
  expiresWithin,
  inventoryToCsv,
  inventoryToJson,
  normalizeFingerprint,
  serialKey,
  supersededBy,
  vaultSerial,
} from '../../common/cert/inventory.js';
import { certFacts, certRecordFromPem, parseSubjectAltName } from '../../common/cert/pem.js';

const now = new Date('2026-01-01T00:00:00.000Z');

const record = (over: Partial<CertRecord> = {}): CertRecord => ({
  serial: '0A:1B:2C',
  issuerId: 'issuer-1',
  mount: 'pki_int',
  role: 'web',
  subject: 'CN=app.example.com',
  sans: ['app.example.com'],
  notBefore: '2025-12-01T00:00:00.000Z',
  notAfter: '2026-01-31T00:00:00.000Z',
  fingerprint: 'ab:cd:ef',
  workflowId: 'cert:default:pki_int:app.example.com',
  event: 'issued',
  recordedAt: '2025-12-01T00:00:01.000Z',
  ...over,
});

describe('serials and fingerprints', () => {
  it("Node's and Vault's spellings of one serial are one key", () => {
    expect(serialKey('0A:1B:2C')).toBe('0a1b2c');
    expect(serialKey('A1B2C')).toBe('0a1b2c'); // Node drops a leading zero nibble
    expect(serialKey('00:a1:b2:2c')).toBe('a1b22c'); // a sign byte is no part of the number
    expect(vaultSerial('A1B2C')).toBe('0a:1b:2c');
    expect(() => serialKey('../etc')).toThrow(/not a certificate serial/);
  });

  it('fingerprints compare as uppercase colon-separated hex', () => {
    expect(normalizeFingerprint('abcdef')).toBe('AB:CD:EF');
    expect(normalizeFingerprint('AB:cd:EF')).toBe('AB:CD:EF');
  });
});

describe('applyCertRecord', () => {
  it('a first record makes an active entry in canonical spelling, with one event', () => {
    const { entry, changed } = applyCertRecord(undefined, record());
    expect(changed).toBe(true);
    expect(entry).toMatchObject({ serial: '0a:1b:2c', fingerprint: 'AB:CD:EF', status: 'active' });
    expect(entry.events).toEqual([
      { event: 'issued', recordedAt: '2025-12-01T00:00:01.000Z', workflowId: record().workflowId },
    ]);
    expect(Object.keys(entry).sort()).toEqual(
      [
        'serial',
        'issuerId',
        'mount',
        'role',
        'subject',
        'sans',
        'notBefore',
        'notAfter',
        'fingerprint',
        'workflowId',
        'status',
        'events',
      ].sort(),
    );
    // A caller's extra properties are not stored.
    const extra = { ...record(), privateKey: 'never stored' } as CertRecord;
    expect(applyCertRecord(undefined, extra).entry).not.toHaveProperty('privateKey');
  });

  it('recording the same event again (a retried activity) changes nothing', () => {
    const first = applyCertRecord(undefined, record()).entry;
    const again = applyCertRecord(first, record());
    expect(again.changed).toBe(false);
    expect(again.entry).toBe(first);
  });

  it('a revocation keeps the history and is final', () => {
    const issued = applyCertRecord(undefined, record()).entry;
    const revoked = applyCertRecord(
      issued,
      record({ event: 'revoked', recordedAt: '2025-12-15T00:00:00.000Z' }),
    ).entry;
    expect(revoked.status).toBe('revoked');
    expect(revoked.events.map((e) => e.event)).toEqual(['issued', 'revoked']);
    // A late 'issued' record (delivered out of order) does not bring it back.
    const late = applyCertRecord(revoked, record({ recordedAt: '2025-12-01T00:00:00.500Z' })).entry;
    expect(late.status).toBe('revoked');
    expect(late.events.map((e) => e.event)).toEqual(['issued', 'issued', 'revoked']);
  });

  it('a revocation of a certificate never recorded makes a revoked entry', () => {
    expect(applyCertRecord(undefined, record({ event: 'revoked' })).entry.status).toBe('revoked');
  });
});

describe('status and expiry', () => {
  const entry = applyCertRecord(undefined, record()).entry;
  it('days left, expired, expiring within', () => {
    expect(daysLeft(entry.notAfter, now)).toBe(30);
    expect(entryStatus(entry, now)).toBe('active');
    expect(entryStatus(entry, new Date('2026-02-01T00:00:00Z'))).toBe('expired');
    expect(daysLeft(entry.notAfter, new Date('2026-02-01T00:00:00Z'))).toBe(-1);
    expect(expiresWithin(entry, 30 * 86_400_000, now)).toBe(true);
    expect(expiresWithin(entry, 29 * 86_400_000, now)).toBe(false);
    expect(expiresWithin({ ...entry, status: 'revoked' }, 30 * 86_400_000, now)).toBe(false);
  });
});

describe('renewals', () => {
  const first = applyCertRecord(undefined, record()).entry;
  const renewed = applyCertRecord(
    undefined,
    record({ serial: '0D:0E', notBefore: '2025-12-20T00:00:00.000Z', event: 'renewed' }),
  ).entry;
  const other = applyCertRecord(undefined, record({ serial: '0F', workflowId: 'cert:other' })).entry;

  it('a certificate a later one of its workflow replaced is superseded, not about to expire', () => {
    const replaced = supersededBy([renewed, other, first]);
    expect([...replaced]).toEqual([['0a:1b:2c', '0d:0e']]);
    expect(entryStatus(first, now, replaced.get(first.serial))).toBe('superseded');
    expect(entryStatus(renewed, now, replaced.get(renewed.serial))).toBe('active');
    expect(entryStatus(first, new Date('2026-02-01T00:00:00Z'), '0d:0e')).toBe('expired');
    expect(expiresWithin(first, 30 * 86_400_000, now, '0d:0e')).toBe(false);
    expect(inventoryToCsv([first, renewed], now).split('\n')[1]).toMatch(/,30,superseded,0d:0e,/);
    expect(JSON.parse(inventoryToJson([first, renewed], now))[0]).toMatchObject({
      status: 'superseded',
      supersededBy: '0d:0e',
    });
  });
});

describe('CSV', () => {
  it('quotes a field with a comma, quote or line break, doubling its quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('CN=a, O=b')).toBe('"CN=a, O=b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('one header line and one line per entry, in column order', () => {
    const entries: CertInventoryEntry[] = [
      applyCertRecord(undefined, record({ subject: 'CN=app.example.com, O="Acme, Inc."' })).entry,
      applyCertRecord(undefined, record({ serial: '01', role: undefined, workflowId: undefined })).entry,
    ];
    const lines = inventoryToCsv(entries, now).split('\n');
    expect(lines[0]).toBe(
      'serial,subject,sans,issuer_id,mount,role,not_before,not_after,days_left,status,superseded_by,fingerprint,workflow_id,last_event,last_recorded_at',
    );
    expect(lines[1]).toBe(
      '0a:1b:2c,"CN=app.example.com, O=""Acme, Inc.""",app.example.com,issuer-1,pki_int,web,' +
        '2025-12-01T00:00:00.000Z,2026-01-31T00:00:00.000Z,30,active,,AB:CD:EF,' +
        'cert:default:pki_int:app.example.com,issued,2025-12-01T00:00:01.000Z',
    );
    expect(lines[2]).toBe(
      '01,CN=app.example.com,app.example.com,issuer-1,pki_int,,2025-12-01T00:00:00.000Z,' +
        '2026-01-31T00:00:00.000Z,30,active,,AB:CD:EF,,issued,2025-12-01T00:00:01.000Z',
    );
    expect(lines).toHaveLength(3);
  });

  it('an empty inventory is the header alone', () => {
    expect(inventoryToCsv([], now).split('\n')).toHaveLength(1);
  });
});

describe('JSON', () => {
  it('every entry with its status and days left as of now', () => {
    const revoked = applyCertRecord(undefined, record({ event: 'revoked' })).entry;
    const parsed = JSON.parse(inventoryToJson([revoked], now));
    expect(parsed).toEqual([{ ...revoked, status: 'revoked', daysLeft: 30 }]);
  });
});

describe('PEM facts', () => {
  it("Node's SAN list, with quoted values kept whole", () => {
    expect(parseSubjectAltName(undefined)).toEqual([]);
    // As Node prints a SAN holding a comma or a quote (escaped JSON-style, so it cannot pass for two).
    expect(
      parseSubjectAltName(
        'DNS:a.example.com, IP Address:127.0.0.1, DNS:"b\\u002cc.example.com", DNS:"q\\"x", URI:https://x/y',
      ),
    ).toEqual(['a.example.com', '127.0.0.1', 'b,c.example.com', 'q"x', 'https://x/y']);
  });

  it('serial, subject, SANs, dates and fingerprint of a certificate', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0a1b2c3d',
      name: 'CN=app.example.com, O=Example',
      notBefore: new Date('2025-12-01T00:00:00Z'),
      notAfter: new Date('2026-01-31T00:00:00Z'),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'app.example.com' },
          { type: 'ip', value: '10.0.0.5' },
        ]),
      ],
    });
    const pem = cert.toString('pem');
    const facts = certFacts(pem);
    expect(facts).toMatchObject({
      serial: '0a:1b:2c:3d',
      subject: 'CN=app.example.com, O=Example',
      issuer: 'CN=app.example.com, O=Example',
      sans: ['app.example.com', '10.0.0.5'],
      notBefore: '2025-12-01T00:00:00.000Z',
      notAfter: '2026-01-31T00:00:00.000Z',
    });
    expect(facts.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(
      certRecordFromPem(pem, { issuerId: 'i', mount: 'pki', event: 'issued', recordedAt: now.toISOString() }),
    ).toEqual({
      serial: '0a:1b:2c:3d',
      subject: 'CN=app.example.com, O=Example',
      sans: ['app.example.com', '10.0.0.5'],
      notBefore: '2025-12-01T00:00:00.000Z',
      notAfter: '2026-01-31T00:00:00.000Z',
      fingerprint: facts.fingerprint,
      issuerId: 'i',
      mount: 'pki',
      event: 'issued',
      recordedAt: now.toISOString(),
    });
  });
});
