// Checks of one StorageCommitment inside a SetKey (DESIGN §3, §4 step 4–6): the storer's signature,
// its VRF proof over sortitionAlpha(Storer, seed, filehash) and the sortition weight, and that the
// commitment is for the transaction's file. Registration of the storer and the freshness of the
// seed are checked by the caller against state (transactions.ts).
//
// lib/chain/commitment.ts (the storer engineer's `verifyStorageCommitment`) is meant to hold this
// check for every service; it did not exist when this was written, so the VRF/sortition part is
// done here directly with lib/crypto. Swap to it once it lands (same rules).
import { SignDomain, SortitionDomain, sortitionAlpha, verifySignature, verifySortition } from '../../../lib/crypto/index.js';
import { StorageCommitment, type FileInfo } from '../../../gen/wolk/common/v1/storage.js';

export interface StorerSortition {
  /** Expected number of storers selected per file (genesis params.storerCommitteeSize). */
  readonly expectedSize: number;
  /** Total storer stake sortition weighs against. */
  readonly totalStake: bigint;
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Null when the commitment holds for `file` with the storer's registered stake; else why not. */
export function checkCommitment(c: StorageCommitment, file: FileInfo, stake: bigint, s: StorerSortition): string | null {
  if (c.storerId.length !== 32) return 'storer_id must be 32 bytes';
  if (c.vrfPublicKey.length !== 32) return 'vrf_public_key must be 32 bytes';
  if (c.replicaRoot.length !== 32) return 'replica_root must be 32 bytes';
  if (c.seed.length !== 32) return 'seed must be 32 bytes';
  if (!eq(c.filehash, file.filehash)) return 'commitment is for another filehash';
  if (c.size !== file.size) return `commitment size ${c.size} differs from the file's ${file.size}`;
  if (c.chunkSize !== file.chunkSize) return `commitment chunk_size ${c.chunkSize} differs from the file's ${file.chunkSize}`;
  if (!c.vrf || c.vrf.proof.length !== 80) return 'vrf proof must be 80 bytes';
  const unsigned = StorageCommitment.encode({ ...c, signature: Buffer.alloc(0) }).finish();
  if (!verifySignature(SignDomain.Commitment, c.storerId, unsigned, c.signature)) return 'bad storer signature';
  if (stake <= 0n || stake > s.totalStake) return 'storer has no stake in the storer registry';
  const alpha = sortitionAlpha(SortitionDomain.Storer, c.seed, c.filehash);
  let weight: number;
  try {
    weight = verifySortition(c.vrfPublicKey, alpha, c.vrf.proof, stake, s.totalStake, Math.min(s.expectedSize, Number(s.totalStake)));
  } catch {
    return 'sortition could not be evaluated';
  }
  if (weight === 0) return 'storer was not selected by sortition (bad VRF proof or above the threshold)';
  if (weight !== c.weight) return `claimed weight ${c.weight}, sortition gives ${weight}`;
  return null;
}
