// Looks for secret values in text a process left behind: its output and every file under the
// directories it could write. Each value is also looked for base64-encoded, as Vault's transit
// API and many logs carry it that way.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Leak {
  secret: string;
  where: string;
  line: number;
}

export interface ScanSource {
  name: string;
  text: string;
}

/** Every regular file under `dir`, as a scan source named by its path. */
export function filesUnder(dir: string): ScanSource[] {
  const out: ScanSource[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) out.push(...filesUnder(path));
    else if (stat?.isFile()) out.push({ name: path, text: readFileSync(path).toString('latin1') });
  }
  return out;
}

export function scanForSecrets(secrets: Record<string, string>, sources: ScanSource[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [secret, value] of Object.entries(secrets)) {
    const forms = [value, Buffer.from(value).toString('base64').replace(/=+$/, '')];
    for (const { name, text } of sources) {
      text.split('\n').forEach((line, i) => {
        if (forms.some((f) => line.includes(f))) leaks.push({ secret, where: name, line: i + 1 });
      });
    }
  }
  return leaks;
}

export const describeLeaks = (leaks: Leak[]) =>
  leaks.map((l) => `${l.secret} found in ${l.where}, line ${l.line}`).join('\n');
