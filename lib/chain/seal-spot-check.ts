// A spot check of a storer's seal proof before its commitment goes into a transaction (issue #15,
// docs/porep.md "A wrong sealer is kept off the chain"): gateways (uploads) and the repairer (repairs)
// ask each storer whose commitment they would submit for a seal proof on a challenge drawn here, after
// the commitment is signed, and keep the commitment only when the proof verifies. Consensus verifiers
// refuse a block with a wrong sealer's commitment anyway (services/consensus/storage-check.ts); this
// keeps an honest submitter from sending a transaction that would be left out, so the upload or repair
// takes another storer instead of failing. I/O is the caller's `proveSeal`; randomness is injectable.
import { randomBytes } from 'node:crypto';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { ProveSealRequest, ProveSealResponse } from '../../gen/wolk/storer/v1/storer.js';
import { SEAL_SPOT_CHALLENGES, verifySealAnswer, type PorepNetworkParams } from './sealed.js';

export type SpotCheck =
  | { readonly ok: true }
  /** `refused`: the storer answered with a proof that does not verify (a verdict); else it did not answer. */
  | { readonly ok: false; readonly refused: boolean; readonly reason: string };

export async function spotCheckSeal(
  c: StorageCommitment,
  porep: PorepNetworkParams,
  proveSeal: (req: ProveSealRequest) => Promise<ProveSealResponse>,
  random: (n: number) => Uint8Array = randomBytes,
): Promise<SpotCheck> {
  const k = Math.min(porep.sealChallenges, SEAL_SPOT_CHALLENGES);
  const challenge = Buffer.from(random(32));
  let answer: ProveSealResponse;
  try {
    answer = await proveSeal({ filehash: Buffer.from(c.filehash), challenge, k });
  } catch (err) {
    return { ok: false, refused: false, reason: `ProveSeal: ${(err as Error).message}` };
  }
  const v = verifySealAnswer(c, porep, challenge, k, answer);
  return v.ok ? { ok: true } : { ok: false, refused: true, reason: `seal proof refused: ${v.reason}` };
}
