// The checks a follower of finalized blocks makes before it applies one (the indexer's read model, the
// storer's reclamation watch): it is the next block (round, link to the previous hash; block 0 carries
// the genesis seed), its certificate finalizes it (lib/chain/certificate.ts, the chain's own check),
// and its transactions, NewChunks and chunk commitments are the ones the header commits to (tx_root,
// new_chunks_hash, chunk_commitments_hash): a consensus node cannot slip in a body the committee did
// not certify.
import type { Block, BlockHeader, CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import { fromHex } from '../crypto/index.js';
import { leafHash, rootOfLeaves } from '../merkle/index.js';
import type { CertificateVerifier } from './certificate.js';
import { chunkCommitmentsHash } from './commitment.js';
import { newChunksHashOf } from './reward.js';
import { txId } from './tx-bytes.js';

/** A block that cannot be applied: the follower drops the source and tries another node. */
export class BlockRejected extends Error {
  override readonly name = 'BlockRejected';
}

/** The last block a follower applied: the next must link to `hash`; `seed` checks its certificate. */
export interface ChainPosition {
  readonly round: number;
  readonly hash: Uint8Array;
  readonly seed: Uint8Array;
}

export interface CheckedBlock {
  readonly block: Block;
  readonly header: BlockHeader;
  readonly round: number;
  /** The block's hash (lib/chain/block-hash.ts): the next block links to it. */
  readonly hash: Uint8Array;
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Checks `cb` as the block after `at` (null: block 0 of the network whose genesis seed is `genesisSeedHex`); throws BlockRejected. */
export function checkNextBlock(at: ChainPosition | null, cb: CertifiedBlock, genesisSeedHex: string, certificates: CertificateVerifier): CheckedBlock {
  const block = cb.block;
  const header = block?.header;
  if (!block || !header) throw new BlockRejected('stream message without a block header');
  const round = Number(header.round);
  const expected = at === null ? 0 : at.round + 1;
  if (round !== expected) throw new BlockRejected(`got block ${round}, expected ${expected}`);
  let hash: Uint8Array;
  if (at === null) {
    if (!eq(header.seed, fromHex(genesisSeedHex))) throw new BlockRejected('block 0 does not carry the genesis seed: another network');
    hash = certificates.hashOf(header);
  } else {
    if (!eq(header.previousHash, at.hash)) throw new BlockRejected(`block ${round} does not link to block ${at.round}`);
    const v = certificates.verify(header, cb.certificate, at.seed);
    if (!v.ok) throw new BlockRejected(`certificate of block ${round} does not verify: ${v.reason}`);
    hash = v.hash;
  }
  const txRoot = rootOfLeaves(block.txs.map((t) => leafHash(txId(t))));
  if (!eq(txRoot, header.txRoot)) throw new BlockRejected(`transactions of block ${round} do not match its tx_root`);
  if (block.newChunks && !eq(newChunksHashOf(block.newChunks), header.newChunksHash)) throw new BlockRejected(`NewChunks of block ${round} do not match new_chunks_hash`);
  if (!eq(chunkCommitmentsHash(block.newChunks?.chunkCommitments ?? []), header.chunkCommitmentsHash)) throw new BlockRejected(`chunk commitments of block ${round} do not match chunk_commitments_hash`);
  return { block, header, round, hash };
}
