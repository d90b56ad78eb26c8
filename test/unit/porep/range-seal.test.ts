// A file sealed into a node range of a pre-labelled sector (docs/porep.md "Sectors"): the honest range
// proof verifies; a replica over plain data, over fewer layers, over another storer's replica id, at
// another range, and a tampered proof are each refused with the reason checked.
import test from 'ava';
import {
  MemoryLayerStore,
  NODE_SIZE,
  commROf,
  commitColumns,
  fileDataCommitment,
  fileDataSource,
  nodesFor,
  proveSeal,
  replicaIdOf,
  replicaTree,
  verifySeal,
  xorNodes,
  type SealStatement,
} from '../../../lib/porep/index.js';
import { flip, labelInto, prng } from './helpers.js';

const SECTOR = 2048; // nodes: a 64 KiB sector
const CHALLENGE = new Uint8Array(32).fill(0x42);

async function labelSector(replicaId: Uint8Array, layers: number): Promise<MemoryLayerStore> {
  return labelInto(new MemoryLayerStore(), replicaId, SECTOR, layers);
}

async function fixture(seed: number, size: number, first: number, opts: { layers?: number; claimLayers?: number; plain?: boolean } = {}) {
  const r = prng(seed);
  const storerId = r.bytes(32);
  const sectorId = r.bytes(32);
  const sectorSeed = r.bytes(32);
  const data = r.bytes(size);
  const layers = opts.layers ?? 4;
  const replicaId = replicaIdOf(storerId, sectorId, sectorSeed);
  const store = await labelSector(replicaId, layers);
  const { commC, treeC } = await commitColumns(store, SECTOR, layers);
  const count = nodesFor(size);
  const key = store.read(layers, first, count);
  const replica = opts.plain ? xorNodes(data, new Uint8Array(count * NODE_SIZE)) : xorNodes(data, key);
  const treeR = replicaTree(replica);
  const commitment = { commC, commRLast: treeR.root(), commR: commROf(commC, treeR.root()) };
  const source = fileDataSource(data);
  const proof = await proveSeal({ layers, store, replica, sectorNodes: SECTOR, first, treeC, treeR, commitment, data: source }, CHALLENGE, 64);
  const statement: SealStatement = {
    replicaId,
    commR: commitment.commR,
    nodes: SECTOR,
    first,
    count,
    layers: opts.claimLayers ?? layers,
    data: fileDataCommitment(source.filehash, size),
    seed: CHALLENGE,
    challenges: 64,
  };
  return { seed, storerId, sectorId, sectorSeed, proof, statement };
}

test('a file in the middle of a sector: the range seal proof verifies (small, ragged and whole-sector ranges)', async (t) => {
  for (const [seed, size, first] of [
    [701, 4096, 300],
    [702, 20_000, 1000],
    [703, 33, 2046],
    [704, SECTOR * NODE_SIZE, 0],
  ] as const) {
    const f = await fixture(seed, size, first);
    t.deepEqual(verifySeal(f.statement, f.proof), { ok: true }, `seed ${seed}`);
  }
});

test('wrong sealers are refused: plain data, fewer layers, another storer, another range', async (t) => {
  const plain = await fixture(711, 20_000, 500, { plain: true });
  const v1 = verifySeal(plain.statement, plain.proof);
  t.false(v1.ok, 'seed 711');
  t.regex((v1 as { reason: string }).reason, /is not data ⊕ label/);

  const fewer = await fixture(712, 20_000, 500, { layers: 3, claimLayers: 4 });
  const v2 = verifySeal(fewer.statement, fewer.proof);
  t.false(v2.ok, 'seed 712');
  t.regex((v2 as { reason: string }).reason, /4 labels/);

  const honest = await fixture(713, 20_000, 500);
  const otherStorer = replicaIdOf(prng(9713).bytes(32), honest.sectorId, honest.sectorSeed);
  const v3 = verifySeal({ ...honest.statement, replicaId: otherStorer }, honest.proof);
  t.false(v3.ok, 'seed 713: another storer id');
  t.regex((v3 as { reason: string }).reason, /does not follow from its parents/);

  const v4 = verifySeal({ ...honest.statement, first: 501 }, honest.proof);
  t.false(v4.ok, 'seed 713: another first node');

  const v5 = verifySeal({ ...honest.statement, first: SECTOR - 10 }, honest.proof);
  t.false(v5.ok, 'a range past the sector end');
  t.regex((v5 as { reason: string }).reason, /not inside a sector/);
});

test('a tampered range proof is refused', async (t) => {
  const f = await fixture(721, 30_000, 700);
  const p = f.proof;
  const cases: [string, typeof p][] = [
    ['a replica node', { ...p, replicaNodes: { ...p.replicaNodes, nodes: [flip(p.replicaNodes.nodes[0]!), ...p.replicaNodes.nodes.slice(1)] } }],
    ['a column', { ...p, columns: { ...p.columns, labels: [flip(p.columns.labels[0]!, 5), ...p.columns.labels.slice(1)] } }],
    ['a data chunk', { ...p, data: { ...p.data, chunks: [flip(p.data.chunks[0]!, 9), ...p.data.chunks.slice(1)] } }],
    ['comm_r_last', { ...p, commRLast: flip(p.commRLast) }],
  ];
  for (const [what, bad] of cases) t.false(verifySeal(f.statement, bad).ok, `seed 721: ${what}`);
});
