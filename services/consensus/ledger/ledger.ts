// The ledger: genesis, the state tree at every finalized round, block assembly, block validation and
// commit (the Consensus issue, "Ledger"; DESIGN §3, §5). It answers the agreement core's synchronous
// reads (tip, stake) and does the work behind its `assemble`, `validate` and `commit` actions.
//
// Committee: the genesis consensus nodes with their genesis stake, fixed for the life of the chain
// (a RegisterNode with the consensus role enters state but does not vote yet). That satisfies the
// core's rule that stake for round r must not depend on block r-1. A stake lookback over state is
// future work (docs/consensus.md).
import { createHash } from 'node:crypto';
import type { Block as PbBlock, BlockHeader, Certificate as PbCertificate, NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { chunkCommitmentsHash, verifyChunkCommitment } from '../../../lib/chain/commitment.js';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { AccountRecord } from '../../../gen/wolk/common/v1/state.js';
import { nodesWithRole, type Genesis, type GenesisRole } from '../../../lib/chain/genesis.js';
import { rewardParamsOf, rewardsInBlock } from '../../../lib/chain/reward.js';
import { repairParamsOf, repairsInBlock } from '../../../lib/chain/repair.js';
import { encodeStorerSet } from '../../../lib/chain/storer-registry.js';
import { accountStateKey, STORER_SET_KEY } from '../../../lib/chain/state-keys.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { fromHex } from '../../../lib/crypto/index.js';
import { leafHash, rootOfLeaves } from '../../../lib/merkle/index.js';
import { SparseMerkleTree, writeThroughNodeSource, type NodeSource } from '../../../lib/smt/index.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { blockHash } from '../agreement/codec.js';
import { blockChunks, newChunksHash, newChunksOf, stateChunks, txChunks, type BlockChunk } from '../block-data.js';
import type { VerifiedCheckpoint } from '../checkpoint.js';
import type { AgreementCrypto, AgreementLedgerReader, Block, Certificate, LedgerTip, Round, VoterId } from '../agreement/types.js';
import { ChainStore } from '../chain-store.js';
import { blockFromHeader, certificateToProto, emptyCredential, encodeLedgerPart, headerOf, type Payload } from '../wire.js';
import { StateOverlay, type StateReader } from './state-view.js';
import { applyTx, checkStateless, DEFAULT_TX_LIMITS, registryAt, TxError, type LedgerRules, type TxLimits } from './transactions.js';
import { chunkCommitmentKey, VerifiedTxCache } from './verified-cache.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export interface BlockLimits {
  readonly maxTxs: number;
  /** Sum of the encoded transactions' sizes. */
  readonly maxBytes: number;
  /** A header timestamp this far past the validator's clock is refused. */
  readonly maxClockSkewMs: number;
  /** How many rounds back a storage commitment's seed may be. */
  readonly seedWindow: number;
  /**
   * Files (SetKeys and Repairs) a proposal carries at most; the rest wait in the mempool. Not a validity
   * rule: every verifier challenges the storers of every file of a block within its storage check's time
   * box (max(3λ, 300 ms)), and in a 1,000-SetKey burst blocks of 153 and 341 SetKeys ran past it
   * (VerifyFile deadline exceeded), so their periods failed and those rounds took up to a minute
   * (docs/consensus.md, 2026-12-07 16:45).
   */
  readonly maxFiles: number;
}

export const DEFAULT_BLOCK_LIMITS: BlockLimits = { maxTxs: 2000, maxBytes: 4 * 1024 * 1024, maxClockSkewMs: 30_000, seedWindow: 256, maxFiles: 64 };

export interface LedgerOptions {
  readonly kv: KvStore;
  readonly genesis: Genesis;
  readonly crypto: Pick<AgreementCrypto, 'hash'>;
  readonly txLimits?: TxLimits;
  readonly blockLimits?: BlockLimits;
  /**
   * Where state-tree objects missing from the local store come from (storers: remote-state.ts); each
   * is checked against its hash and then kept locally.
   */
  readonly nodeSource?: NodeSource;
  /**
   * Where a proposer writes its block's own chunks before proposing (block-data.ts; docs/consensus.md
   * "Block storage"). It returns when the chunks are stored or its time budget is spent; the block is
   * proposed either way (its chunk ids do not depend on where the chunks went).
   */
  readonly blockStore?: BlockStore;
  /**
   * Start an empty data directory from this certified block instead of replaying from genesis (its
   * state is read from `nodeSource`). Ignored when the directory holds blocks past genesis.
   */
  readonly checkpoint?: VerifiedCheckpoint;
  /** Wall clock (ms since the epoch) for header timestamps. */
  readonly now?: () => number;
  /**
   * How long assembly may spend executing candidates before it closes the block with what it has
   * (at least one transaction). The proposal must reach the other nodes before their filter timeout
   * (2λ): a block that takes longer to build than that is soft-voted by nobody, period after period.
   * Unset: no time limit (only the size limits).
   */
  readonly assembleBudgetMs?: number;
  /**
   * Where the body of a block this node holds only the header of comes from (the blocks before a
   * checkpoint; services/consensus/node.ts asks its peers with GetBlock, in turn, until `accept` takes
   * one). Nothing from it is trusted: its NewChunks is used only when it hashes to that header's
   * new_chunks_hash and its chunk commitments to the header's chunk_commitments_hash. A Reward
   * auditing such a block needs it.
   */
  readonly blockSource?: (round: number, accept: (block: PbBlock) => boolean) => Promise<PbBlock | null>;
}

/**
 * Writes block chunks somewhere durable (storers). What it returns is for logs, except
 * `chunkCommitments` (BlockStoreResult): storers' commitments to the chunk set `set` (CommitChunks),
 * which the ledger checks (checkChunkCommitments) and puts in NewChunks.chunk_commitments.
 */
export interface BlockStore {
  store(round: number, chunks: readonly BlockChunk[], set: ChunkSetRequest): Promise<unknown>;
}

/** What storers commit to for a block of round r: its NewChunks (no commitments), seed of round r − 1. */
export interface ChunkSetRequest {
  readonly newChunks: NewChunks;
  readonly newChunksHash: Uint8Array;
  readonly seed: Uint8Array;
  readonly seedRound: number;
}

export interface BlockStoreResult {
  readonly chunkCommitments?: readonly StorageCommitment[];
}

export interface ExecResult {
  readonly root: Uint8Array;
  readonly included: SignedTransaction[];
  readonly rejected: { stx: SignedTransaction; error: TxError }[];
}

const ROLE: Record<GenesisRole, NodeRole> = {
  storer: NodeRole.NODE_ROLE_STORER,
  consensus: NodeRole.NODE_ROLE_CONSENSUS,
  rewards: NodeRole.NODE_ROLE_REWARDS,
  gateway: NodeRole.NODE_ROLE_GATEWAY,
  indexer: NodeRole.NODE_ROLE_INDEXER,
};

/** tx_root: RFC 6962 Merkle root over the transaction ids as leaves, in block order (lib/merkle). */
export function txRootOf(txs: readonly SignedTransaction[]): Uint8Array {
  return rootOfLeaves(txs.map((t) => leafHash(txId(t))));
}

export { newChunksHash, newChunksOf } from '../block-data.js';

export class Ledger implements AgreementLedgerReader {
  readonly tree: SparseMerkleTree;
  readonly chain: ChainStore;
  readonly rules: LedgerRules;
  readonly genesis: Genesis;
  private readonly limits: BlockLimits;
  private readonly crypto: Pick<AgreementCrypto, 'hash'>;
  private readonly now: () => number;
  private readonly stakes = new Map<VoterId, bigint>();
  private readonly total: bigint;
  private readonly seeds = new Map<number, Uint8Array>();
  /**
   * Executed bodies: hex(parent root ‖ sha256(body)) → the state root they execute to. The parent is
   * part of the key so that a body replayed on another parent is executed again, never trusted.
   */
  private readonly executed = new Map<string, Uint8Array>();
  private tipBlock!: Block;
  private tipHeaderCache!: BlockHeader;
  private readonly listeners = new Set<(round: number) => void>();
  private readonly blockStore: BlockStore | undefined;
  private readonly checkpoint: VerifiedCheckpoint | undefined;
  private startedFrom: number | null = null;
  private readonly chunkCache = new Map<string, BlockChunk[]>();
  private readonly assembleBudgetMs: number | undefined;
  private readonly blockSource: LedgerOptions['blockSource'];
  /** NewChunks of header-only blocks, fetched from `blockSource` and checked (bounded). */
  private readonly fetchedNewChunks = new Map<number, NewChunks>();

  private constructor(o: LedgerOptions) {
    this.genesis = o.genesis;
    this.crypto = o.crypto;
    this.now = o.now ?? Date.now;
    this.assembleBudgetMs = o.assembleBudgetMs;
    this.limits = o.blockLimits ?? DEFAULT_BLOCK_LIMITS;
    this.chain = new ChainStore(o.kv);
    this.tree = new SparseMerkleTree({ kv: o.kv, ...(o.nodeSource ? { source: writeThroughNodeSource(o.kv, o.nodeSource) } : {}) });
    this.blockStore = o.blockStore;
    this.checkpoint = o.checkpoint;
    this.blockSource = o.blockSource;
    const committee = nodesWithRole(o.genesis, 'consensus');
    for (const n of committee.nodes) this.stakes.set(n.id, BigInt(n.stake));
    this.total = committee.totalStake;
    this.rules = {
      chainId: o.genesis.network,
      limits: o.txLimits ?? DEFAULT_TX_LIMITS,
      defaultReplication: o.genesis.params.replication,
      defaultChunkSize: o.genesis.params.chunkSize,
      // Storer sortition weighs the storer set of the state after the request's seed round by stake
      // and reputation (lib/chain/storer-registry.ts; stateAt below).
      storers: { expectedSize: o.genesis.params.storerCommitteeSize },
      seedAt: (round) => this.seedAt(round),
      // Signatures and storage commitments checked at admission are not checked again when the same
      // transaction is assembled or validated in a block on this node (verified-cache.ts).
      verified: new VerifiedTxCache(),
      // Rewards (docs/rewards.md): Q from genesis; verifier sortition against the genesis rewards stake.
      rewards: { params: rewardParamsOf(o.genesis), totalVerifierStake: nodesWithRole(o.genesis, 'rewards').totalStake },
      newChunksAt: (round) => this.newChunksAt(round),
      // Repair (docs/repair.md): liveness threshold and per-block bound from genesis params.repair.
      repair: repairParamsOf(o.genesis.params.repair),
      ...(o.genesis.params.porep ? { porep: o.genesis.params.porep } : {}),
      // A header is enough (its state root; state-tree nodes this node lacks come from storers), so a
      // node started from a checkpoint checks seed rounds before it too.
      stateAt: async (round) => {
        const header = round <= this.tipBlock.round ? await this.chain.header(round) : undefined;
        if (!header) return null;
        const root = new Uint8Array(header.stateRoot);
        return { root, state: this.stateAtRoot(root), prove: (key: Uint8Array) => this.tree.prove(root, key) };
      },
    };
  }

  /**
   * NewChunks of a finalized round: from the stored block; for a block this node holds only the header
   * of (before its checkpoint), from `blockSource`, checked against that header.
   */
  private async newChunksAt(round: number): Promise<NewChunks | null> {
    if (round > this.tipBlock.round) return null;
    const stored = await this.chain.get(round);
    if (stored?.block.newChunks) return stored.block.newChunks;
    // A block held whole has no NewChunks then; only header-only blocks (before the checkpoint, and
    // the checkpoint's own) are asked of blockSource.
    if ((stored && round !== this.startedFrom) || !this.blockSource) return null;
    const known = this.fetchedNewChunks.get(round);
    if (known) return known;
    const h = await this.chain.header(round);
    if (!h) return null;
    const matches = (b: PbBlock) => b.newChunks !== undefined && eq(newChunksHash(b.newChunks), h.newChunksHash) && eq(chunkCommitmentsHash(b.newChunks.chunkCommitments), h.chunkCommitmentsHash);
    const body = await this.blockSource(round, matches).catch(() => null);
    // The source is asked to return only a block `matches` takes; checked here again all the same.
    if (!body?.newChunks || !matches(body)) return null;
    if (this.fetchedNewChunks.size >= 512) this.fetchedNewChunks.delete(this.fetchedNewChunks.keys().next().value!);
    this.fetchedNewChunks.set(round, body.newChunks);
    return body.newChunks;
  }

  /**
   * The chunk ids of each block whose chunk set a Repair among `txs` restores (docs/repair.md §9), for
   * newChunksOf. A Repair in a block was applied, so its block's NewChunks were readable then.
   */
  private async repairedSetIds(txs: readonly SignedTransaction[]): Promise<Map<bigint, readonly Uint8Array[]>> {
    const out = new Map<bigint, readonly Uint8Array[]>();
    for (const t of txs) {
      if (t.tx?.body?.$case !== 'repair' || t.tx.body.value.chunkSetRound === 0n) continue;
      const round = t.tx.body.value.chunkSetRound;
      if (out.has(round) || round > BigInt(Number.MAX_SAFE_INTEGER)) continue;
      const nc = await this.newChunksAt(Number(round));
      if (nc !== null) out.set(round, nc.chunkIds);
    }
    return out;
  }

  static async open(o: LedgerOptions): Promise<Ledger> {
    const l = new Ledger(o);
    await l.load();
    return l;
  }

  private async load(): Promise<void> {
    let latest = await this.chain.latestRound();
    if (latest === null) {
      await this.writeGenesis();
      latest = 0;
    }
    // Only a chain that has nothing past genesis (a new node, or one stopped before this step) takes it.
    if (latest === 0 && this.checkpoint) {
      await this.writeCheckpoint(this.checkpoint);
      latest = this.checkpoint.round;
    }
    this.startedFrom = await this.chain.checkpointRound();
    const top = (await this.chain.get(latest))!;
    this.setTip(top.block);
    for (let r = latest; r >= 0 && r > latest - this.limits.seedWindow; r--) {
      const h = r === latest ? top.block.header : await this.chain.header(r);
      if (h) this.seeds.set(r, new Uint8Array(h.seed));
    }
    // A crash between the block write and the version write leaves the version behind: redo it.
    const root = new Uint8Array(top.block.header!.stateRoot);
    if ((await this.tree.rootAt(latest)) === null) await this.tree.commitVersion(latest, root, { sync: true });
  }

  /**
   * Genesis state: every genesis node's account with its node record (DESIGN §5: the committee), the
   * genesis allocations' balances (`accounts`), and the storer set.
   */
  private async writeGenesis(): Promise<void> {
    const records = new Map<string, AccountRecord>();
    for (const n of this.genesis.nodes) {
      const id = Buffer.from(fromHex(n.id));
      records.set(n.id, {
        publicKey: id,
        nonce: 0n,
        balance: 0n,
        node: {
          id,
          vrfPublicKey: Buffer.from(fromHex(n.vrfPublicKey)),
          endpoint: n.endpoint,
          stake: BigInt(n.stake),
          roles: [...new Set(n.roles.map((r) => ROLE[r]))].sort((a, b) => a - b),
          reputationPpm: 1_000_000,
          balance: 0n,
        },
      });
    }
    for (const a of this.genesis.accounts ?? []) {
      const rec = records.get(a.id) ?? { publicKey: Buffer.from(fromHex(a.id)), nonce: 0n, balance: 0n, node: undefined };
      records.set(a.id, { ...rec, balance: BigInt(a.balance) });
    }
    const changes: { key: Uint8Array; value: Uint8Array }[] = [...records.values()].map((rec) => ({ key: accountStateKey(rec.publicKey), value: AccountRecord.encode(rec).finish() }));
    // The storer set (lib/chain/storer-registry.ts): the genesis storers; RegisterNode/UpdateNode keep it.
    const storerIds = this.genesis.nodes.filter((n) => n.roles.includes('storer')).map((n) => fromHex(n.id));
    changes.push({ key: STORER_SET_KEY, value: encodeStorerSet(storerIds) });
    const root = await this.tree.update(SparseMerkleTree.emptyRoot, changes);
    const nc = newChunksOf([]);
    const body = encodeLedgerPart({ stateRoot: Buffer.from(root), txRoot: Buffer.from(txRootOf([])), newChunksHash: Buffer.from(newChunksHash(nc)), timestampMs: BigInt(this.genesis.timestampMs) });
    const b: Omit<Block, 'hash'> = { round: 0, prevHash: new Uint8Array(32), seed: fromHex(this.genesis.seed), proposer: '', period: 0, credential: emptyCredential(), body };
    const block: Block = { ...b, hash: blockHash(this.crypto as AgreementCrypto, b) };
    await this.chain.put(0, block.hash, { header: headerOf(block), txs: [], newChunks: nc }, undefined);
    await this.tree.commitVersion(0, root, { sync: true });
  }

  /**
   * A checkpoint start (the genesis state is already written: every node rebuilds it from the genesis
   * file, and no storer holds it): the certified block's header and certificate, and the headers
   * before it for their seeds. Its body is not known; its state is read from the node source.
   */
  private async writeCheckpoint(cp: VerifiedCheckpoint): Promise<void> {
    await this.chain.putAncestors(cp.ancestors);
    await this.chain.put(cp.round, cp.block.hash, { header: cp.header, txs: [], newChunks: undefined }, cp.certificate, { checkpoint: true });
  }

  private setTip(pb: PbBlock): void {
    this.tipHeaderCache = pb.header!;
    this.tipBlock = blockFromHeader(this.crypto as AgreementCrypto, pb.header);
  }

  // ---- AgreementLedgerReader ----

  tip(): LedgerTip {
    return { round: this.tipBlock.round, hash: this.tipBlock.hash, seed: this.tipBlock.seed };
  }

  tipHeader(): BlockHeader {
    return this.tipHeaderCache;
  }

  totalStake(_round: Round): bigint {
    return this.total;
  }

  stakeOf(voter: VoterId, _round: Round): bigint {
    return this.stakes.get(voter) ?? 0n;
  }

  committee(): ReadonlyMap<VoterId, bigint> {
    return this.stakes;
  }

  seedAt(round: number): Uint8Array | null {
    return this.seeds.get(round) ?? null;
  }

  /** State at the latest finalized block. */
  latestState(): StateReader {
    return this.stateAtRoot(new Uint8Array(this.tipHeaderCache.stateRoot));
  }

  stateAtRoot(root: Uint8Array): StateReader {
    return { get: (key) => this.tree.get(root, key) };
  }

  /** Called after each commit with the new round (StreamBlocks followers, the mempool). */
  onCommit(fn: (round: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- execution ----

  /**
   * Runs `txs` in order on the state at `parentRoot` for block `round`. With `skipInvalid` (assembly)
   * a failing transaction is left out; without it (validation) the first failure is thrown.
   */
  async execute(round: number, parentRoot: Uint8Array, txs: readonly SignedTransaction[], skipInvalid: boolean, closeAt?: number): Promise<ExecResult> {
    const overlay = new StateOverlay(this.stateAtRoot(parentRoot));
    const included: SignedTransaction[] = [];
    const rejected: { stx: SignedTransaction; error: TxError }[] = [];
    let bytes = 0;
    let hasReward = false;
    let repairs = 0;
    let files = 0;
    for (const stx of txs) {
      const size = encodedSize(stx);
      if (skipInvalid && (included.length >= this.limits.maxTxs || bytes + size > this.limits.maxBytes)) break;
      const bringsFile = stx.tx?.body?.$case === 'setKey' || stx.tx?.body?.$case === 'repair';
      if (skipInvalid && bringsFile && files >= this.limits.maxFiles) break;
      // Assembly's time budget: the rest waits in the mempool for the next block.
      if (skipInvalid && closeAt !== undefined && included.length > 0 && this.now() >= closeAt) break;
      const fork = overlay.fork();
      const isReward = stx.tx?.body?.$case === 'reward';
      const isRepair = stx.tx?.body?.$case === 'repair';
      try {
        // At most one Reward per block (lib/chain/reward.ts rewardsInBlock); a second one waits for the next block.
        if (isReward && hasReward) throw new TxError('FAILED_PRECONDITION', 'a block includes at most one Reward', true);
        // At most params.repair.maxPerBlock Repairs (lib/chain/repair.ts repairsInBlock); the rest wait likewise.
        if (isRepair && repairs >= this.rules.repair.maxPerBlock) throw new TxError('FAILED_PRECONDITION', `a block includes at most ${this.rules.repair.maxPerBlock} Repairs`, true);
        checkStateless(stx, this.rules);
        await applyTx(stx, fork, { round, rules: this.rules }, txId(stx));
      } catch (err) {
        if (!(err instanceof TxError)) throw err;
        if (!skipInvalid) throw new TxError(err.code, `tx ${included.length} (${hex(txId(stx)).slice(0, 16)}): ${err.message}`, err.future);
        rejected.push({ stx, error: err });
        continue;
      }
      overlay.absorb(fork);
      if (isReward) hasReward = true;
      if (isRepair) repairs++;
      if (bringsFile) files++;
      included.push(stx);
      bytes += size;
    }
    const root = await this.tree.update(parentRoot, overlay.changes());
    return { root, included, rejected };
  }

  /** A block body for the next round from candidate transactions (already ordered by the mempool). */
  async assemble(round: number, candidates: readonly SignedTransaction[]): Promise<{ body: Uint8Array; payload: Payload; rejected: ExecResult['rejected'] }> {
    if (round !== this.tipBlock.round + 1) throw new Error(`assemble: round ${round} does not follow the tip ${this.tipBlock.round}`);
    const parent = new Uint8Array(this.tipHeaderCache.stateRoot);
    const closeAt = this.assembleBudgetMs !== undefined ? this.now() + this.assembleBudgetMs : undefined;
    const res = await this.execute(round, parent, candidates, true, closeAt);
    const chunks = await this.chunksOf(res.included, parent, res.root);
    const nc = newChunksOf(res.included, chunks.map((c) => c.id), await this.repairedSetIds(res.included));
    const setHash = newChunksHash(nc);
    // Before proposing: the block's own data goes to storers (DESIGN §4 step 7), within the store's
    // budget, and the storers that select themselves for the set commit to it (CommitChunks). Only the
    // commitments that pass the validators' rule go in; none is fine (consensus never waits on storers).
    if (this.blockStore) {
      const out = (await this.blockStore.store(round, chunks, { newChunks: nc, newChunksHash: setHash, seed: this.tipBlock.seed, seedRound: round - 1 })) as BlockStoreResult | undefined;
      const offered = out?.chunkCommitments ?? [];
      if (offered.length > 0) nc.chunkCommitments = await this.acceptChunkCommitments(round, setHash, chunks, offered);
    }
    const ts = Math.max(this.now(), Number(this.tipHeaderCache.timestampMs));
    const body = encodeLedgerPart({
      stateRoot: Buffer.from(res.root),
      txRoot: Buffer.from(txRootOf(res.included)),
      newChunksHash: Buffer.from(setHash),
      timestampMs: BigInt(ts),
      chunkCommitmentsHash: Buffer.from(chunkCommitmentsHash(nc.chunkCommitments)),
    });
    this.executed.set(execKey(parent, body), res.root);
    this.trimExecuted();
    return { body, payload: { txs: res.included, newChunks: nc }, rejected: res.rejected };
  }

  /** The ledger's verdict on a block extending the tip (the agreement `validate` action). */
  async validate(block: Block, payload: Payload | undefined): Promise<{ valid: boolean; reason?: string }> {
    try {
      if (block.round !== this.tipBlock.round + 1) return { valid: false, reason: `round ${block.round} does not follow the tip ${this.tipBlock.round}` };
      if (!payload) return { valid: false, reason: 'the block\'s transactions are unknown' };
      const h = headerOf(block);
      if (payload.txs.length > this.limits.maxTxs) return { valid: false, reason: `${payload.txs.length} transactions, at most ${this.limits.maxTxs}` };
      const bytes = payload.txs.reduce((s, t) => s + encodedSize(t), 0);
      if (bytes > this.limits.maxBytes) return { valid: false, reason: `${bytes} bytes of transactions, at most ${this.limits.maxBytes}` };
      if (!eq(h.txRoot, txRootOf(payload.txs))) return { valid: false, reason: 'tx_root does not match the transactions' };
      const rewards = rewardsInBlock(payload.txs);
      if (!rewards.ok) return { valid: false, reason: rewards.reason };
      const repairs = repairsInBlock(payload.txs, this.rules.repair);
      if (!repairs.ok) return { valid: false, reason: repairs.reason };
      if (payload.newChunks && !eq(newChunksHash(payload.newChunks), h.newChunksHash)) return { valid: false, reason: 'NewChunks does not match new_chunks_hash' };
      // chunk_commitments are outside new_chunks_hash (storers sign over it); the header binds them.
      const commitments = payload.newChunks?.chunkCommitments ?? [];
      if (!eq(chunkCommitmentsHash(commitments), h.chunkCommitmentsHash)) return { valid: false, reason: 'chunk_commitments do not match the header\'s chunk_commitments_hash' };
      const ts = Number(h.timestampMs);
      if (ts < Number(this.tipHeaderCache.timestampMs)) return { valid: false, reason: 'timestamp is before the previous block\'s' };
      if (ts > this.now() + this.limits.maxClockSkewMs) return { valid: false, reason: 'timestamp is in the future' };
      const parent = new Uint8Array(this.tipHeaderCache.stateRoot);
      const key = execKey(parent, block.body);
      const known = this.executed.get(key);
      if (known !== undefined) return eq(known, h.stateRoot) ? { valid: true } : { valid: false, reason: 'state_root mismatch' };
      const res = await this.execute(block.round, parent, payload.txs, false);
      if (!eq(res.root, h.stateRoot)) return { valid: false, reason: 'state_root does not match the executed transactions' };
      // The block's own chunks are a function of its transactions and the two state trees: recompute.
      const ids = (await this.chunksOf(payload.txs, parent, res.root)).map((c) => c.id);
      if (!eq(h.newChunksHash, newChunksHash(newChunksOf(payload.txs, ids, await this.repairedSetIds(payload.txs))))) {
        const claimed = payload.newChunks?.chunkIds;
        const why = claimed && !sameIds(claimed, ids) ? `chunk_ids (${claimed.length}) are not the block's own data (${ids.length} chunks)` : 'new_chunks_hash does not match the block\'s files and chunks';
        return { valid: false, reason: why };
      }
      if (commitments.length > 0) {
        const lengths = (await this.chunksOf(payload.txs, parent, res.root)).map((c) => c.data.length);
        const problem = await this.checkChunkCommitments(block.round, h.newChunksHash, lengths, commitments);
        if (problem !== null) return { valid: false, reason: problem };
      }
      this.executed.set(key, res.root);
      this.trimExecuted();
      return { valid: true };
    } catch (err) {
      return { valid: false, reason: (err as Error).message };
    }
  }

  /**
   * Appends a certified block durably (block + certificate in one synced batch, then the state
   * version). The block must have been validated (its state nodes written).
   */
  async commit(block: Block, certificate: Certificate, payload: Payload): Promise<void> {
    if (block.round !== this.tipBlock.round + 1 || !eq(block.prevHash, this.tipBlock.hash)) {
      throw new Error(`commit: block ${block.round} does not extend the tip ${this.tipBlock.round}`);
    }
    const h = headerOf(block);
    const root = new Uint8Array(h.stateRoot);
    const parent = new Uint8Array(this.tipHeaderCache.stateRoot);
    const known = this.executed.get(execKey(parent, block.body));
    if (known === undefined || !eq(known, root)) {
      const res = await this.execute(block.round, parent, payload.txs, false);
      if (!eq(res.root, root)) throw new Error(`commit: block ${block.round} executes to another state root`);
    }
    if (!payload.newChunks && h.chunkCommitmentsHash.length > 0) throw new Error(`commit: block ${block.round} has chunk commitments, but its NewChunks are not known`);
    const newChunks = payload.newChunks ?? newChunksOf(payload.txs, (await this.chunksOf(payload.txs, parent, root)).map((c) => c.id), await this.repairedSetIds(payload.txs));
    const pb: PbBlock = { header: h, txs: payload.txs, newChunks };
    await this.chain.put(block.round, block.hash, pb, certificateToProto(certificate));
    await this.tree.commitVersion(block.round, root, { sync: true });
    this.tipBlock = block;
    this.tipHeaderCache = h;
    this.seeds.set(block.round, block.seed);
    this.seeds.delete(block.round - this.limits.seedWindow);
    this.executed.clear();
    for (const fn of this.listeners) fn(block.round);
  }

  /**
   * The rule every validator applies to NewChunks.chunk_commitments of a block of round r (beside the
   * header hash): each is a valid chunk-set commitment (lib/chain/commitment.ts verifyChunkCommitment)
   * for new_chunks_hash with seed_round = r − 1 and seed = that block's seed, by a storer of the
   * registry of round r − 1 (stake × reputation, lib/chain/storer-registry.ts) with the weight
   * sortition gives it, size and chunk_size matching the block's own chunks, on a sealed network a well-formed sealed replica
   * of the set (docs/porep.md "Block chunk sets"); no storer twice.
   * Null when all hold, else the reason.
   */
  async checkChunkCommitments(round: number, setHash: Uint8Array, lengths: readonly number[], commitments: readonly StorageCommitment[]): Promise<string | null> {
    const seedRound = round - 1;
    const seed = this.seedAt(seedRound);
    if (seed === null) return `chunk commitments: the seed of round ${seedRound} is not known here`;
    const registry = await registryAt(this.rules, seedRound);
    if (registry === null) return `chunk commitments: the state of round ${seedRound} is not known here`;
    const seen = new Set<string>();
    // The same commitment reaches a node several times (the proposer's own filter, then each proposal
    // of the same chunk set: several proposers, later periods); its VRF proof, weight and signature are
    // checked once per node (verified-cache.ts chunkCommitmentKey names every input of the check).
    const cache = this.rules.verified;
    const lengthsHex = cache ? hex(sha256(Uint8Array.from(Buffer.from(Uint32Array.from(lengths).buffer)))) : '';
    for (const [i, c] of commitments.entries()) {
      const who = hex(c.storerId);
      if (seen.has(who)) return `chunk commitment ${i}: storer ${who.slice(0, 16)} commits twice`;
      seen.add(who);
      const key = cache ? chunkCommitmentKey(hex(sha256(StorageCommitment.encode(c).finish())), hex(setHash), lengthsHex, hex(seed), BigInt(seedRound), registry.totalWeight, this.rules.storers.expectedSize) : null;
      if (key !== null && cache!.has(key)) continue;
      const v = verifyChunkCommitment(c, {
        lookupStorer: (id) => registry.lookup(id),
        totalWeight: registry.totalWeight,
        expectedSize: this.rules.storers.expectedSize,
        seed,
        seedRound: BigInt(seedRound),
        newChunksHash: setHash,
        chunkLengths: lengths,
        ...(this.genesis.params.porep ? { porep: this.genesis.params.porep } : {}),
      });
      if (!v.ok) return `chunk commitment ${i} (storer ${who.slice(0, 16)}): ${v.reason}`;
      if (key !== null) cache!.add(key);
    }
    return null;
  }

  /** The proposer's filter: the offered commitments that pass checkChunkCommitments, one per storer, by storer id. */
  private async acceptChunkCommitments(round: number, setHash: Uint8Array, chunks: readonly BlockChunk[], offered: readonly StorageCommitment[]): Promise<StorageCommitment[]> {
    const lengths = chunks.map((c) => c.data.length);
    const byStorer = new Map<string, StorageCommitment>();
    for (const c of offered) {
      const k = hex(c.storerId);
      if (byStorer.has(k)) continue;
      if ((await this.checkChunkCommitments(round, setHash, lengths, [c])) === null) byStorer.set(k, c);
    }
    return [...byStorer.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  }

  /** A finalized block with its certificate (proto form), or null. */
  async certifiedBlock(round: number): Promise<{ block: PbBlock; certificate: PbCertificate | undefined } | null> {
    return this.chain.get(round);
  }

  /** The header and certificate of a finalized round (kept in memory for recent rounds), or null. */
  async certifiedHeader(round: number): Promise<{ header: BlockHeader; certificate: PbCertificate | undefined } | null> {
    return this.chain.certifiedHeader(round);
  }

  /**
   * The block's own chunks (block-data.ts): tx chunks, then the state objects it put in place. A
   * function of the transactions (tx_root fixes their encodings) and the two roots, so it is cached by
   * them: a block re-proposed in a later period with a new timestamp has the same chunks.
   */
  async chunksOf(txs: readonly SignedTransaction[], parentRoot: Uint8Array, root: Uint8Array): Promise<BlockChunk[]> {
    const key = hex(parentRoot) + hex(root) + hex(txRootOf(txs));
    const hit = this.chunkCache.get(key);
    if (hit) return hit;
    const state = await stateChunks((hash) => this.tree.getObject(hash), parentRoot, root);
    const chunks = blockChunks(txChunks(txs, this.rules.defaultChunkSize), state);
    this.chunkCache.set(key, chunks);
    if (this.chunkCache.size > 8) this.chunkCache.delete(this.chunkCache.keys().next().value!);
    return chunks;
  }

  /** The round this node started from a checkpoint (it holds no block bodies up to it), or null. */
  checkpointRound(): number | null {
    return this.startedFrom;
  }

  private trimExecuted(): void {
    while (this.executed.size > 64) this.executed.delete(this.executed.keys().next().value!);
  }
}

function execKey(parentRoot: Uint8Array, body: Uint8Array): string {
  return hex(parentRoot) + hex(sha256(body));
}

/** Exact encoded size: limits must come out the same on every node. */
function encodedSize(stx: SignedTransaction): number {
  return SignedTransaction.encode(stx).finish().length;
}

function sameIds(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => eq(x, b[i]!));
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
