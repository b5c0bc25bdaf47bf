// A bounded read cache for Vault responses, in memory only. An entry lives for the configured TTL
// or the response's own lease_duration, whichever is shorter; least recently used entries go first
// when full; hits and misses are counted.
//
// What it promises about freshness:
// - Our own writes: a read never returns, nor plants, a value older than a write this process
//   finished. Each read takes a ticket before it is sent; a write to a related path (or one in
//   flight) meanwhile makes the read's answer too old to cache.
// - Identity: entries belong to the token identity that read them (its policies), so a re-login
//   with other policies never sees what the old token was allowed to read.
// - Other clients' writes: not seen until the entry expires, so at most caching.ttl (or the
//   lease) old. Reads that cannot accept that do not opt in.

export interface ReadCacheOptions {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

/** Whose view and where: the token identity's scope, and the namespace (normalised). */
export interface CacheScope {
  identity: string;
  namespace: string;
}

interface Entry {
  /** Namespace and first path segment: a write can only touch entries of its own group. */
  group: string;
  segments: string[];
  body: unknown;
  expiresAt: number;
}

interface GroupState {
  keys: Set<string>;
  /** The clock at the last invalidation of any path in the group. */
  invalidatedAt: number;
  writesInFlight: number;
}

// KV v2 spells one secret five ways (mount/data/p, mount/metadata/p, ...): one logical path for all.
// The verb follows the mount, and mounts may be nested ("kv/team/data/x"), so the first verb after
// the first segment is dropped. A path with a verb-named segment elsewhere is merely grouped with
// more entries than it needs: invalidating too much costs a read, too little would serve old data.
const KV2_VERBS = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy']);

export function logicalPath(path: string): string[] {
  const segments = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  const verb = segments.findIndex((s, i) => i > 0 && KV2_VERBS.has(s));
  if (verb > 0) segments.splice(verb, 1);
  return segments;
}

function related(a: string[], b: string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  readonly #groups = new Map<string, GroupState>();
  readonly #options: ReadCacheOptions;
  readonly #now: () => number;
  /** A logical clock: every invalidation advances it; every read takes its value as a ticket. */
  #clock = 0;
  #clearedAt = 0;
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

  #key(scope: CacheScope, method: string, path: string): string {
    return `${scope.identity}\u0000${scope.namespace}\u0000${method}\u0000${path}`;
  }

  #groupName(namespace: string, segments: string[]): string {
    return `${namespace}\u0000${segments[0] ?? ''}`;
  }

  #group(name: string): GroupState {
    let group = this.#groups.get(name);
    if (!group) {
      group = { keys: new Set(), invalidatedAt: 0, writesInFlight: 0 };
      this.#groups.set(name, group);
    }
    return group;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#groups.get(entry.group)?.keys.delete(key);
  }

  get(scope: CacheScope, method: string, path: string): unknown {
    const key = this.#key(scope, method, path);
    const entry = this.#entries.get(key);
    // An expired entry is a miss but stays until evicted: `peekStale` may still serve it.
    if (!entry || entry.expiresAt <= this.#now()) {
      this.misses += 1;
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.hits += 1;
    return entry.body;
  }

  /** The entry whatever its age (while Vault is sealed, for callers that accept stale data). */
  peekStale(scope: CacheScope, method: string, path: string): unknown {
    return this.#entries.get(this.#key(scope, method, path))?.body;
  }

  /** Taken before a read is sent; `set` refuses the answer if a related write came after it. */
  ticket(): number {
    return this.#clock;
  }

  /**
   * Caches a read's answer, unless a write to its group was in flight or finished after `ticket`
   * was taken (then the answer may predate that write). Returns whether it was kept.
   */
  set(scope: CacheScope, method: string, path: string, body: unknown, ticket = this.#clock): boolean {
    const leaseSeconds = (body as { lease_duration?: unknown } | undefined)?.lease_duration;
    const leaseMs =
      typeof leaseSeconds === 'number' && leaseSeconds > 0 ? leaseSeconds * 1000 : Number.POSITIVE_INFINITY;
    const ttl = Math.min(this.#options.ttlMs, leaseMs);
    if (ttl <= 0) return false;
    const segments = logicalPath(path);
    const groupName = this.#groupName(scope.namespace, segments);
    const group = this.#group(groupName);
    if (group.writesInFlight > 0 || group.invalidatedAt > ticket || this.#clearedAt > ticket) return false;
    const key = this.#key(scope, method, path);
    this.#delete(key);
    this.#entries.set(key, { group: groupName, segments, body, expiresAt: this.#now() + ttl });
    group.keys.add(key);
    while (this.#entries.size > this.#options.maxEntries) {
      this.#delete(this.#entries.keys().next().value as string);
    }
    return true;
  }

  /** A write to `path` in `namespace`: drop every entry on the same path, above it or below it. */
  invalidate(namespace: string, path: string): void {
    const written = logicalPath(path);
    const group = this.#group(this.#groupName(namespace, written));
    group.invalidatedAt = ++this.#clock;
    for (const key of [...group.keys]) {
      const entry = this.#entries.get(key);
      if (entry && related(entry.segments, written)) this.#delete(key);
    }
  }

  /**
   * Brackets one of our writes: related entries go before it is sent and again after it is
   * answered, and no read answer in the group is cached while it is in flight. Returns the call
   * that ends the bracket (call it whatever the write's outcome).
   */
  beginWrite(namespace: string, path: string): () => void {
    const group = this.#group(this.#groupName(namespace, logicalPath(path)));
    this.invalidate(namespace, path);
    group.writesInFlight += 1;
    return () => {
      group.writesInFlight -= 1;
      this.invalidate(namespace, path);
    };
  }

  /** Forgets everything, and refuses answers of reads already in flight. */
  clear(): void {
    this.#entries.clear();
    for (const group of this.#groups.values()) group.keys.clear();
    this.#clearedAt = ++this.#clock;
  }
}
