// Checks a node has already made on a transaction, so that block assembly and every validation of a
// block on this node do not redo them (issue 17; go-algorand keeps such a verified-transaction cache).
// Only checks whose inputs are all fixed by what the key names are cached:
//   - the sender's signature and a SetKey's gateway co-signature: inputs are the transaction's own
//     bytes, named by its id (SHA-256 of the whole SignedTransaction, signatures included);
//   - a storage commitment's storer signature, VRF proof and sortition weight: inputs are the
//     commitment (inside the tx id), the file (inside the tx id), the seed of its seed round and the
//     storer registry of that round (fixed once the round is finalized, named by round and total weight).
//   - a storer's commitment to a block's chunk set (CommitChunks; ledger.ts checkChunkCommitments): inputs
//     are the commitment's bytes, the set hash, the chunks' lengths, the seed and seed round, and the
//     registry of that round (named as above).
// A check is recorded only once it has passed; a miss runs the check as before. Everything that
// depends on the current state (nonces, balances, ownership, that the storer is still registered, that
// the seed round is still recent) runs every time.
const DEFAULT_CAPACITY = 100_000;

/** A bounded set of passed checks, least recently used first out. */
export class VerifiedTxCache {
  private readonly passed = new Map<string, true>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity = DEFAULT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`verified-tx cache: capacity must be a positive integer, got ${capacity}`);
  }

  /** Whether `key`'s check has passed on this node (and marks it recently used). */
  has(key: string): boolean {
    if (!this.passed.delete(key)) {
      this.misses++;
      return false;
    }
    this.passed.set(key, true);
    this.hits++;
    return true;
  }

  /** Records that `key`'s check passed. */
  add(key: string): void {
    this.passed.delete(key);
    this.passed.set(key, true);
    if (this.passed.size > this.capacity) this.passed.delete(this.passed.keys().next().value!);
  }

  get size(): number {
    return this.passed.size;
  }
}

/** Key of a transaction's signatures (sender, and for a SetKey the gateway's co-signature). */
export const signaturesKey = (txIdHex: string): string => `sig/${txIdHex}`;

/** Key of commitment `index` of SetKey `txIdHex`, checked against the registry of `seedRound`. */
export const commitmentKey = (txIdHex: string, index: number, seedRound: bigint, totalWeight: bigint, expectedSize: number): string =>
  `commit/${txIdHex}/${index}/${seedRound}/${totalWeight}/${expectedSize}`;

/**
 * Key of a chunk-set commitment (hash of its encoding) checked for set `setHashHex` with chunk lengths
 * hashing to `lengthsHex`, seed `seedHex` of `seedRound`, against the registry of that round.
 */
export const chunkCommitmentKey = (commitmentHex: string, setHashHex: string, lengthsHex: string, seedHex: string, seedRound: bigint, totalWeight: bigint, expectedSize: number): string =>
  `chunkset/${commitmentHex}/${setHashHex}/${lengthsHex}/${seedHex}/${seedRound}/${totalWeight}/${expectedSize}`;
