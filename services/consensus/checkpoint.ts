// Starting from a recent certified block instead of genesis (the design note: "nodes need only keep
// track of the most recent certified finalized blocks"; docs/consensus.md "Block storage"). A
// checkpoint is a block header with its certificate and the headers before it, newest first. Nothing
// in it is trusted: the ancestors must hash-link down from the header, and the certificate must carry
// a cert-vote quorum of the genesis committee for exactly this header, checked with the parent's seed
// (cert-vote credentials are drawn from the previous round's seed). The state under the header's
// state_root is then read from storers object by object, each checked by its hash (remote-state.ts).
import type { BlockHeader, Certificate as PbCertificate } from '../../gen/wolk/common/v1/chain.js';
import type { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { unaryCall } from '../../lib/grpc/client.js';
import { bytesEqual } from './agreement/codec.js';
import type { AgreementParams } from './agreement/params.js';
import type { AgreementCrypto, Block, VoterId } from './agreement/types.js';
import { verifyCertificate } from './agreement/votes.js';
import { blockFromHeader, certificateFromProto } from './wire.js';

export interface Checkpoint {
  /** The certified block's header (round ≥ 1). */
  readonly header: BlockHeader;
  readonly certificate: PbCertificate;
  /** Headers before it, newest first: at least its parent, at most the ledger's seed window. */
  readonly ancestors: readonly BlockHeader[];
}

/** A checkpoint whose links and certificate were checked (only verifyCheckpoint makes one). */
export interface VerifiedCheckpoint extends Checkpoint {
  readonly round: number;
  readonly block: Block;
  readonly verified: true;
}

export interface CheckpointContext {
  readonly crypto: AgreementCrypto;
  readonly params: AgreementParams;
  /** The committee's stake by voter (the genesis committee: ledger.committee()). */
  readonly committee: ReadonlyMap<VoterId, bigint>;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export function verifyCheckpoint(cp: Checkpoint, ctx: CheckpointContext): VerifiedCheckpoint {
  let block: Block;
  try {
    block = blockFromHeader(ctx.crypto, cp.header);
  } catch (err) {
    throw new CheckpointError(`checkpoint header: ${(err as Error).message}`);
  }
  if (block.round < 1) throw new CheckpointError('a checkpoint starts after genesis (round ≥ 1)');
  if (cp.ancestors.length === 0) throw new CheckpointError('a checkpoint needs at least the parent header (its seed checks the certificate)');
  let child = block;
  const ancestors: Block[] = [];
  for (const h of cp.ancestors) {
    let a: Block;
    try {
      a = blockFromHeader(ctx.crypto, h);
    } catch (err) {
      throw new CheckpointError(`checkpoint ancestor: ${(err as Error).message}`);
    }
    if (a.round !== child.round - 1 || !bytesEqual(a.hash, child.prevHash)) throw new CheckpointError(`checkpoint ancestor of round ${h.round} does not link to round ${child.round}`);
    ancestors.push(a);
    child = a;
  }
  let cert;
  try {
    cert = certificateFromProto(cp.certificate);
  } catch (err) {
    throw new CheckpointError(`checkpoint certificate: ${(err as Error).message}`);
  }
  if (cert.round !== block.round || !bytesEqual(cert.value, block.hash)) throw new CheckpointError(`the certificate (round ${cert.round}) is not for this block`);
  let total = 0n;
  for (const s of ctx.committee.values()) total += s;
  const ok = verifyCertificate(cert, { crypto: ctx.crypto, params: ctx.params, seed: ancestors[0]!.seed, totalStake: total, stakeOf: (v) => ctx.committee.get(v) ?? 0n });
  if (!ok.ok) throw new CheckpointError(`the certificate of round ${block.round} does not verify: ${ok.reason}`);
  return { header: cp.header, certificate: cp.certificate, ancestors: cp.ancestors, round: block.round, block, verified: true };
}

/**
 * The latest certified block of a consensus peer and up to `depth` headers before it (the peer is not
 * trusted: pass the result to verifyCheckpoint).
 */
export async function fetchCheckpoint(client: ConsensusServiceClient, depth: number, timeoutMs = 10_000): Promise<Checkpoint> {
  const st = await unaryCall(client.getStatus.bind(client), {}, { timeoutMs });
  const round = Number(st.finalizedRound);
  if (round < 1) throw new CheckpointError('the peer has no block after genesis yet');
  const get = (r: number) => unaryCall(client.getBlock.bind(client), { selector: { $case: 'round', value: BigInt(r) } }, { timeoutMs });
  const top = (await get(round)).block;
  if (!top?.block?.header || !top.certificate) throw new CheckpointError(`the peer's block ${round} has no header or certificate`);
  const ancestors: BlockHeader[] = [];
  for (let r = round - 1; r >= 0 && r >= round - depth; r--) {
    const h = (await get(r)).block?.block?.header;
    if (!h) throw new CheckpointError(`the peer's block ${r} has no header`);
    ancestors.push(h);
  }
  return { header: top.block.header, certificate: top.certificate, ancestors };
}
