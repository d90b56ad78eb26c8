// The replay cache for signed requests (docs/http-api.md "Signing"): a (keyid, nonce) pair is
// accepted once. Signatures older or newer than the window are refused by time, so the cache only
// has to remember nonces for the window; it is kept in the gateway's RocksDB (sync writes) so that a
// restart does not reopen it. Bounded: when the window holds `maxEntries` nonces the gateway refuses
// new writes (503) rather than forget one, which would let a replay through.
import type { KvStore } from '../../lib/storage/kv.js';

const SEEN = 0x01; // SEEN ‖ keyid (32) ‖ nonce (utf8)      -> created (u64be)
const BY_TIME = 0x02; // BY_TIME ‖ created (u64be) ‖ keyid ‖ nonce -> empty (for expiry by range)
const COUNT_KEY = Uint8Array.of(0x03); // -> u64be number of live entries

export type ReplayVerdict = 'fresh' | 'replay' | 'full';

export interface ReplayCache {
  /** Records (keyid, nonce) if unseen; durable before it resolves 'fresh'. */
  check(keyid: Uint8Array, nonce: string, createdS: number, nowS: number): Promise<ReplayVerdict>;
  /** Forgets entries whose `created` fell out of the window. */
  prune(nowS: number): Promise<number>;
  size(): number;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(n))), false);
  return b;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export async function openReplayCache(kv: KvStore, options: { windowSeconds: number; maxEntries: number }): Promise<ReplayCache> {
  const countBytes = await kv.get(COUNT_KEY);
  let count = countBytes ? Number(new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigUint64(0, false)) : 0;
  // Two requests with one nonce may arrive together: the in-memory set closes the gap between the
  // RocksDB read and write (the gateway is one process).
  const inFlight = new Set<string>();
  const enc = new TextEncoder();

  const cache: ReplayCache = {
    async check(keyid, nonce, createdS, nowS) {
      const id = Buffer.from(keyid).toString('hex') + '/' + nonce;
      if (inFlight.has(id)) return 'replay';
      inFlight.add(id);
      try {
        const nonceBytes = enc.encode(nonce);
        const seenKey = cat(Uint8Array.of(SEEN), keyid, nonceBytes);
        if (await kv.get(seenKey)) return 'replay';
        if (count >= options.maxEntries) {
          await cache.prune(nowS);
          if (count >= options.maxEntries) return 'full';
        }
        count++;
        await kv.batch(
          [
            { type: 'put', key: seenKey, value: u64(createdS) },
            { type: 'put', key: cat(Uint8Array.of(BY_TIME), u64(createdS), keyid, nonceBytes), value: new Uint8Array(0) },
            { type: 'put', key: COUNT_KEY, value: u64(count) },
          ],
          { sync: true },
        );
        return 'fresh';
      } finally {
        inFlight.delete(id);
      }
    },
    async prune(nowS) {
      // An entry may go once no signature with its `created` can pass the time check any more.
      const cutoff = nowS - options.windowSeconds - 1;
      if (cutoff <= 0) return 0;
      const ops: { type: 'del'; key: Uint8Array }[] = [];
      for await (const e of kv.range({ gte: Uint8Array.of(BY_TIME), lt: cat(Uint8Array.of(BY_TIME), u64(cutoff)) })) {
        ops.push({ type: 'del', key: e.key }, { type: 'del', key: cat(Uint8Array.of(SEEN), e.key.subarray(9)) });
        if (ops.length >= 2048) break;
      }
      if (ops.length === 0) return 0;
      count = Math.max(0, count - ops.length / 2);
      await kv.batch([...ops, { type: 'put', key: COUNT_KEY, value: u64(count) }], { sync: true });
      return ops.length / 2;
    },
    size: () => count,
  };
  return cache;
}
