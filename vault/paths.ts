// Vault API paths built from input. A secret named "../../sys/seal" must name a secret, not the
// seal endpoint: every segment that comes from input is checked and percent-encoded here, and the
// client refuses any path that still holds a dot segment, an empty segment or a control character.
import { VaultErrorType, vaultFailure } from './errors.js';

/** Marks a value that must be exactly one path segment (a key, role, policy or issuer name). */
export class Segment {
  constructor(readonly value: string) {}
}

/** `vaultPath\`${mount}/keys/${segment(name)}\`` keeps a name from spilling into other segments. */
export const segment = (value: string): Segment => new Segment(value);

// Matching control characters is the point here: they are what a path may not contain.
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting them is the purpose
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The error for a path that could reach somewhere other than what it names; never retried. */
function invalidPath(value: string, problem: string) {
  return vaultFailure(VaultErrorType.InvalidPath, `path ${JSON.stringify(printable(value))}: ${problem}`, {
    method: '',
    path: printable(value),
    status: null,
    namespace: null,
  });
}

function printable(value: string): string {
  // Control characters are shown escaped, and long input is cut: an error message is no dump.
  const shown = [...value].map((c) =>
    CONTROL.test(c) ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c,
  );
  const text = shown.join('');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function checkSegment(whole: string, seg: string): void {
  if (seg === '') throw invalidPath(whole, 'has an empty segment ("//"); remove the extra slash');
  if (CONTROL.test(seg)) throw invalidPath(whole, 'contains a control character; remove it');
  const decoded = safeDecode(seg);
  if (decoded === '.' || decoded === '..') {
    throw invalidPath(
      whole,
      `has a "${decoded}" segment, which would leave the path it names; name it without "." or ".." segments`,
    );
  }
}

function safeDecode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Splits an input path into checked, encoded segments; surrounding slashes are dropped. */
function encodeInput(value: string, single: boolean): string {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') throw invalidPath(value, 'is empty; give a name');
  if (single && trimmed.includes('/')) {
    throw invalidPath(value, 'must be a single name, without "/"');
  }
  const segments = trimmed.split('/');
  for (const seg of segments) checkSegment(value, seg);
  return segments.map(encodeURIComponent).join('/');
}

/**
 * Builds a path from literal parts and input values. A string value may span segments (a mount
 * such as "kv/team", a secret path such as "app/db"); a `segment(...)` value must be one segment.
 * Numbers (versions) are written as they are.
 */
export function vaultPath(strings: TemplateStringsArray, ...values: (string | number | Segment)[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    if (typeof value === 'number') out += String(value);
    else if (value instanceof Segment) out += encodeInput(value.value, true);
    else out += encodeInput(value, false);
    out += strings[i + 1] ?? '';
  });
  return out;
}

/**
 * The last line of defence, for every request the client sends: a path may not hold a dot
 * segment (URL resolution would turn "secret/data/../../sys/seal" into "sys/seal"), an empty
 * interior segment or a control character. A trailing slash is allowed (Vault's list paths).
 */
export function checkRequestPath(path: string): string {
  const [route = '', query] = splitQuery(path);
  const trimmed = route.replace(/^\/+/, '');
  if (trimmed === '') throw invalidPath(path, 'is empty; give an API path such as "sys/health"');
  if (CONTROL.test(path)) throw invalidPath(path, 'contains a control character; remove it');
  const segments = trimmed.replace(/\/$/, '').split('/');
  for (const seg of segments) checkSegment(path, seg);
  return query === undefined ? trimmed : `${trimmed}?${query}`;
}

function splitQuery(path: string): [string, string | undefined] {
  const at = path.indexOf('?');
  return at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 1)];
}

/** One spelling per namespace: "team/", "/team" and "team" are the same namespace; "" is root. */
export function normalizeNamespace(namespace: string | undefined | null): string {
  return (namespace ?? '').replace(/^\/+|\/+$/g, '');
}
