// Request rate limits (issue 20.1, docs/http-api.md "Limits"): a token bucket per client address,
// charged by every request but GET /healthz, and one per signing key, charged by every signed write
// (PUT of a file, a name or a collection; tus creation, PATCH and DELETE) once its signature verifies.
// A bucket holds at most `burst` tokens and refills at `perSecond`; a request finding less than one
// token is refused with 429 and the time until one is there (Retry-After).
//
// Buckets stay bounded without a timer: they are kept in last-use order, and a bucket idle long enough
// to have refilled completely is the same as no bucket, so the idle ones at the front are dropped on
// every use. Past `maxBuckets` (addresses of a large botnet), the least recently used is dropped even
// if not full: the only effect is that its owner starts again with a full burst.

/** One limit: `perSecond` tokens a second up to `burst`; perSecond 0 turns it off. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export type RateScope = 'key' | 'address';

/** A refused request: which limit, whose bucket, and when a token is there again. */
export class RateLimited extends Error {
  constructor(
    readonly scope: RateScope,
    /** The address, or the key as hex. */
    readonly who: string,
    readonly limit: RateLimit,
    readonly retryAfterMs: number,
  ) {
    super(
      `${scope === 'key' ? `the signing key ${who.slice(0, 16)}…` : `your address (${who})`} made more than ${limit.burst} ${scope === 'key' ? 'signed writes' : 'requests'} at once or more than ${limit.perSecond} a second, the most this gateway allows ${scope === 'key' ? 'one key' : 'one client address'}; retry after ${Math.ceil(retryAfterMs / 1000)} s`,
    );
    this.name = 'RateLimited';
  }

  /** Whole seconds for Retry-After (RFC 9110 §10.2.3), at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

export interface TokenBuckets {
  /** Takes a token from `who`'s bucket; throws RateLimited when there is none. */
  take(who: string): void;
  /** Buckets held now (idle full ones are dropped as others are used). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept at most, per scope, by default: ~100 bytes each. */
export const MAX_BUCKETS = 100_000;

export function createTokenBuckets(scope: RateScope, limit: RateLimit, now: () => number, maxBuckets = MAX_BUCKETS): TokenBuckets {
  if (!(limit.perSecond >= 0) || !(limit.burst >= 1)) throw new RangeError(`a rate limit needs perSecond >= 0 and burst >= 1, got ${limit.perSecond}/s burst ${limit.burst}`);
  // Map order is last-use order: a used bucket is deleted and set again.
  const buckets = new Map<string, Bucket>();
  const fullAfterMs = (limit.burst / Math.max(limit.perSecond, Number.MIN_VALUE)) * 1000;
  const level = (b: Bucket, t: number) => Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
  return {
    get size() {
      return buckets.size;
    },
    take(who) {
      if (limit.perSecond === 0) return;
      const t = now();
      for (const [k, b] of buckets) {
        if (t - b.at < fullAfterMs) break;
        buckets.delete(k);
      }
      const b = buckets.get(who);
      const tokens = b ? level(b, t) : limit.burst;
      if (tokens < 1) {
        // Not re-ordered: a refused client does not keep its bucket alive longer than its last success.
        throw new RateLimited(scope, who, limit, ((1 - tokens) / limit.perSecond) * 1000);
      }
      if (b) buckets.delete(who);
      else if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value!);
      buckets.set(who, { tokens: tokens - 1, at: t });
    },
  };
}

/** The gateway's two limits, shared by the HTTP front (addresses) and the write flows (keys). */
export interface RateLimits {
  readonly address: TokenBuckets;
  readonly key: TokenBuckets;
}

export function createRateLimits(o: { readonly address: RateLimit; readonly key: RateLimit }, now: () => number = Date.now): RateLimits {
  return { address: createTokenBuckets('address', o.address, now), key: createTokenBuckets('key', o.key, now) };
}
