// The indexer's core (pure: reads through an injected reader, returns the writes): applies one finalized
// block with its certificate to the read model. It checks (lib/chain/certified-block.ts) that the block is the next one (round, link
// to the previous hash), that its certificate finalizes it, and that the transactions and NewChunks are
// the ones the header commits to (tx_root, new_chunks_hash): a consensus node cannot slip in a body the
// committee did not certify. The caller writes the returned ops, which include the new cursor, in ONE
// synced batch, so a restart resumes exactly after the last block applied.
//
// What is indexed (mirroring the ledger's state transitions, services/consensus/ledger/transactions.ts):
//   SetKey        KeyRecord by (owner, collection, key); FileInfo and each storer's commitment by filehash
//   RegisterNode  NodeRecord (full reputation; stake is locked from the balance: a genesis allocation)
//   UpdateNode    endpoint, VRF key, roles, stake (stake delta from the balance)
//   fees          a node's balance pays its transactions' fees
//   Reward        lib/chain/reward.ts rewardEffects: credits for valid answers, reputation by the rule
//   Repair        lib/chain/repair.ts repairedRecord: the KeyRecord's replaced commitments substituted in
//                 place (docs/repair.md §6); the new storers' locations added. A replaced storer's location
//                 stays (another key may hold the same filehash with it); readers take the record's storers.
//   storer → keys each key's current commitments (indexStorerKey; ListStorerKeys), kept by SetKey
//                 (an overwritten key's old storers dropped) and Repair (replaced dropped, new added)
//   chunk sets    each block's NewChunks.chunk_commitments as a ChunkSetRecord by round (chunkSetFromBlock),
//                 and storer → round for each current committer (ListStorerChunkSets); a Repair with
//                 chunk_set_round R substitutes in R's record (repairedChunkSet, docs/repair.md §9), the
//                 replaced storers' entries dropped and the new ones added. An indexer that applied blocks
//                 before this index existed lacks the sets of those blocks (and would refuse a later Repair
//                 of one): as for storer → keys, it must re-index from genesis (an empty data directory).
// Genesis (round 0) seeds the registry from the genesis file, as the ledger's genesis state does.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { Repair } from '../../gen/wolk/common/v1/tx.js';
import { NodeRole, NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { genesisBalance, type Genesis, type GenesisRole } from '../../lib/chain/genesis.js';
import { BlockRejected, checkNextBlock } from '../../lib/chain/certified-block.js';
import { rewardEffects } from '../../lib/chain/reward.js';
import { chunkSetFromBlock, repairedChunkSet, repairedRecord } from '../../lib/chain/repair.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import { FULL_REPUTATION_PPM } from '../../lib/chain/reputation.js';
import { fromHex } from '../../lib/crypto/index.js';
import type { KvOp } from '../../lib/storage/kv.js';
import type { CertificateVerifier } from '../../lib/chain/certificate.js';
import { chunkSetKey, CURSOR_KEY, encodeCursor, fileInfoKey, fileLocationKey, keyRecordKey, nodeKey, storerChunkSetIndexKey, storerKeyIndexKey, type Cursor } from './keys.js';

export interface ReadModelReader {
  get(key: Uint8Array): Promise<Uint8Array | null>;
}

export interface IndexerCoreContext {
  readonly genesis: Genesis;
  readonly certificates: CertificateVerifier;
  /** Base units per valid audit answer (lib/chain/reward.ts RewardParams.rewardPerValid). */
  readonly rewardPerValid: bigint;
}

/** A block that cannot be applied (lib/chain/certified-block.ts). */
export { BlockRejected };

export interface Applied {
  readonly ops: KvOp[];
  readonly cursor: Cursor;
  readonly stats: { readonly txs: number; readonly keys: number; readonly nodes: number; readonly rewards: number; readonly chunkSets: number };
}

const ROLE: Record<GenesisRole, NodeRole> = {
  storer: NodeRole.NODE_ROLE_STORER,
  consensus: NodeRole.NODE_ROLE_CONSENSUS,
  rewards: NodeRole.NODE_ROLE_REWARDS,
  gateway: NodeRole.NODE_ROLE_GATEWAY,
  indexer: NodeRole.NODE_ROLE_INDEXER,
};

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && hex(a) === hex(b);

/** Writes of one block over the stored read model; reads see earlier writes of the same block. */
class Overlay {
  private readonly writes = new Map<string, KvOp>();
  constructor(private readonly base: ReadModelReader) {}
  async get(key: Uint8Array): Promise<Uint8Array | null> {
    const w = this.writes.get(hex(key));
    if (w) return w.type === 'put' ? w.value : null;
    return this.base.get(key);
  }
  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hex(key), { type: 'put', key, value });
  }
  del(key: Uint8Array): void {
    this.writes.set(hex(key), { type: 'del', key });
  }
  async node(id: Uint8Array): Promise<NodeRecord | null> {
    const b = await this.get(nodeKey(id));
    return b === null ? null : NodeRecord.decode(b);
  }
  putNode(n: NodeRecord): void {
    this.put(nodeKey(n.id), NodeRecord.encode(n).finish());
  }
  ops(): KvOp[] {
    return [...this.writes.values()];
  }
}

/**
 * A chunk-set Repair (Repair.chunk_set_round > 0, docs/repair.md §9) in block `round`: the set's record
 * through repairedChunkSet, the ledger's substitution, so the two agree byte for byte; storer → round
 * moves from the replaced storers to the new ones.
 */
async function applyChunkSetRepair(o: Overlay, r: Repair, round: number): Promise<void> {
  const at = chunkSetKey(r.chunkSetRound);
  const bytes = await o.get(at);
  // As for a key: the block is certified, so the Repair applied on chain; a set not recorded here is a
  // read model that does not match the chain (or one indexed before this index existed).
  if (bytes === null) throw new BlockRejected(`block ${round} repairs the chunk set of block ${r.chunkSetRound}, which is not indexed`);
  const rec = repairedChunkSet(ChunkSetRecord.decode(bytes), r, BigInt(round), eq);
  o.put(at, ChunkSetRecord.encode(rec).finish());
  for (const x of r.replaced) if (x.commitment) o.del(storerChunkSetIndexKey(x.commitment.storerId, r.chunkSetRound));
  for (const c of r.commitments) o.put(storerChunkSetIndexKey(c.storerId, r.chunkSetRound), at);
}

export async function applyCertifiedBlock(reader: ReadModelReader, cursor: Cursor | null, cb: CertifiedBlock, ctx: IndexerCoreContext): Promise<Applied> {
  const { block, header, round, hash } = checkNextBlock(cursor, cb, ctx.genesis.seed, ctx.certificates);
  const o = new Overlay(reader);
  const stats = { txs: block.txs.length, keys: 0, nodes: 0, rewards: 0, chunkSets: 0 };
  if (cursor === null) {
    for (const n of ctx.genesis.nodes) {
      const id = Buffer.from(fromHex(n.id));
      o.putNode({
        id,
        vrfPublicKey: Buffer.from(fromHex(n.vrfPublicKey)),
        endpoint: n.endpoint,
        stake: BigInt(n.stake),
        roles: [...new Set(n.roles.map((r) => ROLE[r]))].sort((a, b) => a - b),
        reputationPpm: FULL_REPUTATION_PPM,
        balance: genesisBalance(ctx.genesis, n.id),
      });
      stats.nodes++;
    }
  }

  // The block's own chunk set (docs/repair.md §9): recorded before its transactions; a Repair names
  // an earlier block's set (its new commitments' seeds are older than the block that carries it).
  const nc = block.newChunks;
  if (nc && nc.chunkCommitments.length > 0) {
    const at = chunkSetKey(BigInt(round));
    o.put(at, ChunkSetRecord.encode(chunkSetFromBlock(BigInt(round), header.newChunksHash, nc)).finish());
    for (const c of nc.chunkCommitments) o.put(storerChunkSetIndexKey(c.storerId, BigInt(round)), at);
    stats.chunkSets++;
  }

  for (const stx of block.txs) {
    const tx = stx.tx;
    if (!tx?.body) continue;
    // Fees come out of a node's balance (only nodes earn; other accounts hold nothing to pay with).
    const senderNode = await o.node(tx.sender);
    if (senderNode && tx.fee > 0n) {
      senderNode.balance = senderNode.balance > tx.fee ? senderNode.balance - tx.fee : 0n;
      o.putNode(senderNode);
    }
    const body = tx.body;
    switch (body.$case) {
      case 'setKey': {
        const k = body.value;
        if (!k.file) break;
        const rec: KeyRecord = { owner: k.owner, collection: k.collection, key: k.key, file: k.file, contentType: k.contentType, commitments: k.commitments, txId: Buffer.from(txId(stx)), round: BigInt(round) };
        const at = keyRecordKey(k.owner, k.collection, k.key);
        const before = await o.get(at);
        if (before !== null) for (const c of KeyRecord.decode(before).commitments) o.del(storerKeyIndexKey(c.storerId, k.owner, k.collection, k.key));
        for (const c of k.commitments) o.put(storerKeyIndexKey(c.storerId, k.owner, k.collection, k.key), at);
        o.put(at, KeyRecord.encode(rec).finish());
        o.put(fileInfoKey(k.file.filehash), FileInfo.encode(k.file).finish());
        for (const c of k.commitments) o.put(fileLocationKey(k.file.filehash, c.storerId), StorageCommitment.encode(c).finish());
        stats.keys++;
        break;
      }
      case 'repair': {
        const r = body.value;
        if (r.chunkSetRound > 0n) {
          await applyChunkSetRepair(o, r, round);
          stats.chunkSets++;
          break;
        }
        const at = keyRecordKey(r.owner, r.collection, r.key);
        const bytes = await o.get(at);
        // The block is certified, so its Repair applied on chain; a record missing here is a read model
        // that does not match the chain: refuse the block rather than index something else.
        if (bytes === null) throw new BlockRejected(`block ${round} repairs wolk://${r.owner}/${r.collection}/${r.key}, which is not indexed`);
        const rec = repairedRecord(KeyRecord.decode(bytes), r, BigInt(round), eq);
        o.put(at, KeyRecord.encode(rec).finish());
        for (const x of r.replaced) if (x.commitment) o.del(storerKeyIndexKey(x.commitment.storerId, r.owner, r.collection, r.key));
        for (const c of r.commitments) o.put(storerKeyIndexKey(c.storerId, r.owner, r.collection, r.key), at);
        if (rec.file) for (const c of r.commitments) o.put(fileLocationKey(rec.file.filehash, c.storerId), StorageCommitment.encode(c).finish());
        stats.keys++;
        break;
      }
      case 'registerNode': {
        const r = body.value;
        // Only a genesis allocation funds an account that is not a node yet (fees before it: the minimum, 0 by default).
        const funded = genesisBalance(ctx.genesis, hex(tx.sender));
        o.putNode({ id: Buffer.from(tx.sender), vrfPublicKey: Buffer.from(r.vrfPublicKey), endpoint: r.endpoint, stake: r.stake, roles: [...r.roles], reputationPpm: FULL_REPUTATION_PPM, balance: funded > r.stake ? funded - r.stake : 0n });
        stats.nodes++;
        break;
      }
      case 'updateNode': {
        const u = body.value;
        const n = await o.node(tx.sender);
        if (!n) break;
        if (u.vrfPublicKey !== undefined) n.vrfPublicKey = Buffer.from(u.vrfPublicKey);
        if (u.endpoint !== undefined) n.endpoint = u.endpoint;
        if (u.roles !== undefined) n.roles = [...u.roles.roles];
        if (u.stake !== undefined) {
          const delta = u.stake - n.stake;
          n.balance = n.balance - delta > 0n ? n.balance - delta : 0n;
          n.stake = u.stake;
        }
        o.putNode(n);
        stats.nodes++;
        break;
      }
      case 'reward': {
        const current = new Map<string, number>();
        // Every storer the Reward moves: block tallies and standing audits (rewardEffects uses both).
        for (const t of [...body.value.tallies, ...body.value.standing]) {
          const n = await o.node(t.storerId);
          if (n) current.set(hex(t.storerId), n.reputationPpm);
        }
        for (const e of rewardEffects(body.value, (id) => current.get(hex(id)), ctx.rewardPerValid)) {
          const n = await o.node(e.storerId);
          if (!n) continue;
          n.balance += e.credit;
          n.reputationPpm = e.reputationPpm;
          o.putNode(n);
        }
        stats.rewards++;
        break;
      }
      default:
        break;
    }
  }
  const next: Cursor = { round, hash, seed: new Uint8Array(header.seed) };
  o.put(CURSOR_KEY, encodeCursor(next));
  return { ops: o.ops(), cursor: next, stats };
}
