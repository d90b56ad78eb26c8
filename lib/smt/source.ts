// Where the tree's objects (nodes and values) come from. Every object is content-addressed (node.ts:
// id = SHA-256(encoding)), so the tree checks each object it loads against the hash it asked for and a
// source need not be trusted: a consensus node that misses nodes can ask storers or peers for them.
import { createHash } from 'node:crypto';
import { bucketKey, Bucket, type KvStore } from '../storage/kv.js';

export interface NodeSource {
  /** The encoding of the object with this hash, or null when this source does not have it. */
  getNode(hash: Uint8Array): Promise<Uint8Array | null>;
}

/** Key of an object in the store: Bucket.smtNode ‖ hash. */
export function smtNodeKey(hash: Uint8Array): Uint8Array {
  return bucketKey(Bucket.smtNode, hash);
}

/** Objects in a local KvStore (where SparseMerkleTree writes them). */
export function kvNodeSource(kv: KvStore): NodeSource {
  return { getNode: (hash) => kv.get(smtNodeKey(hash)) };
}

/**
 * Tries each source in turn (e.g. the local store, then peers). The tree verifies whatever comes back,
 * so a source that answers with wrong bytes makes the load fail loudly, not silently.
 */
export function fallbackNodeSource(...sources: NodeSource[]): NodeSource {
  return {
    async getNode(hash) {
      for (const s of sources) {
        const bytes = await s.getNode(hash);
        if (bytes !== null) return bytes;
      }
      return null;
    },
  };
}

/**
 * The local store first, then `remote`; an object fetched from `remote` is checked against its hash
 * and only then kept in the local store (not synced: it can always be fetched again), so each is fetched
 * once. A wrong answer is returned as-is for the tree to reject, never stored.
 */
export function writeThroughNodeSource(kv: KvStore, remote: NodeSource): NodeSource {
  return {
    async getNode(hash) {
      const local = await kv.get(smtNodeKey(hash));
      if (local !== null) return local;
      const bytes = await remote.getNode(hash);
      if (bytes === null) return null;
      const got = createHash('sha256').update(bytes).digest();
      if (got.equals(Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength))) await kv.put(smtNodeKey(hash), bytes);
      return bytes;
    },
  };
}
