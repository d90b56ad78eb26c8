// A block's own data as content-addressed chunks (DESIGN §3, §4 step 7; the design note's case (b)):
// the chunks NewChunks.chunk_ids lists, how a proposer makes them and how every validator recomputes
// them. Pure: the state tree is read through an injected function, nothing here does network I/O.
//
// chunk_ids of block r = tx chunks ‖ state chunks, duplicates dropped (first occurrence kept):
//
//   tx chunks     the batch u32be(len(E)) ‖ E, E = deterministic encoding of Block{txs} (field 2 only),
//                 cut into pieces of the network's chunk size (genesis params.chunkSize); none for a
//                 block without transactions. The length prefix tells a reader how many pieces to get.
//   state chunks  every state-tree object (lib/smt node.ts: leaf, internal node, value) of the tree after
//                 r that is not at the same position in the tree after r − 1: a depth-first, left-first
//                 walk from the new root that stops where a subtree's hash equals the parent tree's
//                 subtree at the same position; a leaf's value object goes with it unless the parent's
//                 leaf at that position had the same value hash.
//
// A state object's chunk id is its SHA-256 — exactly its id in the tree (lib/smt: id = SHA-256 of the
// encoding) — so a node missing locally is fetched as GetShare(hash) and checked by hashing. Every
// object reachable from a block's state root is in the genesis state (which every node rebuilds from
// the genesis file) or among the state chunks of the block that first put it at its position.
import { createHash } from 'node:crypto';
import { Block as PbBlock, NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { decodeNode, isEmpty as isEmptyHash } from '../../lib/smt/node.js';

export interface BlockChunk {
  /** SHA-256 of data. */
  readonly id: Uint8Array;
  readonly data: Uint8Array;
}

/** Reads a state-tree object by hash from wherever the tree keeps it (null: not there). */
export type ObjectReader = (hash: Uint8Array) => Promise<Uint8Array | null>;

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

function chunkOf(data: Uint8Array): BlockChunk {
  return { id: sha256(data), data };
}

/** The tx chunks of a block (see the file comment); [] without transactions. */
export function txChunks(txs: readonly SignedTransaction[], chunkSize: number): BlockChunk[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 64) throw new RangeError(`txChunks: chunk size must be an integer ≥ 64, got ${chunkSize}`);
  if (txs.length === 0) return [];
  const enc = PbBlock.encode({ header: undefined, txs: [...txs], newChunks: undefined }).finish();
  const batch = new Uint8Array(4 + enc.length);
  new DataView(batch.buffer).setUint32(0, enc.length, false);
  batch.set(enc, 4);
  const out: BlockChunk[] = [];
  for (let o = 0; o < batch.length; o += chunkSize) out.push(chunkOf(batch.slice(o, o + chunkSize)));
  return out;
}

/** Number of tx chunks a batch starting with `first` has (from its length prefix). */
export function txChunkCount(first: Uint8Array, chunkSize: number): number {
  if (first.length < 4) throw new Error(`tx chunk: expected at least 4 bytes, got ${first.length}`);
  const len = new DataView(first.buffer, first.byteOffset, 4).getUint32(0, false);
  return Math.ceil((4 + len) / chunkSize);
}

/** The transactions back from a block's tx chunks, in order (throws on a malformed batch). */
export function decodeTxChunks(chunks: readonly Uint8Array[]): SignedTransaction[] {
  if (chunks.length === 0) return [];
  const batch = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  const len = batch.readUInt32BE(0);
  if (batch.length !== 4 + len) throw new Error(`tx chunks: the batch says ${len} bytes, the chunks hold ${batch.length - 4}`);
  return PbBlock.decode(batch.subarray(4)).txs;
}

/**
 * The state chunks of a block: objects of the tree at `root` not at the same position under
 * `parentRoot` (see the file comment), in walk order, each once. Every object read is checked
 * against its hash, so a wrong source fails loudly.
 */
export async function stateChunks(read: ObjectReader, parentRoot: Uint8Array, root: Uint8Array): Promise<BlockChunk[]> {
  const get = async (h: Uint8Array): Promise<Uint8Array> => {
    const bytes = await read(h);
    if (bytes === null) throw new Error(`state object ${hex(h)} is not available`);
    if (!eq(sha256(bytes), h)) throw new Error(`state object ${hex(h)}: the bytes read hash to ${hex(sha256(bytes))}`);
    return bytes;
  };
  // Subtrees are walked concurrently (reads overlap) and their results joined in walk order.
  const walk = async (h: Uint8Array, p: Uint8Array | null): Promise<BlockChunk[]> => {
    if (isEmptyHash(h) || (p !== null && eq(h, p))) return [];
    const [enc, penc] = await Promise.all([get(h), p === null || isEmptyHash(p) ? null : get(p)]);
    const node = decodeNode(enc);
    const here: BlockChunk = { id: new Uint8Array(h), data: new Uint8Array(enc) };
    const pnode = penc === null ? null : decodeNode(penc);
    if (node.kind === 'leaf') {
      if (pnode?.kind === 'leaf' && eq(pnode.valueHash, node.valueHash)) return [here];
      return [here, { id: new Uint8Array(node.valueHash), data: new Uint8Array(await get(node.valueHash)) }];
    }
    const [pl, pr] = pnode?.kind === 'internal' ? [pnode.left, pnode.right] : [null, null];
    const [left, right] = await Promise.all([walk(node.left, pl), walk(node.right, pr)]);
    return [here, ...left, ...right];
  };
  const seen = new Set<string>();
  const out: BlockChunk[] = [];
  for (const c of await walk(root, parentRoot)) {
    const k = hex(c.id);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out;
}

/** All chunks of a block: tx chunks, then state chunks, each id once. */
export function blockChunks(tx: readonly BlockChunk[], state: readonly BlockChunk[]): BlockChunk[] {
  const seen = new Set<string>();
  const out: BlockChunk[] = [];
  for (const c of [...tx, ...state]) {
    const k = hex(c.id);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out;
}

/**
 * NewChunks of a block: its own chunk ids, its SetKey files with their commitments and a key Repair's
 * new commitments, in tx order, and the chunk sets its Repairs restored. `repairedSetIds` gives the
 * chunk ids of each block whose chunk set a Repair of `txs` restores (the caller reads them from that
 * block, Ledger.repairedSetIds); one it lacks throws.
 */
export function newChunksOf(txs: readonly SignedTransaction[], chunkIds: readonly Uint8Array[] = [], repairedSetIds: ReadonlyMap<bigint, readonly Uint8Array[]> = new Map()): NewChunks {
  const files = [];
  for (const t of txs) if (t.tx?.body?.$case === 'setKey') files.push({ file: t.tx.body.value.file, commitments: t.tx.body.value.commitments });
  // A Repair's new commitments (docs/repair.md §6), after the SetKey files: the audit of this block
  // challenges the new storers. The file is the one its replaced commitments are for.
  const repairedChunkSets = [];
  for (const t of txs) {
    if (t.tx?.body?.$case !== 'repair') continue;
    const r = t.tx.body.value;
    if (r.chunkSetRound > 0n) {
      // A chunk set's (§9): the audit of this block challenges its new storers on every chunk of it.
      const ids = repairedSetIds.get(r.chunkSetRound);
      if (ids === undefined) throw new Error(`newChunksOf: the chunk ids of block ${r.chunkSetRound} (a Repair restores its chunk set) were not given`);
      repairedChunkSets.push({ round: r.chunkSetRound, chunkIds: ids.map((id) => Buffer.from(id)), commitments: r.commitments });
      continue;
    }
    const c = r.replaced[0]?.commitment;
    if (c) files.push({ file: { filehash: c.filehash, size: c.size, chunkSize: c.chunkSize }, commitments: r.commitments });
  }
  return { chunkIds: chunkIds.map((id) => Buffer.from(id)), files, chunkCommitments: [], repairedChunkSets };
}

/** new_chunks_hash = SHA-256(deterministic encoding of NewChunks with chunk_commitments cleared): lib/chain/reward.ts newChunksHashOf, the one rule. */
export { newChunksHashOf as newChunksHash } from '../../lib/chain/reward.js';

// ---- which storers keep a chunk ----

export interface StorerRef {
  /** 32-byte Ed25519 id (hex). */
  readonly id: string;
  /** gRPC HOST:PORT. */
  readonly endpoint: string;
}

const RANK_DOMAIN = new TextEncoder().encode('wolk/block-chunk/v1');

/**
 * Storers in the order they are responsible for a chunk: rendezvous hashing, ascending
 * SHA-256(len(d) ‖ d ‖ chunk id ‖ storer id), d = "wolk/block-chunk/v1". The writer stores on the first
 * R that accept; a reader asks in the same order, so it usually needs one connection and at most
 * everyone. Anyone computes it from the registry and the chunk id alone — a reader holding only a node
 * hash knows neither the block that made the node nor any VRF output (docs/consensus.md says why this
 * is not VRF self-selection yet).
 */
export function storerOrder<S extends StorerRef>(chunkId: Uint8Array, storers: readonly S[]): S[] {
  const scored = storers.map((s) => {
    const h = createHash('sha256');
    h.update(Uint8Array.of(RANK_DOMAIN.length));
    h.update(RANK_DOMAIN);
    h.update(chunkId);
    h.update(Buffer.from(s.id, 'hex'));
    return { s, score: h.digest('hex') };
  });
  scored.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : 0));
  return scored.map((x) => x.s);
}
