// Known-answer vectors, published in docs/porep.md so another implementation can check itself: fixed
// storer id, data and commitment seed → replica id, parents, labels, replica node and the commitments.
// Checked on both the native labelling loop and the JS fallback.
import test from 'ava';
import {
  GRAPH_KEY,
  MemoryLayerStore,
  commitReplica,
  fileDataSource,
  nativePorepAvailable,
  parentsOf,
  replicaIdOf,
  seal,
  sealChallenges,
  setNativePorep,
} from '../../../lib/porep/index.js';
import { nativePorep } from '../../../lib/porep/native.js';
import { prng } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// docs/porep.md "Known-answer vectors"
const KAT = {
  nodes: 313,
  graphKey: '8574acfa918aef29f3663f46ba94bef20e3111ebaa9866d3551a369c7a10d6d3',
  filehash: '11ea15a592f267743cc5e489693ee13578f4a30f07bf4870691745c95592bd09',
  replicaId: 'f7a772134c2fb2b78de325a77a5822e1e6420e577b85cce7acbf51a18d43c7a4',
  base200: [199, 174, 198, 172, 194, 198],
  expander200: [176, 278, 235, 143, 66, 85, 232, 19],
  labels: {
    '1,0': 'b82ac00bd520faf355d0c03c1add542d738a636f12fa7ca917150d3c3be1f010',
    '1,1': '2d046c908a1f4daf5d1b0bd40ddbdea790d41cb7282dc3c9a8ae8ee55a8c670c',
    '2,200': '0b03274f47e486580e77155c8c5cd91e1a7cba94ebebda28d4aa3f51912d650f',
    '3,312': 'f5fb052cdb113193673eaf18911abf38c813f6d6b3b93806bf8a48a3e14d8e43',
  } as Record<string, string>,
  r312: '363fc0ea1cd9f859acf262d65eca6eeac813f6d6b3b93806bf8a48a3e14d8e43',
  commC: '3d4d5680190e77475f2706746645416962e82263d4199bd59b336c2f2e913235',
  commRLast: '15a1afc7dd8aed09df42eea2dfd6e05cbb2321e10e0f7d27f9c6cb2f3c9aa3cd',
  commR: 'bb57e180763f18eb9703e2fba3ed653199292949bfc2237d860661839f08b138',
  sealChallenges: [17, 24, 62, 101],
};

test.serial('known-answer vectors: native and JS labelling', async (t) => {
  t.is(hex(GRAPH_KEY), KAT.graphKey);
  const storerId = Uint8Array.from({ length: 32 }, (_, i) => i);
  const commitSeed = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);
  const data = Uint8Array.from({ length: 10_000 }, (_, j) => j % 251);
  for (const native of [true, false]) {
    setNativePorep(native);
    const src = fileDataSource(data);
    t.is(hex(src.filehash), KAT.filehash);
    const replicaId = replicaIdOf(storerId, src.filehash, commitSeed);
    t.is(hex(replicaId), KAT.replicaId);
    const p = parentsOf(KAT.nodes, 2, 200);
    t.deepEqual(p.base, KAT.base200);
    t.deepEqual(p.expander, KAT.expander200);
    const store = new MemoryLayerStore();
    const s = await seal({ replicaId, data, layers: 3, store });
    t.is(s.nodes, KAT.nodes);
    for (const [key, want] of Object.entries(KAT.labels)) {
      const [l, i] = key.split(',').map(Number) as [number, number];
      t.is(hex(store.layer(l)!.subarray(i * 32, i * 32 + 32)), want, `label(${l}, ${i}) native=${native}`);
    }
    t.is(hex(s.replica.subarray(312 * 32)), KAT.r312);
    const c = await commitReplica(store, s.replica, 3);
    t.is(hex(c.commitment.commC), KAT.commC, `native=${native}`);
    t.is(hex(c.commitment.commRLast), KAT.commRLast);
    t.is(hex(c.commitment.commR), KAT.commR);
    t.deepEqual(sealChallenges(new Uint8Array(32), c.commitment.commR, KAT.nodes, 4), KAT.sealChallenges);
  }
  setNativePorep(true);
});

test('the C graph equals graph.ts at every sector size up to 2^30 nodes', (t) => {
  const native = nativePorep();
  if (!nativePorepAvailable || !native) {
    t.fail('native/porep is not built');
    return;
  }
  const seed = 1701;
  const r = prng(seed);
  for (const nodes of [1, 2, 9, 313, 65_536, 1_000_003, 2 ** 23, 2 ** 27 + 5, 2 ** 30]) {
    for (const i of new Set([0, 1, nodes - 1, r.int(nodes), r.int(nodes), Math.floor(nodes / 2)])) {
      if (i >= nodes) continue;
      const p = parentsOf(nodes, 2, i);
      t.deepEqual(native.parents(GRAPH_KEY, nodes, i), [...p.base, ...p.expander], `seed ${seed}: nodes ${nodes} node ${i}`);
    }
  }
});
