// The parent graph (lib/porep/graph.ts): base parents are earlier nodes with i − 1 first and spread over
// every scale; the expander is a permutation, so every node feeds exactly 8 edges into the next layer.
import test from 'ava';
import { BASE_DEGREE, EXPANDER_DEGREE, Expander, baseParents } from '../../../lib/porep/index.js';

test('base parents: none for node 0, then i−1 first and all earlier than i', (t) => {
  const out = new Uint32Array(BASE_DEGREE);
  t.is(baseParents(0, out), 0);
  t.is(baseParents(1, out), BASE_DEGREE);
  t.deepEqual([...out], [0, 0, 0, 0, 0, 0]);
  for (const i of [2, 3, 7, 100, 4095, 65_537, 1_000_003, 2 ** 30 - 1]) {
    t.is(baseParents(i, out), BASE_DEGREE);
    t.is(out[0], i - 1, `node ${i}`);
    for (const p of out) t.true(p < i, `node ${i}: parent ${p}`);
  }
});

test('base parents reach every scale (bucket sampling): near and far parents both occur', (t) => {
  const out = new Uint32Array(BASE_DEGREE);
  const i0 = 1 << 20;
  let near = 0;
  let far = 0;
  for (let i = i0; i < i0 + 2000; i++) {
    baseParents(i, out);
    for (let j = 1; j < BASE_DEGREE; j++) {
      const d = i - out[j]!;
      if (d <= 64) near++;
      if (d >= i / 4) far++;
    }
  }
  // 10,000 drawn parents over 21 buckets: each bucket gets ~1/21 of them
  t.true(near > 1000, `parents within 64 nodes: ${near} of 10000`);
  t.true(far > 200, `parents at least i/4 away: ${far} of 10000`);
});

test('the expander is a permutation of [0, 8n): every node of layer l−1 is a parent exactly 8 times', (t) => {
  for (const n of [1, 2, 3, 5, 17, 100, 1000, 4096, 5000]) {
    const e = new Expander(n);
    const hits = new Uint32Array(n);
    const out = new Uint32Array(EXPANDER_DEGREE);
    for (let i = 0; i < n; i++) {
      e.parents(i, out);
      for (const p of out) {
        t.true(p < n);
        hits[p]!++;
      }
    }
    t.true(hits.every((h) => h === EXPANDER_DEGREE), `n=${n}`);
  }
});
