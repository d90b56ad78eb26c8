// Token buckets, one per client (an address, a key, a writer), for rate limits: a bucket holds at most
// `burst` tokens and refills at `perSecond`; taking `cost` tokens from a bucket that has fewer is
// refused with the time until it would have them. Used by the gateway's request limits
// (services/gateway/rate-limit.ts); the same shape fits a byte budget (cost = bytes).
//
// Buckets stay bounded without a timer: they are kept in last-use order, and a bucket idle long enough
// to have refilled completely is the same as no bucket, so the idle ones at the front are dropped on
// every use. Past `maxBuckets` (a botnet's addresses) the least recently used is dropped even if not
// full: the only effect is that its client starts again with a full burst.

/** `perSecond` tokens a second up to `burst`; perSecond 0 turns the limit off. */
export interface TokenRate {
  readonly perSecond: number;
  readonly burst: number;
}

export interface TokenBuckets {
  /**
   * Takes `cost` tokens (default 1) from `who`'s bucket: 0 when taken, otherwise the milliseconds until
   * the bucket would hold them (nothing is taken then). A cost above the burst is taken from a full
   * bucket, which it overdraws: a request larger than the burst is slow to repeat, not impossible.
   */
  take(who: string, cost?: number): number;
  /** Buckets held now (idle full ones are dropped as others are used). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most by default: ~100 bytes each. */
export const MAX_BUCKETS = 100_000;

export function createTokenBuckets(rate: TokenRate, now: () => number, maxBuckets = MAX_BUCKETS): TokenBuckets {
  if (!(rate.perSecond >= 0) || !(rate.burst > 0)) throw new RangeError(`a token rate needs perSecond >= 0 and burst > 0, got ${rate.perSecond}/s burst ${rate.burst}`);
  if (!(maxBuckets >= 1)) throw new RangeError(`maxBuckets must be at least 1, got ${maxBuckets}`);
  // Map order is last-use order: a used bucket is deleted and set again.
  const buckets = new Map<string, Bucket>();
  const fullAfterMs = (rate.burst / rate.perSecond) * 1000;
  return {
    get size() {
      return buckets.size;
    },
    take(who, cost = 1) {
      if (rate.perSecond === 0 || cost <= 0) return 0;
      const t = now();
      for (const [k, b] of buckets) {
        if (t - b.at < fullAfterMs) break;
        buckets.delete(k);
      }
      const b = buckets.get(who);
      const tokens = b ? Math.min(rate.burst, b.tokens + ((t - b.at) / 1000) * rate.perSecond) : rate.burst;
      const needed = Math.min(cost, rate.burst);
      // Refused: not re-ordered, so a refused client does not keep its bucket alive past its last success.
      if (tokens < needed) return ((needed - tokens) / rate.perSecond) * 1000;
      if (b) buckets.delete(who);
      else if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value!);
      buckets.set(who, { tokens: tokens - cost, at: t });
      return 0;
    },
  };
}
