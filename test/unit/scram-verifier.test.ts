// The password verifiers a rotation sends instead of the plaintext. The SCRAM vectors were made by
// a real PostgreSQL 15.18 (CREATE ROLE ... PASSWORD '<plaintext>', then pg_authid.rolpassword):
// recomputing each with its salt must give the server's verifier byte for byte, including the
// SASLprep cases (mapped spaces, removed characters, NFKC, prohibited characters that make
// PostgreSQL hash the raw bytes). The MySQL vector is MariaDB's own `SELECT PASSWORD('test')`.
// The integration test (secret-rotation-databases) logs in with pre-hashed passwords for real.
import { describe, expect, it } from 'vitest';
import { mysqlNativePasswordHash, saslprep, scramSha256Verifier } from '../../activities/rotation/scram.js';

const POSTGRES_VECTORS: [password: string, rolpassword: string][] = [
  [
    'pencil',
    'SCRAM-SHA-256$4096:a4/8zEMN+oACvjdUsj3mbA==$WQcTvnmmFPheHL/dYZH8FbLT37ikdhvIo7C0NTBb5Yc=:vTLFN99O0Exp51mRU7RJMzoE1C76yCVHZg+ITSElp80=',
  ],
  [
    'plain ascii ~!',
    'SCRAM-SHA-256$4096:QUFrznN1eLI9wS+tSb+G3Q==$sdus0FHPb1GWNy8QThq9AA/orpDKhoPn1ftbNX4h7Dw=:dyqB7hanaWoV0v/vb1r7plN/kbZrgFyLPcoMwkIrgmU=',
  ],
  [
    'ABC-pässwörd',
    'SCRAM-SHA-256$4096:wND2F6IlUDZBihVEJ3zGVQ==$EtsxJirmUF5s6Y4aEYX/O5590NIxSsnhOc2rKVXlpeA=:aQXyXZOe1iP2V0Qkm6Xf5+QCb81BiTvjWkPbZd/GHx4=',
  ],
  // Full-width letters: NFKC makes them ASCII before hashing.
  [
    'ＡＢＣ-pässwörd',
    'SCRAM-SHA-256$4096:OI/CcIzs4W11iADTvxoTUw==$kYNGYxnwIKh4FztCUas7QLRVItjL18spSFroWQBwJwo=:tc/qDrRpRIA1fyAun7gxUVZ2nc3/UozqFT4eLiS/yws=',
  ],
  // A no-break space becomes a space, a soft hyphen goes.
  [
    'a\u00a0b\u00adc-ü',
    'SCRAM-SHA-256$4096:H6ysx56OTphemNy4pN5MDg==$Zr2Q1PZGw3ExMvMcV08GAhCDppUUXu24KnA92vKsNFo=:PcnDhcA1iHR2Rm5cin9BTTQ55biAirhKsCOZHzeX698=',
  ],
  // A control character is prohibited: PostgreSQL hashes the raw bytes.
  [
    'ü\u0007bell',
    'SCRAM-SHA-256$4096:Z0TBtfsP7Oxgy/Zbso/sdA==$CCzFxalFaQOhknJkTM4qoXYv5wHXsMlUmugVh67+564=:3W9djti1j3WFzj35Tjv6ZvB98C2EHLkXarKhYeM8Fqk=',
  ],
  [
    'ﬁx-Ⅸ-ü',
    'SCRAM-SHA-256$4096:lqhGnaI/FXylOyUK5kE9Yg==$B9Mbo5T3uET7eckzqsWcwChrtT3cPiq+rffBv9yGVWE=:G1glS/m2Z/pih/Vcvh0RriE4uSKrlIlLp3jQ26Ys6nc=',
  ],
];

const saltOf = (verifier: string) => Buffer.from(verifier.split(':')[1]?.split('$')[0] ?? '', 'base64');

describe('SCRAM-SHA-256 verifier', () => {
  it.each(POSTGRES_VECTORS)('matches what PostgreSQL stored for %j', (password, stored) => {
    expect(scramSha256Verifier(password, saltOf(stored))).toBe(stored);
  });

  it('differs for a different password or salt', () => {
    const [password, stored] = POSTGRES_VECTORS[0] as [string, string];
    expect(scramSha256Verifier(`${password}x`, saltOf(stored))).not.toBe(stored);
    expect(scramSha256Verifier(password, Buffer.alloc(16, 1))).not.toBe(stored);
  });

  it('draws a fresh 16-byte salt each time, with 4096 iterations', () => {
    const a = scramSha256Verifier('same-password');
    const b = scramSha256Verifier('same-password');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(saltOf(a)).toHaveLength(16);
    expect(a).not.toContain('same-password');
  });

  it('prepares like PostgreSQL: ASCII as is, NFKC otherwise, raw when prohibited', () => {
    expect(saslprep('pencil\u0007')).toBe('pencil\u0007');
    expect(saslprep('ＡＢＣ')).toBe('ABC');
    expect(saslprep('a\u3000b\u200dc')).toBe('a bc');
    expect(saslprep('ü\u0007')).toBe('ü\u0007');
  });
});

describe('mysql_native_password hash', () => {
  it("matches MariaDB's PASSWORD()", () => {
    expect(mysqlNativePasswordHash('test')).toBe('*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29');
    expect(mysqlNativePasswordHash('tesT')).not.toBe('*94BDCEBE19083CE2A1F959FD02F964C7AF4CFC29');
  });
});
