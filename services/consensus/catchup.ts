// Catch-up before joining agreement: a restarted or lagging node streams finalized blocks from a peer
// (StreamBlocks from its tip + 1), checks that each links to its tip, verifies each certificate
// itself (cert votes' VRF credentials, sortition weights and signatures against the committee, a
// quorum for exactly this block hash), re-executes the block and commits it. Nothing from the peer
// is trusted: a peer that sends a bad block or certificate is dropped and the next one is tried.
import type { StreamBlocksResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { serverStream, unaryCall } from '../../lib/grpc/client.js';
import { backoffDelay, sleep } from '../../lib/grpc/retry.js';
import type { Logger } from '../../lib/log/logger.js';
import { bytesEqual } from './agreement/codec.js';
import type { AgreementParams } from './agreement/params.js';
import type { AgreementCrypto } from './agreement/types.js';
import { verifyCertificate } from './agreement/votes.js';
import type { Ledger } from './ledger/ledger.js';
import type { Peers } from './peers.js';
import { blockFromHeader, certificateFromProto } from './wire.js';

export interface CatchupComponents {
  readonly ledger: Ledger;
  readonly peers: Peers;
  readonly crypto: AgreementCrypto;
  readonly params: AgreementParams;
  readonly logger: Logger;
  /** Jitter of the wait between passes, in [0, 1) (default Math.random; seeded in tests). */
  readonly random?: () => number;
}

/** Applies one certified block from a peer; throws with the reason when it does not verify. */
export async function applyCertified(c: CatchupComponents, msg: StreamBlocksResponse): Promise<void> {
  const cb = msg.block;
  if (!cb?.block) throw new Error('stream message without a block');
  const tip = c.ledger.tip();
  const block = blockFromHeader(c.crypto, cb.block.header);
  if (block.round !== tip.round + 1) throw new Error(`block ${block.round} does not follow our tip ${tip.round}`);
  if (!bytesEqual(block.prevHash, tip.hash)) throw new Error(`block ${block.round} does not link to our tip`);
  const cert = certificateFromProto(cb.certificate);
  if (cert.round !== block.round || !bytesEqual(cert.value, block.hash)) throw new Error(`certificate of round ${cert.round} is not for this block`);
  const ok = verifyCertificate(cert, {
    crypto: c.crypto,
    params: c.params,
    seed: tip.seed,
    totalStake: c.ledger.totalStake(block.round),
    stakeOf: (v) => c.ledger.stakeOf(v, block.round),
  });
  if (!ok.ok) throw new Error(`certificate of round ${block.round} does not verify: ${ok.reason}`);
  const payload = { txs: cb.block.txs, newChunks: cb.block.newChunks };
  const v = await c.ledger.validate(block, payload);
  if (!v.valid) throw new Error(`certified block ${block.round} does not execute: ${v.reason}`);
  await c.ledger.commit(block, cert, payload);
}

/**
 * Streams and applies blocks from peers until none has more; returns how many were applied. A block
 * that a peer sends but that does not apply (its state could not be read yet, e.g. a storer timed out
 * for a node started from a checkpoint) is retried on the next pass, with backoff (lib/grpc/retry.ts:
 * up to 500 ms doubling to 8 s, full jitter), up to `passes` passes; a peer that is merely unreachable
 * does not cause another pass.
 */
const PASS_BACKOFF = { baseMs: 500, maxMs: 8000 };

export async function catchUp(c: CatchupComponents, signal: AbortSignal, passes = 6): Promise<number> {
  let applied = 0;
  for (let pass = 0; pass < passes && !signal.aborted; pass++) {
    const got = await catchUpPass(c, signal);
    applied += got.applied;
    if (!got.applyFailed) break;
    if (pass + 1 < passes) {
      const waitMs = backoffDelay(pass, PASS_BACKOFF, c.random);
      c.logger.warn('catch-up: a block did not apply, trying again', { tip: c.ledger.tip().round, inMs: waitMs, pass: pass + 1 });
      await sleep(waitMs, signal);
    }
  }
  if (applied > 0) c.logger.info('caught up', { blocks: applied, tip: c.ledger.tip().round });
  return applied;
}

async function catchUpPass(c: CatchupComponents, signal: AbortSignal): Promise<{ applied: number; applyFailed: boolean }> {
  let applied = 0;
  let applyFailed = false;
  for (const endpoint of c.peers.endpoints()) {
    if (signal.aborted) break;
    const from = c.ledger.tip().round + 1;
    const client = c.peers.client(endpoint);
    const blocks = serverStream(client.streamBlocks.bind(client), { fromRound: BigInt(from), follow: false }, { endpoint, timeoutMs: 120_000, signal });
    let applying = false;
    try {
      for await (const msg of blocks) {
        applying = true;
        await applyCertified(c, msg);
        applying = false;
        applied++;
      }
    } catch (err) {
      if (applying) applyFailed = true;
      c.logger.warn('catch-up from peer stopped', { peer: endpoint, error: (err as Error).message, tip: c.ledger.tip().round });
    }
  }
  // A later peer may have applied what an earlier one could not: only a failure at the end counts.
  if (applyFailed && applied > 0) {
    const last = c.ledger.tip().round;
    applyFailed = await anyPeerAhead(c, last);
  }
  return { applied, applyFailed };
}

/** Whether some peer has a certified block after `round` (GetStatus). */
async function anyPeerAhead(c: CatchupComponents, round: number): Promise<boolean> {
  const answers = await Promise.all(
    c.peers.endpoints().map((endpoint) => {
      const client = c.peers.client(endpoint);
      return unaryCall(client.getStatus.bind(client), {}, { endpoint, timeoutMs: 3000 }).then(
        (res) => Number(res.finalizedRound),
        () => -1,
      );
    }),
  );
  return answers.some((r) => r > round);
}
