// Standing audits (docs/rewards.md "Standing audits", issue #19): besides block A = R − Q, each Reward
// audits a few (storer, key) pairs of the CURRENT state, so a storer that holds old files and committed
// to nothing recent is still audited, its reputation falls when it dies, and repair (docs/repair.md)
// replaces it. Which pairs is the one rule below, a pure function of seed(R − 1) and the state after
// block R − 1: the rewards verifier computes it from proven GetStateProof answers, every validator from
// its own state tree, and both get the same list.
//
// The rule (standingSelection), for reward round R and count = genesis params.standingAudits:
//   attempt a = 0, 1, … (at most count × STANDING_ATTEMPTS_PER_AUDIT attempts):
//     target  t = SHA-256(len(d) ‖ d ‖ seed(R − 1) ‖ u64be(R) ‖ u32be(a)), d = "wolk/rewards/standing/v1"
//     leaf    walk the state tree from the root toward t: at an inner node take t's side, or the other
//             side when t's is empty; stop at the leaf reached (walkToLeaf)
//     record  the leaf counts only if its value is a KeyRecord bound to a file whose path hashes to the
//             leaf's key (keyRecordAt); any other record (an account, a name, a reward mark) is a miss
//     storer  the commitment at index u32be(SHA-256(t ‖ "commitment")[0..4]) mod |commitments|; a miss
//             when its storer is not in the storer set, or the (storer, key) pair is already chosen
//   until count pairs are chosen. Fewer when the attempts run out (a state with few keys): then the
//   Reward carries fewer, and validators expect exactly as many.
// The walk reaches every leaf, with a probability that halves per level of depth, so keys are drawn
// about evenly (leaf depths in a hashed tree differ by a few levels). The walk is defined on the tree,
// and computed here through membership/non-membership proofs: a proof toward t that ends at a leaf is
// the walk's leaf; one that ends empty at depth d means the walk turns at depth d − 1, which is the
// proof toward t with bit d − 1 flipped.
import type { KeyRecord as KeyRecordT } from '../../gen/wolk/common/v1/state.js';
import { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { sha256, u32be, u64be } from '../crypto/hash.js';
import type { SmtProof } from '../smt/index.js';
import { verifyProofResponse } from '../client/proof.js';
import { smtProofFromProto } from './smt-proof.js';
import { pathStateKey, STORER_SET_KEY } from './state-keys.js';
import { decodeStorerSet, type StateProofAnswer } from './storer-registry.js';

/** Most standing audits a Reward may carry (genesis params.standingAudits is bounded by it). */
export const MAX_STANDING_AUDITS = 16;
/** Walks tried per standing audit before the selection gives up (a state with few keys among its records). */
export const STANDING_ATTEMPTS_PER_AUDIT = 32;

const DOMAIN = new TextEncoder().encode('wolk/rewards/standing/v1');
const COMMITMENT = new TextEncoder().encode('commitment');

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && hex(a) === hex(b);

/** What the selection reads of the state after block R − 1. */
export interface StandingState {
  /** The tree's (non-)membership proof of `key` (lib/smt SmtProof: siblings from the root down, and the leaf the path ends at). */
  prove(key: Uint8Array): Promise<SmtProof>;
  /** The record under `key`, or null. */
  get(key: Uint8Array): Promise<Uint8Array | null>;
}

/** One chosen pair: the storer, the key's state key, its record and the storer's commitment in it. */
export interface StandingTarget {
  readonly storerId: Uint8Array;
  readonly stateKey: Uint8Array;
  readonly record: KeyRecordT;
  readonly commitment: StorageCommitment;
}

/** The problem with a genesis `params.standingAudits`, or null when it is well formed. */
export function standingAuditsProblem(value: unknown): string | null {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_STANDING_AUDITS) return `must be an integer from 0 to ${MAX_STANDING_AUDITS}, got ${String(value)}`;
  return null;
}

/** The walk's target of attempt `a` for reward round R. */
export function standingTarget(prevSeed: Uint8Array, rewardRound: number, attempt: number): Uint8Array {
  return sha256(Uint8Array.of(DOMAIN.length), DOMAIN, prevSeed, u64be(BigInt(rewardRound)), u32be(attempt));
}

function flipBit(key: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(key);
  out[i >> 3]! ^= 0x80 >> (i & 7);
  return out;
}

/** The key of the leaf the walk toward `target` reaches (see the top of this file), or null for an empty tree. */
export async function walkToLeaf(prove: (key: Uint8Array) => Promise<SmtProof>, target: Uint8Array): Promise<Uint8Array | null> {
  let t = target;
  let turnedAt = -1;
  for (;;) {
    const p = await prove(t);
    if (p.leaf !== null) return new Uint8Array(p.leaf.key);
    const d = p.siblings.length;
    // Ends empty at the root: the tree is empty. Otherwise the turn is one level up, always deeper than the last.
    if (d === 0) return null;
    if (d - 1 <= turnedAt) throw new Error(`standing walk: the proof toward the turned target ends at depth ${d}, not below the turn at ${turnedAt + 1}`);
    turnedAt = d - 1;
    t = flipBit(t, d - 1);
  }
}

/** The KeyRecord under state key `stateKey` if `value` is one bound to a file with at least one commitment; else null. */
export function keyRecordAt(stateKey: Uint8Array, value: Uint8Array | null): KeyRecordT | null {
  if (value === null) return null;
  let rec: KeyRecordT;
  try {
    rec = KeyRecord.decode(value);
  } catch {
    return null;
  }
  if (!rec.file || rec.commitments.length === 0 || rec.owner === '' || rec.collection === '' || rec.key === '') return null;
  return same(pathStateKey(rec.owner, rec.collection, rec.key), stateKey) ? rec : null;
}

/**
 * Attempts whose walks run side by side. The rule is sequential (the first `count` hits in attempt
 * order); the walks are not: through GetStateProof each step is a round trip to a consensus node, and
 * a state with few keys among its records takes up to count × 32 walks of 1–3 steps each (an empty
 * network: 4 s idle, past a 15 s client deadline on a loaded 2-core machine, one walk at a time).
 * A window's walks past the last hit are wasted reads, at most WALK_WINDOW − 1.
 */
const WALK_WINDOW = 16;

/** The standing audits of reward round R (the rule at the top of this file). `count` 0 gives none without reading the state. */
export async function standingSelection(prevSeed: Uint8Array, rewardRound: number, state: StandingState, count: number): Promise<StandingTarget[]> {
  const out: StandingTarget[] = [];
  if (count <= 0) return out;
  const storers = new Set(decodeStorerSet(await state.get(STORER_SET_KEY)).map(hex));
  const chosen = new Set<string>();
  const attempts = Math.min(count, MAX_STANDING_AUDITS) * STANDING_ATTEMPTS_PER_AUDIT;
  const walk = async (a: number) => {
    const t = standingTarget(prevSeed, rewardRound, a);
    const leaf = await walkToLeaf((k) => state.prove(k), t);
    return { t, leaf, value: leaf === null ? null : await state.get(leaf) };
  };
  for (let from = 0; from < attempts && out.length < count; from += WALK_WINDOW) {
    const window = await Promise.all(Array.from({ length: Math.min(WALK_WINDOW, attempts - from) }, (_, i) => walk(from + i)));
    for (const { t, leaf, value } of window) {
      if (out.length >= count) break;
      if (leaf === null) return out;
      const record = keyRecordAt(leaf, value);
      if (record === null) continue;
      const pick = Buffer.from(sha256(t, COMMITMENT)).readUInt32BE(0) % record.commitments.length;
      const commitment = record.commitments[pick]!;
      const storerId = new Uint8Array(commitment.storerId);
      const pair = `${hex(storerId)}/${hex(leaf)}`;
      if (!storers.has(hex(storerId)) || chosen.has(pair)) continue;
      chosen.add(pair);
      out.push({ storerId, stateKey: leaf, record, commitment });
    }
  }
  return out;
}

/**
 * The state after block `round` read through consensus nodes' GetStateProof answers (the rewards
 * verifier's view), each checked: the proof leads to the header's state root, the header is of `round`,
 * and its state root is `stateRoot` (the one the caller took from that block). Answers are kept for the
 * reader's life, so a selection asks each key once.
 */
export function provenStandingState(getStateProof: (key: Uint8Array, round: number) => Promise<StateProofAnswer>, round: number, stateRoot: Uint8Array): StandingState {
  const answers = new Map<string, Promise<{ proof: SmtProof; value: Uint8Array | null }>>();
  const read = (key: Uint8Array) => {
    const k = hex(key);
    let p = answers.get(k);
    if (!p) {
      p = (async () => {
        const res = await getStateProof(key, round);
        const checked = verifyProofResponse(res, key);
        if (!checked.ok) throw new Error(`state after block ${round}: ${checked.reason}`);
        if (Number(res.header!.round) !== round) throw new Error(`state after block ${round}: the consensus node answered for round ${res.header!.round}`);
        if (!same(res.header!.stateRoot, stateRoot)) throw new Error(`state after block ${round}: the proof is against another state root than the block's`);
        const proof = smtProofFromProto(res.proof!);
        if (proof === null) throw new Error(`state after block ${round}: malformed proof`);
        return { proof, value: checked.value };
      })();
      answers.set(k, p);
    }
    return p;
  };
  return { prove: async (key) => (await read(key)).proof, get: async (key) => (await read(key)).value };
}
