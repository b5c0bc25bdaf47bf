// The KV walk a migration batch starts from (activities/migrate/kv-walk.ts): pages after a cursor
// come in the sorted order of full paths, whatever the names (a leaf beside a folder of the same
// name, "-" and "." that sort before "/"), together give every path exactly once, and a page deep
// in the mount lists only the folders on its way, not the whole mount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkKvPaths } from '../../../activities/migrate/inventory.js';
import { kvPathsAfter } from '../../../activities/migrate/kv-walk.js';
import type { VaultClient } from '../../../vault/client.js';
import { writeSecret } from '../../../vault/kv.js';
import { rootClient, unique } from '../../harness/vault.js';

const root = rootClient();
const mount = unique('walk');
const PATHS = [
  'a',
  'a-b',
  'a.c',
  'a/x',
  'a/x-y/z',
  'a/x/deep/er',
  'ab',
  'b/c/d/e',
  ...Array.from({ length: 10 }, (_, f) => Array.from({ length: 4 }, (_, s) => `f-${f}/s-${s}`)).flat(),
  'z',
];

/** The client, with its LIST calls counted. */
function counting(vault: VaultClient): { vault: VaultClient; lists: () => number } {
  let lists = 0;
  const proxy = new Proxy(vault, {
    get(target, name) {
      if (name === 'list')
        return (...args: Parameters<VaultClient['list']>) => {
          lists++;
          return target.list(...args);
        };
      const value = Reflect.get(target, name);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { vault: proxy, lists: () => lists };
}

beforeAll(async () => {
  await root.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
  for (const path of PATHS) await writeSecret(root, mount, path, { n: 1 });
});

afterAll(async () => {
  await root.close();
});

describe('kvPathsAfter', () => {
  it('pages through every path once, in the order of the full walk, for any page size', async () => {
    const all = await walkKvPaths(root, mount, '2');
    expect([...all].sort()).toEqual([...PATHS].sort());
    for (const limit of [1, 2, 3, 7, 100]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await kvPathsAfter(root, mount, after, limit);
        seen.push(...page.paths);
        if (!page.more) break;
        expect(page.paths).toHaveLength(limit);
        after = page.paths[page.paths.length - 1] as string;
      }
      expect(seen, `limit ${limit}`).toEqual(all);
    }
  });

  it('starts from a cursor inside a folder, and says when nothing follows', async () => {
    expect(await kvPathsAfter(root, mount, 'a/x-y/z', 2)).toEqual({
      paths: ['a/x/deep/er', 'ab'],
      more: true,
    });
    expect(await kvPathsAfter(root, mount, 'f-9/s-3', 5)).toEqual({ paths: ['z'], more: false });
    expect(await kvPathsAfter(root, mount, 'z', 5)).toEqual({ paths: [], more: false });
  });

  it('lists only the folders on the way to a deep cursor, not the whole mount', async () => {
    const full = counting(root);
    await walkKvPaths(full.vault, mount, '2');
    const deep = counting(root);
    const page = await kvPathsAfter(deep.vault, mount, 'f-8/s-3', 4);
    expect(page).toEqual({ paths: ['f-9/s-0', 'f-9/s-1', 'f-9/s-2', 'f-9/s-3'], more: true });
    // The root, the cursor's own f-8/ and f-9/: the folders before f-8/ are skipped unlisted.
    expect(deep.lists()).toBe(3);
    expect(full.lists()).toBeGreaterThan(10);
  });
});
