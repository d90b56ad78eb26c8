// Catch-up before joining agreement: a restarted or lagging node streams finalized blocks from a peer
// (StreamBlocks from its tip + 1), checks that each links to its tip, verifies each certificate
// itself (cert votes' VRF credentials, sortition weights and signatures against the committee, a
// quorum for exactly this block hash), re-executes the block and commits it. Nothing from the peer
// is trusted: a peer that sends a bad block or certificate is dropped and the next one is tried.
import { Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import type { StreamBlocksResponse } from '../../gen/wolk/consensus/v1/consensus.js';
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
 * for a node started from a checkpoint) is retried on the next pass, with backoff, up to `passes`
 * passes; a peer that is merely unreachable does not cause another pass.
 */
export async function catchUp(c: CatchupComponents, signal: AbortSignal, passes = 6): Promise<number> {
  let applied = 0;
  for (let pass = 0; pass < passes && !signal.aborted; pass++) {
    const got = await catchUpPass(c, signal);
    applied += got.applied;
    if (!got.applyFailed) break;
    if (pass + 1 < passes) {
      const waitMs = Math.min(500 * 2 ** pass, 8000);
      c.logger.warn('catch-up: a block did not apply, trying again', { tip: c.ledger.tip().round, inMs: waitMs, pass: pass + 1 });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
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
    const stream: ClientReadableStream<StreamBlocksResponse> = c.peers.client(endpoint).streamBlocks({ fromRound: BigInt(from), follow: false }, new Metadata(), {
      deadline: Date.now() + 120_000,
    });
    const onAbort = () => stream.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    let applying = false;
    try {
      for await (const msg of stream as AsyncIterable<StreamBlocksResponse>) {
        applying = true;
        await applyCertified(c, msg);
        applying = false;
        applied++;
      }
    } catch (err) {
      if (applying) applyFailed = true;
      c.logger.warn('catch-up from peer stopped', { peer: endpoint, error: (err as Error).message, tip: c.ledger.tip().round });
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.cancel();
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
    c.peers.endpoints().map(
      (endpoint) =>
        new Promise<number>((resolve) =>
          c.peers.client(endpoint).getStatus({}, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) => resolve(err || !res ? -1 : Number(res.finalizedRound))),
        ),
    ),
  );
  return answers.some((r) => r > round);
}
