// The regeneration attack: recomputing one node from nothing but the replica id and the data gives the
// sealed label, and its cone is the prefix [0, i] of the top layer plus (nearly) every lower layer.
import test from 'ava';
import { NODE_SIZE, regenerateNode, regenerationCone, setNativePorep } from '../../../lib/porep/index.js';
import { prng, sealedFixture } from './helpers.js';

test.serial('regenerating a node gives the sealed label and replica node, on both labelling paths', async (t) => {
  const seed = 401;
  const f = await sealedFixture(seed, 64_000, 3);
  const r = prng(seed + 1);
  const top = f.store.layer(3)!;
  for (const native of [true, false]) {
    setNativePorep(native);
    for (const i of [0, 1, f.nodes - 1, r.int(f.nodes), r.int(f.nodes)]) {
      const g = regenerateNode(f.replicaId, f.nodes, 3, i);
      t.deepEqual(g.label, top.subarray(i * NODE_SIZE, (i + 1) * NODE_SIZE), `seed ${seed} node ${i} native=${native}`);
      const d = new Uint8Array(32);
      d.set(f.data.subarray(i * 32, Math.min(i * 32 + 32, f.data.length)));
      t.deepEqual(d.map((b, j) => b ^ g.label[j]!), f.replica.subarray(i * 32, i * 32 + 32), `seed ${seed} r_${i}`);
    }
  }
  setNativePorep(true);
});

test('the cone: the top layer up to i, below it almost whole layers; labels computed = the cone', (t) => {
  const nodes = 20_000;
  for (const i of [0, 10, 5000, nodes - 1]) {
    const cone = regenerationCone(nodes, 4, i);
    t.is(cone[3], i + 1);
    // the 8(i+1) expander edges of the prefix land uniformly: the largest is near the end of layer 3
    if (i >= 10) t.true(cone[2]! > nodes * (1 - 4 / (8 * (i + 1))), `node ${i}: cone ${cone.join(',')}`);
    t.true(cone[1]! >= cone[2]! && cone[0]! >= cone[1]!);
    const g = regenerateNode(new Uint8Array(32), nodes, 4, i, cone);
    t.is(g.labelsComputed, cone.reduce((a, b) => a + b, 0));
  }
  t.deepEqual(regenerationCone(nodes, 4, nodes - 1), [nodes, nodes, nodes, nodes]);
});
