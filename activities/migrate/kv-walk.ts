// The KV v2 paths of a mount in sorted order, from a cursor on: a depth-first walk that lists a
// folder only when something under it may sort after the cursor. A batch of the migration thus
// costs the LISTs of the cursor's ancestors and of the folders it copies, not a walk of the whole
// mount (which made a migration O(batches × keys)). Nothing is kept between batches: the cursor
// (a path) is all the state, so a retry or a new worker resumes from it.
import type { VaultClient } from '../../vault/client.js';
import { listKeys } from '../../vault/kv.js';

/** Sorted by code point, as `>` compares: the cursor's order must be the walk's. */
export const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface KvPage {
  /** At most `limit` paths after the cursor, sorted. */
  paths: string[];
  /** More paths follow the last one. */
  more: boolean;
}

/**
 * Up to `limit` secret paths of `mount` that sort after `after` (all when null). The walk's order
 * is the sorted order of full paths: every path under folder F starts with F, and F's siblings
 * that sort after F do so at a character before F's end, so a folder's subtree is contiguous.
 */
export async function kvPathsAfter(
  vault: VaultClient,
  mount: string,
  after: string | null,
  limit: number,
): Promise<KvPage> {
  const paths: string[] = [];
  let more = false;
  /** Walks `folder`; true once the page is full and one more path was seen. */
  const walk = async (folder: string): Promise<boolean> => {
    const keys = (await listKeys(vault, mount, folder)).map((k) => `${folder}${k}`).sort(byCodePoint);
    for (const full of keys) {
      if (full.endsWith('/')) {
        // A folder sorting before the cursor, and not on the cursor's own path, is all before it.
        if (after !== null && full < after && !after.startsWith(full)) continue;
        if (await walk(full)) return true;
      } else if (after === null || full > after) {
        if (paths.length >= limit) {
          more = true;
          return true;
        }
        paths.push(full);
      }
    }
    return false;
  };
  await walk('');
  return { paths, more };
}

/** The same page from a known list of paths. */
export function pageOf(all: readonly string[], after: string | null, limit: number): KvPage {
  const pending = [...all].sort(byCodePoint).filter((p) => after === null || p > after);
  return { paths: pending.slice(0, limit), more: pending.length > limit };
}
