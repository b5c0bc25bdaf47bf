// A bounded read cache for Vault responses, in memory only. An entry lives for the configured TTL
// or the response's own lease_duration, whichever is shorter; least recently used entries go first
// when full; our own writes invalidate every entry on a related path. Hits and misses are counted.

export interface ReadCacheOptions {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  /** Namespace and mount: a write can only touch entries of its own group. */
  group: string;
  segments: string[];
  body: unknown;
  expiresAt: number;
}

// KV v2 spells one secret five ways (mount/data/p, mount/metadata/p, ...): one logical path for all.
const KV2_VERBS = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy']);

export function logicalPath(path: string): string[] {
  const segments = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  if (segments.length >= 2 && KV2_VERBS.has(segments[1] as string)) segments.splice(1, 1);
  return segments;
}

function related(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  /** Keys by group, so a write scans its own mount's entries, not the whole cache. */
  readonly #groups = new Map<string, Set<string>>();
  readonly #options: ReadCacheOptions;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(options: ReadCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get hitRate(): number {
    const total = this.hits + this.misses;
    return total === 0 ? 0 : this.hits / total;
  }

  #key(namespace: string, method: string, path: string): string {
    return `${namespace}\u0000${method}\u0000${path}`;
  }

  #group(namespace: string, segments: string[]): string {
    return `${namespace}\u0000${segments[0] ?? ''}`;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const keys = this.#groups.get(entry.group);
    keys?.delete(key);
    if (keys?.size === 0) this.#groups.delete(entry.group);
  }

  get(namespace: string, method: string, path: string): unknown {
    const key = this.#key(namespace, method, path);
    const entry = this.#entries.get(key);
    if (!entry || entry.expiresAt <= this.#now()) {
      if (entry) this.#delete(key);
      this.misses += 1;
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.hits += 1;
    return entry.body;
  }

  set(namespace: string, method: string, path: string, body: unknown): void {
    const leaseSeconds = (body as { lease_duration?: unknown } | undefined)?.lease_duration;
    const leaseMs =
      typeof leaseSeconds === 'number' && leaseSeconds > 0 ? leaseSeconds * 1000 : Number.POSITIVE_INFINITY;
    const ttl = Math.min(this.#options.ttlMs, leaseMs);
    if (ttl <= 0) return;
    const key = this.#key(namespace, method, path);
    const segments = logicalPath(path);
    const group = this.#group(namespace, segments);
    this.#delete(key);
    this.#entries.set(key, { group, segments, body, expiresAt: this.#now() + ttl });
    const keys = this.#groups.get(group) ?? new Set<string>();
    keys.add(key);
    this.#groups.set(group, keys);
    while (this.#entries.size > this.#options.maxEntries) {
      this.#delete(this.#entries.keys().next().value as string);
    }
  }

  /** A write to `path` in `namespace`: drop every entry on the same path, above it or below it. */
  invalidate(namespace: string, path: string): void {
    const written = logicalPath(path);
    for (const key of [...(this.#groups.get(this.#group(namespace, written)) ?? [])]) {
      const entry = this.#entries.get(key);
      if (entry && related(entry.segments, written)) this.#delete(key);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#groups.clear();
  }
}
