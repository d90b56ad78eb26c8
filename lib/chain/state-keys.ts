// State keys of the sparse Merkle state tree and the names that may appear in them. The rules are
// written in proto/wolk/common/v1/state.proto (normative) with test vectors in docs/contracts.md
// "Derivation rules"; this module is their one implementation, imported by the client library, the
// gateway, the ledger, the indexer and the rewards service alike, so a key one side writes is the
// key the other side reads.
import { sha256, u64be } from '../crypto/hash.js';

const utf8 = new TextEncoder();

/** State key of wolk://OWNER[/COLLECTION[/KEY]]: SHA-256 of the path, UTF-8 (state.proto). */
export function pathStateKey(owner: string, collection?: string, key?: string): Uint8Array {
  let path = `wolk://${owner}`;
  if (collection !== undefined) path += `/${collection}`;
  if (key !== undefined) path += `/${key}`;
  return sha256(utf8.encode(path));
}

const ACCOUNT_DOMAIN = utf8.encode('wolk/account/v1');

/** State key of an account: SHA-256("wolk/account/v1" ‖ 0x00 ‖ P) (state.proto). */
export function accountStateKey(publicKey: Uint8Array): Uint8Array {
  return sha256(ACCOUNT_DOMAIN, Uint8Array.of(0), publicKey);
}

/** State key of the storer set (state.proto StorerSet): SHA-256("wolk/storer-set/v1"). */
export const STORER_SET_KEY: Uint8Array = sha256(utf8.encode('wolk/storer-set/v1'));

const REWARDED_DOMAIN = utf8.encode('wolk/reward/v1');

/**
 * State key marking an audited round as rewarded (so it is rewarded once across blocks):
 * SHA-256("wolk/reward/v1" ‖ 0x00 ‖ u64be(audited_round)) (state.proto).
 */
export function rewardedRoundKey(auditedRound: number | bigint): Uint8Array {
  return sha256(REWARDED_DOMAIN, Uint8Array.of(0), u64be(BigInt(auditedRound)));
}

const CHUNK_SET_DOMAIN = utf8.encode('wolk/chunk-set/v1');

/**
 * State key of the ChunkSetRecord of the block of `round` (a repaired block chunk set, docs/repair.md
 * §9): SHA-256("wolk/chunk-set/v1" ‖ 0x00 ‖ u64be(round)) (state.proto).
 */
export function chunkSetStateKey(round: number | bigint): Uint8Array {
  return sha256(CHUNK_SET_DOMAIN, Uint8Array.of(0), u64be(BigInt(round)));
}

/** An owner name (wolk://OWNER): 1 to 63 of [a-z0-9-], not starting or ending with '-' (tx.proto SetName). */
export const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A collection name (wolk://OWNER/COLLECTION): 1 to 63 of [a-z0-9._-] (tx.proto SetBucket). */
export const COLLECTION_RE = /^[a-z0-9._-]{1,63}$/;

/** A key (wolk://OWNER/COLLECTION/KEY): 1 to 1024 bytes of UTF-8 without NUL (tx.proto SetKey). */
export function isValidKey(key: string): boolean {
  const n = Buffer.byteLength(key);
  return n >= 1 && n <= 1024 && !key.includes('\0');
}
