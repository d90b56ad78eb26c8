// Asking a storer for a seal proof of one commitment and judging the answer (issue #15, docs/porep.md
// "A wrong sealer is kept off the chain"): a fresh random challenge drawn here (the storer could not
// know it when it committed), ProveSeal through the caller's `proveSeal` (its I/O), the answer checked
// with lib/chain/sealed.ts against the commitment's sealed replica and the filehash (or, for a block's
// chunk set, its chunk ids). An answer that does not verify is a verdict (`refused`); no answer is an
// outage. Used by the consensus verifiers' cert-step storage check (services/consensus/storage-check.ts,
// full and spot checks, chunk sets too) and, as `spotCheckSeal`, by gateways (uploads) and the repairer
// (repairs) before a commitment goes into a transaction: an honest submitter then takes another storer
// instead of sending a transaction that verifiers would leave out. Randomness and the clock are injectable.
import { randomBytes } from 'node:crypto';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { ProveSealRequest, ProveSealResponse } from '../../gen/wolk/storer/v1/storer.js';
import { SEAL_SPOT_CHALLENGES, sealProofWireBytes, verifyChunkSetSealAnswer, verifySealAnswer, type PorepNetworkParams } from './sealed.js';

export type SealCheck =
  | { readonly ok: true; readonly proofBytes: number; readonly answerMs: number; readonly verifyMs: number }
  /** `refused`: the storer answered with a proof that does not verify (a verdict); else it did not answer. */
  | { readonly ok: false; readonly refused: boolean; readonly reason: string };

export interface SealCheckOptions {
  /** Challenges asked (the network's `sealChallenges` for a full check, SEAL_SPOT_CHALLENGES for a spot check). */
  readonly k: number;
  /** The block's chunk ids when `c` is a commitment to a block's chunk set. */
  readonly chunkIds?: readonly Uint8Array[];
  readonly random?: (n: number) => Uint8Array;
  /** Milliseconds, for the answer and verification times reported. */
  readonly now?: () => number;
}

/** The text of a failed call: a gRPC error's details when it has them (lib/grpc RpcError), else its message. */
function failureText(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  return typeof e.details === 'string' && e.details !== '' ? e.details : String(e.message ?? err);
}

export async function askSealProof(c: StorageCommitment, porep: PorepNetworkParams, proveSeal: (req: ProveSealRequest) => Promise<ProveSealResponse>, o: SealCheckOptions): Promise<SealCheck> {
  const now = o.now ?? (() => performance.now());
  const challenge = Buffer.from((o.random ?? randomBytes)(32));
  const started = now();
  let answer: ProveSealResponse;
  try {
    answer = await proveSeal({ filehash: Buffer.from(c.filehash), challenge, k: o.k });
  } catch (err) {
    return { ok: false, refused: false, reason: `ProveSeal: ${failureText(err)}` };
  }
  const answered = now();
  const v = o.chunkIds ? verifyChunkSetSealAnswer(c, porep, o.chunkIds, challenge, o.k, answer) : verifySealAnswer(c, porep, challenge, o.k, answer);
  if (!v.ok) return { ok: false, refused: true, reason: `seal proof refused: ${v.reason}` };
  return { ok: true, proofBytes: answer.proof ? sealProofWireBytes(answer.proof) : 0, answerMs: answered - started, verifyMs: now() - answered };
}

export type SpotCheck = { readonly ok: true } | Extract<SealCheck, { ok: false }>;

/**
 * A spot check (SEAL_SPOT_CHALLENGES challenges, at most the network's count) of a file commitment or,
 * with `chunkIds` (its block's), of a commitment to a block's chunk set (a chunk-set Repair's offer).
 */
export async function spotCheckSeal(
  c: StorageCommitment,
  porep: PorepNetworkParams,
  proveSeal: (req: ProveSealRequest) => Promise<ProveSealResponse>,
  random: (n: number) => Uint8Array = randomBytes,
  chunkIds?: readonly Uint8Array[],
): Promise<SpotCheck> {
  const r = await askSealProof(c, porep, proveSeal, { k: Math.min(porep.sealChallenges, SEAL_SPOT_CHALLENGES), random, ...(chunkIds ? { chunkIds } : {}) });
  return r.ok ? { ok: true } : r;
}
