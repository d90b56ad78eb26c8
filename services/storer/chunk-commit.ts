// CommitChunks: a block's own chunks (DESIGN §4 step 7). The storer self-selects exactly as for Solicit
// (selection.ts: the same registry, seed and seed_round rules), with the VRF over
// sortitionAlpha("wolk/sortition/storer/v1", seed, new_chunks_hash); new_chunks_hash is recomputed
// from the NewChunks in the request, never taken on trust. Not selected: the proof, nothing stored.
// Selected: the chunks sent along in `data` are stored (synced, SetShares' path), then every listed
// chunk id must be held; any missing → MissingChunks (the proposer pushes them and asks again), else a
// signed StorageCommitment (lib/chain/commitment.ts chunkSetReplicaRoot, chunkSetShape). On a sealed
// network (genesis params.porep) the set is first sealed into a labelled sector (porep/sealer.ts
// sealChunkSet) and the commitment carries that sealed replica, as a file's does.
//
// Two requesters (admission.ts kind chunkSet): a proposer, for its block on the parent's seed, and the
// rewards node's repairer (docs/repair.md §9), for an older block's set on a later seed (the latest
// finalized round's). Nothing here ties the seed to the block: NewChunks carries no round, and the only
// seed rule is selection.ts's (the registry of seed_round, read against that round's header, with the
// request's total stake and τ when it gives them), so a repair's seed passes exactly as a proposer's.
// Which seed rounds count for which block is the ledger's rule (block r: r − 1; a Repair: at or after
// the set's last write), applied when the commitment is used.
import { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { CommitChunksRequest, CommitChunksResponse } from '../../gen/wolk/storer/v1/storer.js';
import { chunkSetReplicaRoot, chunkSetShape, commitChunksMessage, signStorageCommitment, storerAlpha } from '../../lib/chain/commitment.js';
import { sha256 } from '../../lib/crypto/hash.js';
import { SignDomain } from '../../lib/crypto/sign.js';
import { proveSortition } from '../../lib/crypto/sortition.js';
import { invalidArgument } from '../../lib/grpc/errors.js';
import type { Admission } from './admission.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { hex } from './layout.js';
import type { Selection } from './selection.js';
import { MAX_CHUNKS_PER_CALL, type ShareStore } from './shares.js';
import type { Sealer } from './porep/sealer.js';

/** Most chunk ids one set may list (a block of 200 SetNames makes ≈ 2,400). */
export const MAX_SET_CHUNKS = 200_000;

export interface ChunkCommitterDeps {
  /** Who may ask (admission.ts kind chunkSet): a consensus node or the rewards node, within its byte budget. */
  readonly admission: Admission;
  readonly shares: ShareStore;
  readonly key: NodeKey;
  readonly selection: Selection;
  readonly logger?: Logger;
  /** On a sealed network: seals each committed set before the commitment is signed. */
  readonly sealer?: Pick<Sealer, 'sealChunkSet'> | null;
  /** Fault switch drop-after-commit: delete the set's chunks right after answering (a lazy storer). */
  readonly dropAfterCommit?: boolean;
}

/** Sortition draws kept (one per chunk set and seed; a block's set is asked for by every proposer). */
const DRAWS_KEPT = 256;

export class ChunkCommitter {
  selected = 0;
  notSelected = 0;
  /**
   * This storer's sortition draws by their inputs. Every proposer of a round, and every period, asks for
   * the same chunk set; the VRF proof is a function of the key and alpha (RFC 9381 proofs are
   * deterministic) and the weight of the stake figures, so it is computed once (issue 17: the VRF prove
   * here was the storers' largest CPU cost under load).
   */
  private readonly draws = new Map<string, ReturnType<typeof proveSortition>>();

  constructor(private readonly deps: ChunkCommitterDeps) {}

  private draw(alpha: Uint8Array, p: { stake: bigint; totalWeight: bigint; expectedSize: number }): ReturnType<typeof proveSortition> {
    const k = `${hex(alpha)}/${p.stake}/${p.totalWeight}/${p.expectedSize}`;
    const hit = this.draws.get(k);
    if (hit) return hit;
    const d = proveSortition(this.deps.key.vrfSecretKey, alpha, p.stake, p.totalWeight, p.expectedSize);
    this.draws.set(k, d);
    if (this.draws.size > DRAWS_KEPT) this.draws.delete(this.draws.keys().next().value!);
    return d;
  }

  async commit(req: CommitChunksRequest, signal: AbortSignal = new AbortController().signal): Promise<CommitChunksResponse> {
    const nc = req.newChunks;
    if (!nc) throw invalidArgument('new_chunks is required');
    if (nc.chunkCommitments.length > 0) throw invalidArgument('new_chunks.chunk_commitments must be empty (they are not part of new_chunks_hash)');
    if (nc.chunkIds.length > MAX_SET_CHUNKS) throw invalidArgument(`${nc.chunkIds.length} chunk ids: at most ${MAX_SET_CHUNKS}`);
    nc.chunkIds.forEach((id, i) => {
      if (id.length !== 32) throw invalidArgument(`new_chunks.chunk_ids[${i}]: expected 32 bytes, got ${id.length}`);
    });
    if (req.seed.length !== 32) throw invalidArgument(`seed: expected 32 bytes, got ${req.seed.length}`);
    const writer = await this.deps.admission.admit({
      kind: 'chunkSet',
      rpc: 'CommitChunks',
      requesterId: req.requesterId,
      signature: req.signature,
      domain: SignDomain.ChunkCommitRequest,
      message: () => commitChunksMessage(req),
    });
    const listed = new Set(nc.chunkIds.map((id) => hex(id)));
    const sent = req.data.map((d, i) => {
      const k = hex(sha256(d));
      if (!listed.has(k)) throw invalidArgument(`data[${i}] is not a chunk of the set (its SHA-256 ${k} is not in chunk_ids)`);
      return d;
    });
    const params = await this.deps.selection.paramsFor({ totalStake: req.totalStake, expectedStorers: req.expectedStorers, seedRound: req.seedRound, seed: req.seed });
    const { key } = this.deps;
    const setHash = sha256(NewChunks.encode(nc).finish());
    const draw = this.draw(storerAlpha(req.seed, setHash), params);
    const vrf = { proof: Buffer.from(draw.proof), output: Buffer.from(draw.beta) };
    if (draw.j === 0) {
      this.notSelected++;
      return { result: { $case: 'notSelected', value: { storerId: Buffer.from(key.signPublicKey), vrfPublicKey: Buffer.from(key.vrfPublicKey), vrf } } };
    }
    this.deps.admission.charge(writer, sent.reduce((n, d) => n + d.length, 0), 'CommitChunks');
    for (let i = 0; i < sent.length; i += MAX_CHUNKS_PER_CALL) await this.deps.shares.putMany(sent.slice(i, i + MAX_CHUNKS_PER_CALL));
    const lengths = await this.deps.shares.lengths(nc.chunkIds);
    const missing = nc.chunkIds.filter((_, i) => lengths[i] === null);
    if (missing.length > 0) return { result: { $case: 'missing', value: { chunkIds: missing.map((id) => Buffer.from(id)) } } };
    const shape = chunkSetShape(lengths as number[]);
    // An empty set (a block without new chunks) holds nothing to replicate: its commitment is unsealed.
    const sealed = this.deps.sealer && nc.chunkIds.length > 0 ? await this.deps.sealer.sealChunkSet(setHash, nc.chunkIds, shape.chunkSize, signal) : undefined;
    const commitment = signStorageCommitment(
      {
        storerId: Buffer.from(key.signPublicKey),
        vrfPublicKey: Buffer.from(key.vrfPublicKey),
        vrf,
        weight: draw.j,
        replicaRoot: Buffer.from(chunkSetReplicaRoot(key.signPublicKey, setHash)),
        filehash: Buffer.from(setHash),
        size: shape.size,
        chunkSize: shape.chunkSize,
        seed: Buffer.from(req.seed),
        seedRound: req.seedRound,
        ...(sealed ? { sealed } : {}),
      },
      key.signSecretKey,
    );
    this.selected++;
    if (this.deps.dropAfterCommit) {
      const ids = nc.chunkIds;
      setImmediate(() => {
        this.deps.shares.drop(ids).then(
          (n) => this.deps.logger?.warn('fault drop-after-commit: dropped the chunks of a committed chunk set', { chunks: n }),
          (err: unknown) => this.deps.logger?.error('fault drop-after-commit failed', { error: err }),
        );
      });
    }
    return { result: { $case: 'selected', value: commitment } };
  }
}
