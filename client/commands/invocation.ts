// How the user runs vaultops, so that the hints we print run as printed: `vaultops` when it is on
// PATH (npm link, a global install), else `npx vaultops` from the checkout. npm and npx put the
// project's node_modules/.bin on PATH for their child, so that entry does not count: the user's
// own shell does not have it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join, sep } from 'node:path';

export function invocation(path: string | undefined): 'vaultops' | 'npx vaultops' {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || dir.endsWith(`${sep}node_modules${sep}.bin`)) continue;
    try {
      accessSync(join(dir, 'vaultops'), constants.X_OK);
      return 'vaultops';
    } catch {
      // not here
    }
  }
  return 'npx vaultops';
}

/** The command to print in hints, e.g. `${VAULTOPS} approve <id>`. */
export const VAULTOPS = invocation(process.env.PATH);
