// The block hash (docs/contracts.md "block hash"): the one rule consensus (agreement core, wire
// conversions, ledger), the indexer and clients use to get a block's hash from its header. Pure.
//
// The hash covers, in order and domain-separated: round, previous hash, seed, proposer (hex, length
// prefixed), original period, the proposer's credential (voter hex, VRF proof, VRF output — each
// length prefixed — and weight), and the hash of the "ledger part": the deterministic encoding of the
// BlockHeader with fields 1–6 cleared (state_root, tx_root, new_chunks_hash, timestamp_ms remain).
// The agreement core sees that ledger part as an opaque `body`, so its hash of a block equals the
// hash anyone recomputes from the header alone. The hash function is a parameter only so that the
// deterministic simulator can use a fast stand-in; the chain uses SHA-256.
import { BlockHeader } from '../../gen/wolk/common/v1/chain.js';
import { sha256 } from '../crypto/hash.js';

export type HashFn = (...parts: Uint8Array[]) => Uint8Array;

const utf8 = new TextEncoder();
const DOMAIN_BLOCK = utf8.encode('wolk/agreement/block/v1');

/** The fields the block hash covers, as the agreement core holds them. */
export interface BlockHashFields {
  readonly round: number;
  readonly prevHash: Uint8Array;
  readonly seed: Uint8Array;
  /** Hex of the proposer's id; '' for genesis. */
  readonly proposer: string;
  /** Original period. */
  readonly period: number;
  readonly credential: { readonly voterId: string; readonly vrfProof: Uint8Array; readonly vrfOutput: Uint8Array; readonly weight: number };
  /** The encoded ledger part (`encodeLedgerPart`). */
  readonly body: Uint8Array;
}

/** Big-endian u64 of a safe non-negative integer. */
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`u64: expected a safe non-negative integer, got ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array[] {
  return [u64(bytes.length), bytes];
}

/** The block hash of the fields (SHA-256 on the chain). */
export function blockHash(hash: HashFn, b: BlockHashFields): Uint8Array {
  const c = b.credential;
  return hash(
    DOMAIN_BLOCK,
    u64(b.round),
    b.prevHash,
    b.seed,
    ...lengthPrefixed(utf8.encode(b.proposer)),
    u64(b.period),
    ...lengthPrefixed(utf8.encode(c.voterId)),
    ...lengthPrefixed(c.vrfProof),
    ...lengthPrefixed(c.vrfOutput),
    u64(c.weight),
    hash(b.body),
  );
}

export type LedgerFields = Pick<BlockHeader, 'stateRoot' | 'txRoot' | 'newChunksHash' | 'timestampMs'> & Partial<Pick<BlockHeader, 'chunkCommitmentsHash'>>;

/** The ledger part of a header: fields 7–11 only (chunk_commitments_hash empty when absent). */
export function ledgerPart(h: LedgerFields): BlockHeader {
  return {
    round: 0n,
    previousHash: Buffer.alloc(0),
    seed: Buffer.alloc(0),
    proposerId: Buffer.alloc(0),
    originalPeriod: 0n,
    proposerCredential: undefined,
    stateRoot: Buffer.from(h.stateRoot),
    txRoot: Buffer.from(h.txRoot),
    newChunksHash: Buffer.from(h.newChunksHash),
    timestampMs: h.timestampMs,
    chunkCommitmentsHash: Buffer.from(h.chunkCommitmentsHash ?? new Uint8Array(0)),
  };
}

/** The agreement block's `body`: the deterministic encoding of the ledger part. */
export function encodeLedgerPart(h: LedgerFields): Uint8Array {
  return BlockHeader.encode(ledgerPart(h)).finish();
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`header ${what} ${n} is out of range`);
  return Number(n);
}

/**
 * The hashed fields of a header. The genesis block (round 0) has no proposer and an empty
 * credential; otherwise the credential's voter is the proposer. Field lengths are not checked here
 * (services/consensus/wire.ts refuses malformed headers at the edge): a malformed header just hashes
 * to a value no certificate names.
 */
export function blockHashFieldsOfHeader(h: BlockHeader): BlockHashFields {
  const genesis = h.round === 0n;
  const c = h.proposerCredential;
  const proposer = genesis ? '' : hexOf(h.proposerId);
  return {
    round: safe(h.round, 'round'),
    prevHash: new Uint8Array(h.previousHash),
    seed: new Uint8Array(h.seed),
    proposer,
    period: safe(h.originalPeriod, 'original_period'),
    credential: genesis
      ? { voterId: '', vrfProof: new Uint8Array(0), vrfOutput: new Uint8Array(0), weight: 0 }
      : { voterId: proposer, vrfProof: new Uint8Array(c?.vrf?.proof ?? []), vrfOutput: new Uint8Array(c?.vrf?.output ?? []), weight: c?.weight ?? 0 },
    body: encodeLedgerPart(h),
  };
}

/** The block hash recomputed from a header alone. */
export function blockHashOfHeader(h: BlockHeader, hash: HashFn = sha256): Uint8Array {
  return blockHash(hash, blockHashFieldsOfHeader(h));
}
