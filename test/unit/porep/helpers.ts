// Fixtures for the proof-of-replication tests: a file sealed end to end from a seeded PRNG (the seed is
// in every assertion message, so a failure can be replayed).
import { prng } from '../merkle/helpers.js';
import {
  MemoryLayerStore,
  NODE_SIZE,
  commitReplica,
  fileDataCommitment,
  fileDataSource,
  labelLayer,
  proveSeal,
  replicaIdOf,
  seal,
  type CommittedReplica,
  type LayerStore,
  type SealProof,
  type SealStatement,
} from '../../../lib/porep/index.js';

export { prng };

/** Labels every layer of a sector for `replicaId` into `store`, and returns it. */
export function labelInto<S extends LayerStore>(store: S, replicaId: Uint8Array, nodes: number, layers: number): S {
  let prev: Uint8Array | null = null;
  for (let l = 1; l <= layers; l++) {
    const cur = new Uint8Array(nodes * NODE_SIZE);
    labelLayer(replicaId, l, nodes, prev, cur);
    store.put(l, cur);
    prev = cur;
  }
  return store;
}
export { sha } from '../merkle/helpers.js';

export interface Fixture {
  readonly seed: number;
  readonly data: Uint8Array;
  readonly storerId: Uint8Array;
  readonly commitSeed: Uint8Array;
  readonly filehash: Uint8Array;
  readonly replicaId: Uint8Array;
  readonly layers: number;
  readonly nodes: number;
  readonly store: MemoryLayerStore;
  readonly replica: Uint8Array;
  readonly committed: CommittedReplica;
  readonly source: ReturnType<typeof fileDataSource>;
}

export async function sealedFixture(seed: number, size: number, layers: number, nodes?: number): Promise<Fixture> {
  const r = prng(seed);
  const data = r.bytes(size);
  const storerId = r.bytes(32);
  const commitSeed = r.bytes(32);
  const source = fileDataSource(data);
  const replicaId = replicaIdOf(storerId, source.filehash, commitSeed);
  const store = new MemoryLayerStore();
  const sealed = await seal(nodes === undefined ? { replicaId, data, layers, store } : { replicaId, data, layers, store, nodes });
  const committed = await commitReplica(store, sealed.replica, layers);
  return { seed, data, storerId, commitSeed, filehash: source.filehash, replicaId, layers, nodes: sealed.nodes, store, replica: sealed.replica, committed, source };
}

/** Seal proof of a fixture and the statement a verifier would check it against. */
export async function proofOf(f: Fixture, challengeSeed: Uint8Array, k: number): Promise<{ proof: SealProof; statement: SealStatement }> {
  const proof = await proveSeal(
    { layers: f.layers, store: f.store, replica: f.replica, treeC: f.committed.treeC, treeR: f.committed.treeR, commitment: f.committed.commitment, data: f.source },
    challengeSeed,
    k,
  );
  const statement: SealStatement = {
    replicaId: f.replicaId,
    commR: f.committed.commitment.commR,
    nodes: f.nodes,
    layers: f.layers,
    data: fileDataCommitment(f.filehash, f.data.length),
    seed: challengeSeed,
    challenges: k,
  };
  return { proof, statement };
}

export function flip(bytes: Uint8Array, at = 0): Uint8Array {
  const out = bytes.slice();
  out[at % out.length]! ^= 0x01;
  return out;
}
