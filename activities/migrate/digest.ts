// SHA-256 digests of what a migration compares: a KV version's data, a policy's text, a role's
// settings. Computed inside activities on both sides, so histories hold digests, never values.
// Objects are serialised with sorted keys: the same content digests the same however Vault
// ordered its JSON.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The (label, digest) pairs a verification compared, per side, and the labels that differ. */
export interface Compared {
  mismatches: string[];
  source: [string, string][];
  target: [string, string][];
}

/** Records `label`'s source digest `want` against the target's `have` ("missing" when absent). */
export function compareDigests(
  out: Compared,
  label: string,
  want: string,
  have: string,
  differs: string,
): void {
  out.source.push([label, want]);
  out.target.push([label, have]);
  if (want !== have) out.mismatches.push(`${label}: ${have === 'missing' ? 'missing' : differs}`);
}

/** "sha256:<hex>" of the canonical JSON of `value` (a string is digested as its text). */
export function digestOf(value: unknown): string {
  const text = typeof value === 'string' ? value : canonicalJson(value);
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}
