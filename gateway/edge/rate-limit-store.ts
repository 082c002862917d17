/**
 * Token buckets (a bucket of `burst` tokens refilled at `perSecond`; a request takes one).
 * The store interface lets one process keep them in memory or several gateway instances
 * share them (rate-limit-redis.ts); both compute the same thing.
 */

/** What one take() decided. */
export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** When refused: ms until one token is back. */
  readonly retryAfterMs: number;
  /** ms until the bucket is full again. */
  readonly resetMs: number;
}

/**
 * Where buckets live. take() may reject (a store outage); the interceptor decides what that
 * means. The memory store answers synchronously, so a request it admits costs no promise.
 */
export interface BucketStore {
  take(key: string, perSecond: number, burst: number): TakeResult | Promise<TakeResult>;
  close(): Promise<void>;
}

/** The refill arithmetic shared by both stores (the Lua script does the same). */
export function takeFrom(tokens: number, elapsedMs: number, perSecond: number, burst: number): { tokens: number; result: TakeResult } {
  const refilled = Math.min(burst, tokens + (elapsedMs / 1000) * perSecond);
  const allowed = refilled >= 1;
  const left = allowed ? refilled - 1 : refilled;
  return {
    tokens: left,
    result: {
      allowed,
      remaining: Math.floor(left),
      retryAfterMs: allowed ? 0 : Math.ceil(((1 - left) / perSecond) * 1000),
      resetMs: Math.ceil(((burst - left) / perSecond) * 1000),
    },
  };
}

/** Buckets in this process; idle full buckets are dropped, and at most `maxKeys` are kept (oldest first out). */
export function memoryBucketStore(maxKeys = 100_000): BucketStore {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, perSecond, burst) {
      const now = Date.now();
      let b = buckets.get(key);
      const { tokens, result } = takeFrom(b ? b.tokens : burst, b ? now - b.at : 0, perSecond, burst);
      // Re-inserted so Map order is least recently used first.
      if (b) buckets.delete(key);
      else {
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
        b = { tokens, at: now };
      }
      b.tokens = tokens;
      b.at = now;
      buckets.set(key, b);
      return result;
    },
    async close() {
      buckets.clear();
    },
  };
}
