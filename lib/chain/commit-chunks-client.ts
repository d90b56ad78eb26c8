// The requester's side of CommitChunks (storer.proto; docs/consensus.md "Storers' commitments to the
// chunk set"): the signed request and the ask-until-committed exchange with one storer. Shared by the
// proposer (services/consensus/remote-state.ts: its block's set, on the parent's seed) and the repairer
// (services/rewards/repairer.ts, docs/repair.md §9: an older block's set, on the latest finalized seed),
// so both sign the same bytes and push missing chunks the same way. Nothing here checks the answer: the
// ledger (and the repairer before it submits) verifies every commitment with verifyChunkCommitment.
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { CommitChunksRequest, CommitChunksResponse } from '../../gen/wolk/storer/v1/storer.js';
import { SignDomain, sign } from '../crypto/sign.js';
import { commitChunksMessage } from './commitment.js';
import type { RequestSigner } from './write-request.js';

/** One CommitChunks call carries at most this many bytes / chunks in `data` (storer.proto allows 1024 chunks). */
export const COMMIT_BATCH_BYTES = 2 * 1024 * 1024;
export const COMMIT_BATCH_CHUNKS = 1024;
/** Calls to one storer for one set at most (each pushes a batch of what it said was missing). */
export const COMMIT_ATTEMPTS = 64;

/** What a CommitChunks asks for: the set (its NewChunks), the seed and, when known, the registry's figures (0: the storer's own view). */
export interface CommitChunksAsk {
  readonly newChunks: NewChunks;
  readonly seed: Uint8Array;
  readonly seedRound: number | bigint;
  readonly expectedStorers?: number;
  readonly totalStake?: bigint;
}

/**
 * The request without `data`, with `chunk_commitments` cleared (they are not part of new_chunks_hash),
 * signed by `signer` (domain wolk/chunk-commit-request/v1, lib/chain/commitment.ts commitChunksMessage);
 * unsigned without one (an open-admission storer only).
 */
export function commitChunksRequest(ask: CommitChunksAsk, signer?: RequestSigner): CommitChunksRequest {
  const req: CommitChunksRequest = {
    newChunks: { ...ask.newChunks, chunkCommitments: [] },
    seed: Buffer.from(ask.seed),
    seedRound: BigInt(ask.seedRound),
    expectedStorers: ask.expectedStorers ?? 0,
    totalStake: ask.totalStake ?? 0n,
    data: [],
    requesterId: Buffer.from(signer?.publicKey ?? new Uint8Array(0)),
    signature: Buffer.alloc(0),
  };
  if (signer) req.signature = Buffer.from(sign(SignDomain.ChunkCommitRequest, signer.secretKey, commitChunksMessage(req)));
  return req;
}

/**
 * Asks one storer to commit with `base` (commitChunksRequest): a selected storer that lacks chunks names
 * them, and is sent them in `data` (≤ COMMIT_BATCH_BYTES, COMMIT_BATCH_CHUNKS per call) until it holds
 * the set. The commitment, or null: not selected, asked for a chunk `chunkOf` does not have (not in the
 * set), an answer this code does not know, `keepGoing()` false before a call, or COMMIT_ATTEMPTS spent.
 * Call errors propagate.
 */
export async function askToCommit(
  call: (req: CommitChunksRequest) => Promise<CommitChunksResponse>,
  base: CommitChunksRequest,
  chunkOf: (idHex: string) => Uint8Array | undefined,
  keepGoing: () => boolean = () => true,
): Promise<StorageCommitment | null> {
  let data: Buffer[] = [];
  for (let attempt = 0; attempt < COMMIT_ATTEMPTS && keepGoing(); attempt++) {
    const r = (await call({ ...base, data })).result;
    if (r?.$case === 'selected') return r.value;
    if (r?.$case !== 'missing') return null;
    data = [];
    let bytes = 0;
    for (const id of r.value.chunkIds) {
      const chunk = chunkOf(Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'));
      if (!chunk) return null;
      if (data.length > 0 && (bytes + chunk.length > COMMIT_BATCH_BYTES || data.length >= COMMIT_BATCH_CHUNKS)) break;
      data.push(Buffer.from(chunk));
      bytes += chunk.length;
    }
  }
  return null;
}
