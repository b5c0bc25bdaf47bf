// Password verifiers computed in node, so that a rotation sends the server a hash and never the
// plaintext: an `ALTER ROLE ... PASSWORD 'plaintext'` can land in the server log (log_statement,
// the general log), a verifier there lets nobody log in with a normal client.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const SCRAM_ITERATIONS = 4096;

type Ranges = readonly (readonly [number, number])[];
// RFC 3454 tables, as code point ranges (a regex class would mix in combining characters).
const NON_ASCII_SPACE: Ranges = [
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
const MAPPED_TO_NOTHING: Ranges = [
  [0xad, 0xad],
  [0x34f, 0x34f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200c, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];
const PROHIBITED_EXTRA: Ranges = [
  [0x340, 0x341],
  [0x200e, 0x200f],
  [0x202a, 0x202e],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb],
  [0xfff9, 0xfffd],
];
const inRanges = (cp: number, ranges: Ranges) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
const PROHIBITED_CATEGORY = /[\p{Cc}\p{Co}\p{Cs}\p{Cn}]/u;

/**
 * PostgreSQL's SASLprep (RFC 4013) as pg_saslprep applies it before hashing: ASCII passes as is;
 * otherwise non-ASCII spaces become spaces, "mapped to nothing" characters go, the rest is
 * NFKC-normalised; a result with prohibited characters makes PostgreSQL use the raw bytes instead.
 * (The prohibited check covers controls, private use, surrogates, unassigned and the RFC 3454
 * C.7–C.9 code points; the bidi rule is left out: such passwords are not what rotation generates.)
 */
export function saslprep(password: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the whole point of the test
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  let mapped = '';
  for (const ch of password) {
    const cp = ch.codePointAt(0) ?? 0;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped += ' ';
    else if (!inRanges(cp, MAPPED_TO_NOTHING)) mapped += ch;
  }
  mapped = mapped.normalize('NFKC');
  for (const ch of mapped) {
    if (PROHIBITED_CATEGORY.test(ch) || inRanges(ch.codePointAt(0) ?? 0, PROHIBITED_EXTRA)) return password;
  }
  return mapped;
}

/**
 * The SCRAM-SHA-256 verifier of `password` as PostgreSQL stores it in pg_authid.rolpassword:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802, RFC 7677). PostgreSQL
 * accepts it pre-hashed in `ALTER ROLE ... PASSWORD '<verifier>'` and stores it unchanged.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): string {
  const salted = pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * MariaDB/MySQL's mysql_native_password hash (what `PASSWORD('...')` returns): `*` and the upper
 * hex SHA1(SHA1(password)), taken by `IDENTIFIED BY PASSWORD '<hash>'`.
 */
export function mysqlNativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}
