// Request rate limits (issue 20.1, docs/http-api.md "Limits"): a token bucket (lib/rate/token-bucket.ts)
// per client address, charged by every request but GET /healthz, and one per signing key, charged by
// every signed write (PUT of a file, a name or a collection; tus creation, PATCH and DELETE) once its
// signature verifies. A request finding less than one token is refused with 429 and the time until one
// is there (Retry-After).
import { createTokenBuckets, MAX_BUCKETS, type TokenRate } from '../../lib/rate/token-bucket.js';

/** One limit: `perSecond` requests a second up to `burst` at once; perSecond 0 turns it off. */
export type RateLimit = TokenRate;

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
      `${scope === 'key' ? `the signing key ${who.slice(0, 16)}…` : `your address (${who})`} made more than ${limit.burst} ${scope === 'key' ? 'signed writes' : 'requests'} at once or more than ${limit.perSecond} a second, the most this gateway allows ${scope === 'key' ? 'one key' : 'one client address'}; retry after ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`,
    );
    this.name = 'RateLimited';
  }

  /** Whole seconds for Retry-After (RFC 9110 §10.2.3), at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

export interface RequestLimit {
  /** Counts one request of `who`; throws RateLimited past the limit. */
  take(who: string): void;
  /** Buckets held now. */
  readonly size: number;
}

export function createRequestLimit(scope: RateScope, limit: RateLimit, now: () => number, maxBuckets = MAX_BUCKETS): RequestLimit {
  if (!(limit.burst >= 1)) throw new RangeError(`a request limit needs a burst of at least 1, got ${limit.burst}`);
  const buckets = createTokenBuckets(limit, now, maxBuckets);
  return {
    get size() {
      return buckets.size;
    },
    take(who) {
      const waitMs = buckets.take(who);
      if (waitMs > 0) throw new RateLimited(scope, who, limit, waitMs);
    },
  };
}

/** The gateway's two limits, shared by the HTTP front (addresses) and the write flows (keys). */
export interface RateLimits {
  readonly address: RequestLimit;
  readonly key: RequestLimit;
}

export function createRateLimits(o: { readonly address: RateLimit; readonly key: RateLimit }, now: () => number = Date.now): RateLimits {
  return { address: createRequestLimit('address', o.address, now), key: createRequestLimit('key', o.key, now) };
}
