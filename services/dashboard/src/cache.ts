/**
 * A small in-memory cache of answers, keyed by what was asked and by the version of the data it
 * was computed from. A new warehouse version (the file changed) or a new time slot (for the
 * ledger and the bus, which have no version) makes old entries unreachable, so an answer is never
 * staler than its source allows. Concurrent askers of the same key share one computation.
 */
export interface AnswerCache {
  /** The answer for `key` at `version`, computed once. An undefined version bypasses the cache. */
  remember<T>(key: string, version: string | undefined, compute: () => Promise<T>): Promise<T>;
  /** Entries held (for tests and diagnostics). */
  readonly size: number;
}

/** Options of {@link createAnswerCache}. */
export interface AnswerCacheOptions {
  /** Entries kept before the least recently used is dropped (default 500; 0 disables caching). */
  maxEntries?: number;
}

/** An LRU answer cache with request coalescing. */
export function createAnswerCache(options: AnswerCacheOptions = {}): AnswerCache {
  const maxEntries = options.maxEntries ?? 500;
  const entries = new Map<string, Promise<unknown>>();
  return {
    get size() {
      return entries.size;
    },
    remember<T>(key: string, version: string | undefined, compute: () => Promise<T>): Promise<T> {
      if (version === undefined || maxEntries === 0) return compute();
      const full = `${version}\u0000${key}`;
      const hit = entries.get(full);
      if (hit) {
        // Refresh its place in the LRU order.
        entries.delete(full);
        entries.set(full, hit);
        return hit as Promise<T>;
      }
      const pending = compute();
      entries.set(full, pending);
      // Failures are not cached: the next asker tries again.
      pending.catch(() => {
        if (entries.get(full) === pending) entries.delete(full);
      });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return pending;
    },
  };
}

/** A version that changes every `ms` milliseconds: answers from sources without versions live that long. */
export function timeSlot(ms: number, now: () => number = Date.now): () => string {
  return () => `t${Math.floor(now() / Math.max(1, ms))}`;
}
