// Canonical byte encodings agreement signs and hashes, and the persisted-state encoding.
// Every hashed or signed encoding starts with its own domain tag, so bytes of one kind can never be
// replayed as another (a vote can never pass as a block header, and so on).

import { blockHash as chainBlockHash, u64 } from '../../../lib/chain/block-hash.js';
import { voteSigningBytes } from '../../../lib/chain/certificate.js';
import type { AgreementCrypto, Block, Bundle, Credential, Hash, Period, Round, Step, Value, Vote, VoterId } from './types.js';

const utf8 = new TextEncoder();
const DOMAIN_VOTE = utf8.encode('wolk/agreement/vote/v1');
const DOMAIN_SEED = utf8.encode('wolk/agreement/seed/v1');
const DOMAIN_PRIORITY = utf8.encode('wolk/agreement/priority/v1');
const BOTTOM = new Uint8Array([0]);
const SOME = new Uint8Array([1]);

export { u64 };

function lengthPrefixed(bytes: Uint8Array): Uint8Array[] {
  return [u64(bytes.length), bytes];
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Map key of a value: the block hash's hex, or '' for bottom. */
export function valueKey(v: Value): string {
  return v === null ? '' : hex(v);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function valuesEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  return bytesEqual(a, b);
}

/** Lexicographic byte order (priorities are compared as big-endian integers of equal length). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** What a vote's signature covers (lib/chain/certificate.ts). */
export { voteSigningBytes };

/** The block hash over every header field and the body's hash (the rule lives in lib/chain/block-hash.ts). */
export function blockHash(crypto: AgreementCrypto, b: Omit<Block, 'hash'>): Hash {
  return chainBlockHash(crypto.hash, b);
}

/**
 * seed_r (DESIGN §5, go-algorand deriveNewSeed): in period 0 the proposer's VRF output for the
 * proposal credential, so nobody can predict it before the proposer reveals it; in later periods the
 * previous seed alone, so that reproposers in recovery cannot steer it.
 */
export function deriveSeed(crypto: AgreementCrypto, prevSeed: Hash, round: Round, period: Period, proposerVrfOutput: Uint8Array): Hash {
  return period === 0
    ? crypto.hash(DOMAIN_SEED, proposerVrfOutput, u64(round))
    : crypto.hash(DOMAIN_SEED, prevSeed, u64(round));
}

/**
 * A proposer's priority (go-algorand Credential.lowestOutput): a weight-w credential stands for w
 * proposer seats, so it is the lowest of w hashes; the lowest priority wins.
 */
export function proposalPriority(crypto: AgreementCrypto, cred: Credential): Uint8Array {
  let lowest: Uint8Array | null = null;
  const w = Math.min(cred.weight, 64); // seats beyond 64 change nothing measurable; bounds the work
  for (let i = 1; i <= w; i++) {
    const h = crypto.hash(DOMAIN_PRIORITY, cred.vrfOutput, utf8.encode(cred.voterId), u64(i));
    if (lowest === null || compareBytes(h, lowest) < 0) lowest = h;
  }
  return lowest ?? new Uint8Array(32).fill(0xff);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Persisted state: the minimum that keeps a restarted node from equivocating (the "never vote twice
// differently in one step, even after a crash" rule). Stored as UTF-8 JSON: small, versioned,
// readable in a debugger; agreement writes it once per own vote.

export interface PersistedVote {
  readonly period: Period;
  readonly step: Step;
  readonly value: Value;
}

export interface PersistedState {
  readonly round: Round;
  readonly period: Period;
  readonly step: Step;
  /** Every vote we cast in `round`. */
  readonly votes: readonly PersistedVote[];
  /**
   * The votes of the freshest quorum we had seen (go-algorand persists its whole vote state). A
   * restarted node replays them to get back to the period it had reached, and rebroadcasts them so
   * that peers can follow; without them it could sit in a period nobody else can be pulled into.
   */
  readonly bundle: Bundle | null;
}

function voteToJson(v: Vote): unknown {
  const c = v.credential;
  return [v.round, v.period, v.step, v.value === null ? null : hex(v.value), c.voterId, hex(c.vrfProof), hex(c.vrfOutput), c.weight, hex(v.signature)];
}

function voteFromJson(x: unknown): Vote {
  if (!Array.isArray(x) || x.length !== 9) throw new TypeError('decodeState: a bundle vote must be a 9-element array');
  const [round, period, step, value, voterId, proof, out, weight, sig] = x as unknown[];
  const isNum = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!isNum(round) || !isNum(period) || !isNum(step) || !isNum(weight)) throw new TypeError('decodeState: bad bundle vote numbers');
  if (typeof voterId !== 'string' || typeof proof !== 'string' || typeof out !== 'string' || typeof sig !== 'string') {
    throw new TypeError('decodeState: bad bundle vote fields');
  }
  if (value !== null && typeof value !== 'string') throw new TypeError('decodeState: bad bundle vote value');
  return {
    round,
    period,
    step,
    value: value === null ? null : fromHex(value),
    credential: { voterId, vrfProof: fromHex(proof), vrfOutput: fromHex(out), weight },
    signature: fromHex(sig),
  };
}

export function encodeState(s: PersistedState): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      v: 1,
      round: s.round,
      period: s.period,
      step: s.step,
      votes: s.votes.map((x) => [x.period, x.step, x.value === null ? null : hex(x.value)]),
      bundle:
        s.bundle === null
          ? null
          : {
              round: s.bundle.round,
              period: s.bundle.period,
              step: s.bundle.step,
              value: s.bundle.value === null ? null : hex(s.bundle.value),
              votes: s.bundle.votes.map(voteToJson),
              equivocations: s.bundle.equivocations.map(([a, b]) => [voteToJson(a), voteToJson(b)]),
            },
    }),
  );
}

export function decodeState(bytes: Uint8Array): PersistedState {
  const raw: unknown = JSON.parse(new TextDecoder().decode(bytes));
  if (typeof raw !== 'object' || raw === null) throw new TypeError('decodeState: expected an object');
  const o = raw as Record<string, unknown>;
  if (o['v'] !== 1) throw new TypeError(`decodeState: expected version 1, got ${String(o['v'])}`);
  const num = (k: string): number => {
    const x = o[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new TypeError(`decodeState: ${k} must be a non-negative integer`);
    return x;
  };
  const votes = o['votes'];
  if (!Array.isArray(votes)) throw new TypeError('decodeState: votes must be an array');
  return {
    round: num('round'),
    period: num('period'),
    step: num('step'),
    votes: votes.map((x: unknown) => {
      if (!Array.isArray(x) || x.length !== 3 || typeof x[0] !== 'number' || typeof x[1] !== 'number') {
        throw new TypeError('decodeState: a vote must be [period, step, value]');
      }
      const value = x[2] === null ? null : typeof x[2] === 'string' ? fromHex(x[2]) : null;
      return { period: x[0], step: x[1], value };
    }),
    bundle: bundleFromJson(o['bundle']),
  };
}

function bundleFromJson(x: unknown): Bundle | null {
  if (x === null || x === undefined) return null;
  if (typeof x !== 'object') throw new TypeError('decodeState: bundle must be an object');
  const o = x as Record<string, unknown>;
  const { round, period, step, value, votes, equivocations } = o;
  if (typeof round !== 'number' || typeof period !== 'number' || typeof step !== 'number') throw new TypeError('decodeState: bad bundle position');
  if (value !== null && typeof value !== 'string') throw new TypeError('decodeState: bad bundle value');
  if (!Array.isArray(votes) || !Array.isArray(equivocations)) throw new TypeError('decodeState: bad bundle votes');
  return {
    round,
    period,
    step,
    value: value === null ? null : fromHex(value),
    votes: votes.map(voteFromJson),
    equivocations: equivocations.map((pair: unknown) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('decodeState: bad equivocation pair');
      return [voteFromJson(pair[0]), voteFromJson(pair[1])] as const;
    }),
  };
}
