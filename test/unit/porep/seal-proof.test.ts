// The proof of correct sealing: an honest proof verifies, every tampered opening is refused, and so is
// every wrong sealing committed consistently (wrong labels, wrong replica nodes, plain data, fewer layers,
// another storer's replica, other data).
import test from 'ava';
import {
  MemoryLayerStore,
  SEAL_EPSILON,
  SEAL_SOUNDNESS_BITS,
  challengesFor,
  commitReplica,
  replicaIdOf,
  seal,
  sealChallenges,
  verifySeal,
  type SealProof,
  type SealStatement,
} from '../../../lib/porep/index.js';
import { flip, labelInto, prng, proofOf, sealedFixture, type Fixture } from './helpers.js';

const SEED = new Uint8Array(32).fill(0x5e);

test('an honest seal proof verifies (file sectors, a padded sector, every node challenged)', async (t) => {
  for (const [seed, size, layers, nodes, k] of [
    [501, 100_000, 3, undefined, 40],
    [502, 5000, 2, undefined, 1000],
    [503, 3000, 4, 400, 400],
    [504, 20, 3, undefined, 5],
  ] as const) {
    const f = await sealedFixture(seed, size, layers, nodes);
    const { proof, statement } = await proofOf(f, SEED, k);
    t.deepEqual(verifySeal(statement, proof), { ok: true }, `seed ${seed}`);
  }
});

test('the default challenge count: a sealing with 10 % wrong nodes passes with probability <= 2^-40', (t) => {
  const k = challengesFor(SEAL_EPSILON, SEAL_SOUNDNESS_BITS);
  t.true((1 - SEAL_EPSILON) ** k <= 2 ** -SEAL_SOUNDNESS_BITS);
  t.true((1 - SEAL_EPSILON) ** (k - 1) > 2 ** -SEAL_SOUNDNESS_BITS, 'and no fewer would do');
  t.is(new Set(sealChallenges(SEED, new Uint8Array(32), 10_000, k)).size, k, 'k distinct nodes');
});

type Tamper = (p: SealProof) => SealProof;
const at = <T>(xs: readonly T[], j: number, v: T): T[] => xs.map((x, i) => (i === j ? v : x));

test('every tampered opening is refused', async (t) => {
  const f = await sealedFixture(511, 60_000, 3);
  const { proof, statement } = await proofOf(f, SEED, 20);
  t.true(verifySeal(statement, proof).ok);
  const challenged = new Set(sealChallenges(SEED, statement.commR, f.nodes, 20));
  const jChallenged = proof.columns.indices.findIndex((i) => challenged.has(i));
  const jParent = proof.columns.indices.findIndex((i) => !challenged.has(i));
  const cases: [string, Tamper, RegExp][] = [
    ['a wrong label in a challenged column', (p) => ({ ...p, columns: { ...p.columns, labels: at(p.columns.labels, jChallenged, flip(p.columns.labels[jChallenged]!, 40)) } }), /comm_c/],
    ['a wrong label in a parent column', (p) => ({ ...p, columns: { ...p.columns, labels: at(p.columns.labels, jParent, flip(p.columns.labels[jParent]!, 3)) } }), /comm_c/],
    ['another node’s column in place of a parent’s', (p) => ({ ...p, columns: { ...p.columns, labels: at(p.columns.labels, jParent, p.columns.labels[jChallenged]!) } }), /comm_c/],
    ['a column without its last layer', (p) => ({ ...p, columns: { ...p.columns, labels: at(p.columns.labels, 0, p.columns.labels[0]!.subarray(0, 64)) } }), /3 labels/],
    ['a column index moved', (p) => ({ ...p, columns: { ...p.columns, indices: at(p.columns.indices, 0, p.columns.indices[0]! + 1) } }), /not those of the challenged/],
    ['a wrong column path', (p) => ({ ...p, columns: { ...p.columns, proof: at(p.columns.proof, 0, flip(p.columns.proof[0]!)) } }), /comm_c/],
    ['a column path one hash short', (p) => ({ ...p, columns: { ...p.columns, proof: p.columns.proof.slice(1) } }), /comm_c/],
    ['a wrong replica node', (p) => ({ ...p, replicaNodes: { ...p.replicaNodes, nodes: at(p.replicaNodes.nodes, 0, flip(p.replicaNodes.nodes[0]!)) } }), /comm_r_last/],
    ['a wrong replica path', (p) => ({ ...p, replicaNodes: { ...p.replicaNodes, proof: at(p.replicaNodes.proof, 2, flip(p.replicaNodes.proof[2]!)) } }), /comm_r_last/],
    ['a replica node missing', (p) => ({ ...p, replicaNodes: { ...p.replicaNodes, nodes: p.replicaNodes.nodes.slice(1) } }), /one 32-byte replica node/],
    ['a wrong data chunk', (p) => ({ ...p, data: { ...p.data, chunks: at(p.data.chunks, 0, flip(p.data.chunks[0]!, 100)) } }), /data commitment/],
    ['a wrong data path', (p) => ({ ...p, data: { ...p.data, proof: at(p.data.proof, 0, flip(p.data.proof[0]!)) } }), /data commitment/],
    ['a data chunk index moved', (p) => ({ ...p, data: { ...p.data, chunkIndices: at(p.data.chunkIndices, 0, p.data.chunkIndices[0]! + 1) } }), /data chunks are not/],
    ['a wrong comm_c', (p) => ({ ...p, commC: flip(p.commC) }), /comm_r is not/],
    ['a wrong comm_r_last', (p) => ({ ...p, commRLast: flip(p.commRLast) }), /comm_r is not/],
    ['a malformed proof', (p) => ({ ...p, columns: { ...p.columns, labels: null as unknown as Uint8Array[] } }), /one column per opened index|malformed/],
  ];
  for (const [what, tamper, reason] of cases) {
    const v = verifySeal(statement, tamper(proof));
    t.false(v.ok, what);
    if (!v.ok) t.regex(v.reason, reason, what);
  }
  t.false(verifySeal({ ...statement, seed: flip(SEED) }, proof).ok, 'a proof for another challenge seed');
  t.false(verifySeal({ ...statement, commR: flip(statement.commR) }, proof).ok, 'a proof for another comm_r');
});

/** Commits and proves a sealing built by hand (a cheater's), for the statement of the honest fixture. */
async function cheatProof(f: Fixture, store: MemoryLayerStore, layers: number, replica: Uint8Array, k: number): Promise<{ proof: SealProof; statement: SealStatement }> {
  const committed = await commitReplica(store, replica, layers);
  const cheat: Fixture = { ...f, store, replica, committed, layers };
  const { proof, statement } = await proofOf(cheat, SEED, k);
  return { proof, statement: { ...statement, layers: f.layers } };
}

function layersOf(replicaId: Uint8Array, nodes: number, layers: number): MemoryLayerStore {
  return labelInto(new MemoryLayerStore(), replicaId, nodes, layers);
}

const xor = (d: Uint8Array, key: Uint8Array) => key.map((b, i) => b ^ (d[i] ?? 0));

test('wrong sealings committed consistently are refused', async (t) => {
  const seed = 521;
  const f = await sealedFixture(seed, 20_000, 3);
  const n = f.nodes;
  const all = n; // every node challenged: any single wrong node is caught
  const r = prng(seed + 1);

  // one wrong label in the middle layer (the layers above computed from the right one)
  {
    const store = layersOf(f.replicaId, n, 3);
    const j = r.int(n);
    store.layer(2)!.set(flip(store.layer(2)!.subarray(j * 32, j * 32 + 32)), j * 32);
    const { proof, statement } = await cheatProof(f, store, 3, f.replica, all);
    const v = verifySeal(statement, proof);
    t.false(v.ok, `seed ${seed}: wrong label(2, ${j})`);
    if (!v.ok) t.regex(v.reason, /does not follow from its parents/);
  }
  // 10 % wrong labels in the last layer, default challenge count: caught except with probability 2^-40
  {
    const store = layersOf(f.replicaId, n, 3);
    const top = store.layer(3)!;
    for (let j = 0; j < n; j++) if (r.next() < 0.1) top.set(flip(top.subarray(j * 32, j * 32 + 32)), j * 32);
    const replica = xor(f.data, top);
    const { proof, statement } = await cheatProof(f, store, 3, replica, challengesFor(SEAL_EPSILON, SEAL_SOUNDNESS_BITS));
    t.false(verifySeal(statement, proof).ok, `seed ${seed}: 10 % wrong labels`);
  }
  // one wrong replica node
  {
    const replica = f.replica.slice();
    const j = r.int(n);
    replica.set(flip(replica.subarray(j * 32, j * 32 + 32)), j * 32);
    const { proof, statement } = await cheatProof(f, f.store, 3, replica, all);
    const v = verifySeal(statement, proof);
    t.false(v.ok, `seed ${seed}: wrong r_${j}`);
    if (!v.ok) t.regex(v.reason, /is not data ⊕ label/);
  }
  // plain data committed instead of a replica (honest labels beside it)
  {
    const plain = new Uint8Array(n * 32);
    plain.set(f.data);
    const { proof, statement } = await cheatProof(f, f.store, 3, plain, 30);
    const v = verifySeal(statement, proof);
    t.false(v.ok, 'plain data');
    if (!v.ok) t.regex(v.reason, /is not data ⊕ label/);
  }
  // fewer layers: two layers sealed, as they are
  {
    const store = layersOf(f.replicaId, n, 2);
    const { proof, statement } = await cheatProof(f, store, 2, xor(f.data, store.layer(2)!), 30);
    const v = verifySeal(statement, proof);
    t.false(v.ok, 'two layers of three');
    if (!v.ok) t.regex(v.reason, /3 labels/);
  }
  // fewer layers passed off as three: layer 2 repeated as layer 3
  {
    const store = layersOf(f.replicaId, n, 2);
    store.put(3, store.layer(2)!.slice());
    const { proof, statement } = await cheatProof(f, store, 3, xor(f.data, store.layer(3)!), 30);
    const v = verifySeal(statement, proof);
    t.false(v.ok, 'layer 2 repeated as layer 3');
    if (!v.ok) t.regex(v.reason, /label\(3, \d+\) does not follow/);
  }
  // other data sealed, opened against the real filehash
  {
    const other = prng(seed + 2).bytes(f.data.length);
    const store = new MemoryLayerStore();
    const { replica } = await seal({ replicaId: f.replicaId, data: other, layers: 3, store });
    const { proof, statement } = await cheatProof(f, store, 3, replica, 30);
    t.false(verifySeal(statement, proof).ok, 'other data');
  }
});

test('a proof for another storer id, or another storer’s replica, is refused', async (t) => {
  const seed = 531;
  const f = await sealedFixture(seed, 30_000, 3);
  const { proof, statement } = await proofOf(f, SEED, 30);
  t.true(verifySeal(statement, proof).ok);
  const other = prng(seed + 1).bytes(32);
  // storer B presents storer A's replica and proof as its own
  const v = verifySeal({ ...statement, replicaId: replicaIdOf(other, f.filehash, f.commitSeed) }, proof);
  t.false(v.ok, `seed ${seed}`);
  if (!v.ok) t.regex(v.reason, /does not follow from its parents/);
  // the same storer under another commitment seed (a sealing reused for a new commitment)
  t.false(verifySeal({ ...statement, replicaId: replicaIdOf(f.storerId, f.filehash, flip(f.commitSeed)) }, proof).ok);
});
