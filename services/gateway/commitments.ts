// Checking a storer's StorageCommitment before it goes into a SetKey (DESIGN §4 step 4): signature by
// the storer (domain "wolk/commitment/v1" over the commitment with `signature` cleared), the file and
// seed it commits to are the ones asked for, and, when the registry knows the storer's VRF key and
// stake, that the VRF proof is valid and sortition gives the claimed weight.
//
// With a registry (the genesis), the check is lib/chain/commitment.ts verifyStorageCommitment, the
// rule consensus verifiers apply too; without one (no WOLK_GENESIS) only signature and fields.
import { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { SignDomain, verifySignature } from '../../lib/crypto/sign.js';
import { SortitionDomain, sortitionAlpha, verifySortition } from '../../lib/crypto/sortition.js';
import type { Registry, Weights } from './registry.js';
import { verifyStorageCommitment } from '../../lib/chain/commitment.js';
import { sealedWellFormed } from '../../lib/chain/sealed.js';

export interface Expected {
  readonly filehash: Uint8Array;
  readonly size: bigint;
  readonly chunkSize: number;
  readonly seed: Uint8Array;
  readonly seedRound: bigint;
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));


/** null when valid, else why not. */
export function commitmentProblem(c: StorageCommitment, e: Expected, registry: Registry, weights?: Weights): string | null {
  // A sealed replica (docs/porep.md) must be well formed; its seal proof is the consensus verifiers' check.
  const sealed = sealedWellFormed(c);
  if (!sealed.ok) return sealed.reason;
  if (registry.totalStake > 0n) {
    const v = verifyStorageCommitment(c, {
      lookupStorer: (id) => {
        const idHex = Buffer.from(id).toString('hex');
        if (weights) return weights.lookup(idHex);
        const known = registry.byId(idHex);
        return known?.vrfPublicKey && known.stake !== undefined ? { vrfPublicKey: known.vrfPublicKey, stake: known.stake } : undefined;
      },
      totalWeight: weights?.totalStake ?? registry.totalStake,
      expectedSize: registry.expectedStorers,
      seed: e.seed,
      filehash: e.filehash,
      seedRound: e.seedRound,
      size: e.size,
      chunkSize: e.chunkSize,
    });
    return v.ok ? null : v.reason;
  }
  if (c.storerId.length !== 32) return 'storer_id is not 32 bytes';
  if (!eq(c.filehash, e.filehash) || c.size !== e.size || c.chunkSize !== e.chunkSize) return 'commits to another file';
  if (!eq(c.seed, e.seed) || c.seedRound !== e.seedRound) return 'evaluated on another seed';
  if (c.weight < 1) return 'weight 0';
  if (c.replicaRoot.length !== 32) return 'replica_root is not 32 bytes';
  const unsigned = StorageCommitment.encode({ ...c, signature: Buffer.alloc(0) }).finish();
  if (!verifySignature(SignDomain.Commitment, c.storerId, unsigned, c.signature)) return 'bad signature';
  const known = registry.byId(Buffer.from(c.storerId).toString('hex'));
  if (known?.vrfPublicKey && known.stake !== undefined && registry.totalStake > 0n) {
    if (!eq(known.vrfPublicKey, c.vrfPublicKey)) return 'VRF key differs from the registry';
    const alpha = sortitionAlpha(SortitionDomain.Storer, e.seed, e.filehash);
    const weight = verifySortition(c.vrfPublicKey, alpha, c.vrf?.proof ?? new Uint8Array(0), known.stake, registry.totalStake, registry.expectedStorers);
    if (weight < 1) return 'VRF proof does not select this storer';
    if (weight !== c.weight) return `claims weight ${c.weight}, sortition gives ${weight}`;
  }
  return null;
}
