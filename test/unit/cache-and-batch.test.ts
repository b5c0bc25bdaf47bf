import { describe, expect, it } from 'vitest';
import { inBatches } from '../../activities/vault/batch.js';
import { logicalPath, ReadCache } from '../../activities/vault/cache.js';

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('ReadCache', () => {
  it('serves a fresh entry, counts hits and misses, and expires at the configured TTL', () => {
    const t = clock();
    const cache = new ReadCache({ ttlMs: 1000, maxEntries: 10, now: t.now });
    expect(cache.get('', 'GET', 'secret/data/a')).toBeUndefined();
    cache.set('', 'GET', 'secret/data/a', { data: 1 });
    expect(cache.get('', 'GET', 'secret/data/a')).toEqual({ data: 1 });
    t.advance(1000);
    expect(cache.get('', 'GET', 'secret/data/a')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('expires sooner when the response carries a shorter lease', () => {
    const t = clock();
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 10, now: t.now });
    cache.set('', 'GET', 'database/creds/app', { lease_duration: 2, data: {} });
    t.advance(1999);
    expect(cache.get('', 'GET', 'database/creds/app')).toBeDefined();
    t.advance(1);
    expect(cache.get('', 'GET', 'database/creds/app')).toBeUndefined();
  });

  it('stays within its bound, evicting the least recently used', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set('', 'GET', 'a', 1);
    cache.set('', 'GET', 'b', 2);
    cache.get('', 'GET', 'a'); // a is now the most recently used
    cache.set('', 'GET', 'c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('', 'GET', 'b')).toBeUndefined();
    expect(cache.get('', 'GET', 'a')).toBe(1);
  });

  it('drops entries on related paths when we write, in that namespace only', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    cache.set('', 'GET', 'secret/data/app/db', 'db');
    cache.set('', 'LIST', 'secret/metadata/app', ['db']);
    cache.set('', 'GET', 'secret/data/other', 'other');
    cache.set('tenant', 'GET', 'secret/data/app/db', 'tenant db');
    cache.invalidate('', 'secret/destroy/app/db');
    expect(cache.get('', 'GET', 'secret/data/app/db')).toBeUndefined();
    expect(cache.get('', 'LIST', 'secret/metadata/app')).toBeUndefined();
    expect(cache.get('', 'GET', 'secret/data/other')).toBe('other');
    expect(cache.get('tenant', 'GET', 'secret/data/app/db')).toBe('tenant db');
  });

  it('reads one KV v2 secret the same whichever verb names it', () => {
    expect(logicalPath('secret/metadata/app/db')).toEqual(logicalPath('secret/data/app/db?version=2'));
    expect(logicalPath('transit/keys/k/rotate')).toEqual(['transit', 'keys', 'k', 'rotate']);
  });
});

describe('inBatches', () => {
  it('keeps at most `concurrency` calls in flight and gives each item its own outcome', async () => {
    let inFlight = 0;
    let peak = 0;
    const outcomes = await inBatches([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= 1;
      if (n === 4) throw new Error('four failed');
      return n * 10;
    });
    expect(peak).toBe(3);
    expect(outcomes.map((o) => (o.ok ? o.value : o.error.message))).toEqual([
      10,
      20,
      30,
      'four failed',
      50,
      60,
      70,
    ]);
  });
});
