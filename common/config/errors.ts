// A configuration problem, phrased for the person who has to fix it: what zod found, said with
// the field's path as the file spells it.
import type { z } from 'zod';

/** A configuration problem, already phrased for the person who has to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The value the document holds at `path`, to tell a missing field from a mistyped one. */
function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let value = doc;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** One zod issue as a line of a ConfigError. */
export function describeIssue(issue: z.core.$ZodIssue, doc: unknown): string {
  // A single method is parsed as a chain of one; report its fields without the list index.
  const auth = issue.path[0] === 'vault_integration' ? 1 : issue.path[0] === 'vault_clusters' ? 2 : undefined;
  const singleAuthMethod =
    auth !== undefined &&
    issue.path[auth] === 'authentication' &&
    issue.path[auth + 1] === 0 &&
    !Array.isArray(valueAt(doc, issue.path.slice(0, auth + 1)));
  const path =
    singleAuthMethod && auth !== undefined
      ? [...issue.path.slice(0, auth + 1), ...issue.path.slice(auth + 2)]
      : issue.path;
  const where = path.length > 0 ? path.join('.') : '(top level)';
  if (issue.code === 'invalid_key') {
    return `${where}: ${issue.issues[0]?.message ?? issue.message}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or correct ${issue.keys.length > 1 ? 'them' : 'it'} (see docs/configuration.md)`;
  }
  // zod does not report the input, so look it up: only a field that is absent "is required".
  if (issue.code === 'invalid_type' && valueAt(doc, path) === undefined) {
    return `${where}: is required`;
  }
  return `${where}: ${issue.message}`;
}
