// The storer's file-backed layer store (services/storer/porep/layer-files.ts): the scattered reads of a
// seal proof (readNodes, native/porep's pread loop or node-by-node reads without it) give the bytes
// positional reads give, in the order asked; nodes outside the sector or past a truncated layer file
// are refused with the layer named, never answered with zeros.
import test from 'ava';
import { mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLayerStore, NODE_SIZE, readColumn, readColumns } from '../../../lib/porep/index.js';
import { nativePorepAvailable, setNativePorep } from '../../../lib/porep/native.js';
import { FileLayerStore, layerPath } from '../../../services/storer/porep/layer-files.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/storer/layer-files.test.ts');
logSeedOnFailure(test);

const NODES = 4096;
const LAYERS = 3;

function storeWithLayers(): { store: FileLayerStore; dir: string; layers: Uint8Array[] } {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-layers-'));
  const store = new FileLayerStore(dir, NODES);
  const layers = Array.from({ length: LAYERS }, () => seeded.bytes(NODES * NODE_SIZE));
  layers.forEach((labels, l) => store.put(l + 1, labels));
  return { store, dir, layers };
}

const paths = [
  { name: 'native pread loop', native: true },
  { name: 'node-by-node reads (no addon)', native: false },
];

for (const path of paths) {
  test.serial(`readNodes (${path.name}) gives each asked node's bytes in the order asked, duplicates included`, (t) => {
    if (path.native && !nativePorepAvailable) return t.fail('native/porep is not built (node scripts/build-native.mjs)');
    setNativePorep(path.native);
    t.teardown(() => setNativePorep(true));
    const { store, layers } = storeWithLayers();
    t.teardown(() => store.close());
    const indices = Uint32Array.from([NODES - 1, 0, ...Array.from({ length: 300 }, () => seeded.int(0, NODES - 1)), 7, 7]);
    for (let l = 1; l <= LAYERS; l++) {
      const got = store.readNodes(l, indices);
      t.is(got.length, indices.length * NODE_SIZE);
      indices.forEach((i, j) => {
        if (Buffer.compare(got.subarray(j * NODE_SIZE, (j + 1) * NODE_SIZE), layers[l - 1]!.subarray(i * NODE_SIZE, (i + 1) * NODE_SIZE)) !== 0) t.fail(`layer ${l}, node ${i} (position ${j}) differs`);
      });
    }
    t.is(store.readNodes(1, new Uint32Array(0)).length, 0, 'no nodes asked, no bytes');
  });

  test.serial(`readNodes (${path.name}) refuses a node outside the sector and a node past a truncated layer file`, (t) => {
    if (path.native && !nativePorepAvailable) return t.fail('native/porep is not built (node scripts/build-native.mjs)');
    setNativePorep(path.native);
    t.teardown(() => setNativePorep(true));
    const { store, dir } = storeWithLayers();
    t.teardown(() => store.close());
    t.throws(() => store.readNodes(1, Uint32Array.from([3, NODES])), { instanceOf: RangeError, message: /node 4096 outside a sector of 4096/ });
    truncateSync(layerPath(dir, 2), 100 * NODE_SIZE + 5);
    t.throws(() => store.readNodes(2, Uint32Array.from([1, 100])), { instanceOf: RangeError, message: /layer 2/ });
    t.is(store.readNodes(2, Uint32Array.from([99, 1])).length, 2 * NODE_SIZE, 'nodes before the cut are still read');
  });
}

test('readColumns gives readColumn\'s columns, with and without readNodes in the store', async (t) => {
  const { store } = storeWithLayers();
  t.teardown(() => store.close());
  const memory = new MemoryLayerStore();
  for (let l = 1; l <= LAYERS; l++) memory.put(l, store.read(l, 0, NODES));
  const plain = { put: () => undefined, read: (l: number, s: number, c: number) => memory.read(l, s, c) };
  const indices = Array.from({ length: 64 }, () => seeded.int(0, NODES - 1)).sort((a, b) => a - b);
  const expected = await Promise.all(indices.map((i) => readColumn(store, LAYERS, i)));
  for (const [name, s] of [['file store', store], ['memory store', memory], ['a store without readNodes', plain]] as const) {
    const got = await readColumns(s, LAYERS, indices);
    t.deepEqual(got.map((c) => Buffer.from(c).toString('hex')), expected.map((c) => Buffer.from(c).toString('hex')), name);
  }
});
