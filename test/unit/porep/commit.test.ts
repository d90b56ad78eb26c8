// Commitments: comm_r binds comm_c and comm_r_last; the column commitment is the same whatever the
// window it is read in and however the store hands out its bytes (aligned views or odd offsets).
import test from 'ava';
import { MemoryLayerStore, columnHash, commROf, commRMatches, commitReplica, nodeLeaves, type LayerStore } from '../../../lib/porep/index.js';
import { rootOfLeaves } from '../../../lib/merkle/index.js';
import { flip, sha, sealedFixture } from './helpers.js';

test('comm_c and comm_r_last are the trees of the definition; comm_r binds both', async (t) => {
  const seed = 701;
  const f = await sealedFixture(seed, 9000, 3);
  const cols: Uint8Array[] = [];
  for (let i = 0; i < f.nodes; i++) {
    const col = new Uint8Array(96);
    for (let l = 1; l <= 3; l++) col.set(f.store.layer(l)!.subarray(i * 32, i * 32 + 32), (l - 1) * 32);
    cols.push(sha(new TextEncoder().encode('wolk/porep/column/v1'), col));
    t.deepEqual(columnHash(col), cols[i], `seed ${seed} column ${i}`);
  }
  const { commC, commRLast, commR } = f.committed.commitment;
  t.deepEqual(commC, rootOfLeaves(cols.map((c) => sha(Uint8Array.of(0), c))));
  t.deepEqual(commRLast, rootOfLeaves(nodeLeaves(f.replica)));
  t.deepEqual(commR, sha(new TextEncoder().encode('wolk/porep/comm-r/v1'), commC, commRLast));
  t.deepEqual(commROf(commC, commRLast), commR);
  t.true(commRMatches(commR, commC, commRLast));
  t.false(commRMatches(commR, flip(commC), commRLast));
  t.false(commRMatches(commR, commRLast, commC), 'the order matters');
});

test('the commitment does not depend on the read window or on how the store returns bytes', async (t) => {
  const f = await sealedFixture(702, 20_000, 4);
  const odd: LayerStore = {
    put: () => undefined,
    read: (l, start, count) => {
      const buf = new Uint8Array(count * 32 + 1);
      buf.set(f.store.read(l, start, count), 1);
      return buf.subarray(1); // byteOffset 1: not word-aligned
    },
  };
  for (const [store, window] of [[f.store, 7], [f.store, 1000], [odd, 1 << 16], [odd, 13]] as const) {
    const c = await commitReplica(store, f.replica, 4, window);
    t.deepEqual(c.commitment, f.committed.commitment, `window ${window}`);
  }
  t.true(new MemoryLayerStore().bytes === 0);
});
