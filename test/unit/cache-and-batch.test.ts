import { describe, expect, it } from 'vitest';
import { inBatches } from '../../vault/batch.js';
import { logicalPath, ReadCache } from '../../vault/cache.js';

/** One token identity's view of a namespace. */
const at = (namespace: string, identity = 'reader') => ({ identity, namespace });

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('ReadCache', () => {
  it('serves a fresh entry, counts hits and misses, and expires at the configured TTL', () => {
    const t = clock();
    const cache = new ReadCache({ ttlMs: 1000, maxEntries: 10, now: t.now });
    expect(cache.get(at(''), 'GET', 'secret/data/a')).toBeUndefined();
    cache.set(at(''), 'GET', 'secret/data/a', { data: 1 });
    expect(cache.get(at(''), 'GET', 'secret/data/a')).toEqual({ data: 1 });
    t.advance(1000);
    expect(cache.get(at(''), 'GET', 'secret/data/a')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('expires sooner when the response carries a shorter lease', () => {
    const t = clock();
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 10, now: t.now });
    cache.set(at(''), 'GET', 'database/creds/app', { lease_duration: 2, data: {} });
    t.advance(1999);
    expect(cache.get(at(''), 'GET', 'database/creds/app')).toBeDefined();
    t.advance(1);
    expect(cache.get(at(''), 'GET', 'database/creds/app')).toBeUndefined();
  });

  it('stays within its bound, evicting the least recently used', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 2 });
    cache.set(at(''), 'GET', 'a', 1);
    cache.set(at(''), 'GET', 'b', 2);
    cache.get(at(''), 'GET', 'a'); // a is now the most recently used
    cache.set(at(''), 'GET', 'c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get(at(''), 'GET', 'b')).toBeUndefined();
    expect(cache.get(at(''), 'GET', 'a')).toBe(1);
  });

  it('drops entries on related paths when we write, in that namespace only', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    cache.set(at(''), 'GET', 'secret/data/app/db', 'db');
    cache.set(at(''), 'LIST', 'secret/metadata/app', ['db']);
    cache.set(at(''), 'GET', 'secret/data/other', 'other');
    cache.set(at('tenant'), 'GET', 'secret/data/app/db', 'tenant db');
    cache.invalidate('', 'secret/destroy/app/db');
    expect(cache.get(at(''), 'GET', 'secret/data/app/db')).toBeUndefined();
    expect(cache.get(at(''), 'LIST', 'secret/metadata/app')).toBeUndefined();
    expect(cache.get(at(''), 'GET', 'secret/data/other')).toBe('other');
    expect(cache.get(at('tenant'), 'GET', 'secret/data/app/db')).toBe('tenant db');
  });

  it('reads one KV v2 secret the same whichever verb names it', () => {
    expect(logicalPath('secret/metadata/app/db')).toEqual(logicalPath('secret/data/app/db?version=2'));
    expect(logicalPath('transit/keys/k/rotate')).toEqual(['transit', 'keys', 'k', 'rotate']);
  });
});

describe('ReadCache freshness against our own writes', () => {
  it('refuses the answer of a read that started before a write to the same path finished', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    const ticket = cache.ticket(); // the read is sent...
    const end = cache.beginWrite('', 'secret/data/app'); // ...a write starts and lands...
    end();
    // ...and the read's answer (the value from before the write) arrives last.
    expect(cache.set(at(''), 'GET', 'secret/data/app', 'old', ticket)).toBe(false);
    expect(cache.get(at(''), 'GET', 'secret/data/app')).toBeUndefined();
    // A read that starts after the write may cache.
    expect(cache.set(at(''), 'GET', 'secret/data/app', 'new', cache.ticket())).toBe(true);
  });

  it('caches nothing in a mount while one of our writes to it is in flight', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    const end = cache.beginWrite('', 'secret/data/app');
    expect(cache.set(at(''), 'GET', 'secret/data/app', 'maybe old', cache.ticket())).toBe(false);
    end();
    expect(cache.set(at(''), 'GET', 'secret/data/app', 'new', cache.ticket())).toBe(true);
  });

  it('invalidates a secret in a nested KV mount whichever verb names it', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    cache.set(at(''), 'GET', 'kv/team/data/x', 'x');
    cache.set(at(''), 'LIST', 'kv/team/metadata/', ['x']);
    cache.invalidate('', 'kv/team/metadata/x');
    expect(cache.get(at(''), 'GET', 'kv/team/data/x')).toBeUndefined();
    expect(cache.get(at(''), 'LIST', 'kv/team/metadata/')).toBeUndefined();
    expect(logicalPath('kv/team/data/x')).toEqual(logicalPath('kv/team/destroy/x'));
  });

  it('keeps one view per token identity', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    cache.set(at('', 'admin-policies'), 'GET', 'secret/data/app', 'visible to admin');
    expect(cache.get(at('', 'reader-policies'), 'GET', 'secret/data/app')).toBeUndefined();
    // A write by anyone drops every identity's entry.
    cache.invalidate('', 'secret/data/app');
    expect(cache.get(at('', 'admin-policies'), 'GET', 'secret/data/app')).toBeUndefined();
  });

  it('refuses answers of reads in flight when cleared (a snapshot restore, a sys/ write)', () => {
    const cache = new ReadCache({ ttlMs: 60_000, maxEntries: 100 });
    const ticket = cache.ticket();
    cache.clear();
    expect(cache.set(at(''), 'GET', 'secret/data/app', 'old', ticket)).toBe(false);
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
