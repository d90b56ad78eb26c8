// The replica id binds a sealing to one storer, one piece of data and one commitment seed (docs/porep.md):
//
//   replicaId = SHA-256("wolk/porep/replica-id/v1" ‖ storerId(32) ‖ dataId(32) ‖ commitSeed(32))
//
// dataId is the filehash of a file sealed as its own sector, or a sector id. Every label hashes the
// replica id, so N storer identities over one piece of data need N independent sealings.
import { assertBytes } from '../crypto/errors.js';
import { sha256One } from '../merkle/sha256.js';

export const REPLICA_ID_TAG = new TextEncoder().encode('wolk/porep/replica-id/v1');

export function replicaIdOf(storerId: Uint8Array, dataId: Uint8Array, commitSeed: Uint8Array): Uint8Array {
  assertBytes(storerId, 32, 'porep: storerId');
  assertBytes(dataId, 32, 'porep: dataId');
  assertBytes(commitSeed, 32, 'porep: commitSeed');
  const buf = new Uint8Array(REPLICA_ID_TAG.length + 96);
  buf.set(REPLICA_ID_TAG, 0);
  buf.set(storerId, REPLICA_ID_TAG.length);
  buf.set(dataId, REPLICA_ID_TAG.length + 32);
  buf.set(commitSeed, REPLICA_ID_TAG.length + 64);
  return sha256One(buf);
}
