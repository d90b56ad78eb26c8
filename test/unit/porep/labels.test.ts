// Labels: the native loop (native/porep) and the JS fallback give the same bytes on every layer, and
// both match the definition computed here independently with node:crypto.
import test from 'ava';
import { createHash } from 'node:crypto';
import { BASE_DEGREE, EXPANDER_DEGREE, Expander, baseParents, labelLayer, nativePorepAvailable, setNativePorep } from '../../../lib/porep/index.js';
import { prng } from './helpers.js';

test.serial('the native labelling addon is built (npm test builds it first: scripts/build-native.mjs)', (t) => {
  t.true(nativePorepAvailable, 'native/porep/build/Release/wolk_porep.node is missing or does not load');
});

function allLayers(replicaId: Uint8Array, nodes: number, layers: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev: Uint8Array | null = null;
  for (let l = 1; l <= layers; l++) {
    const cur = new Uint8Array(nodes * 32);
    labelLayer(replicaId, l, nodes, prev, cur);
    out.push(cur);
    prev = cur;
  }
  return out;
}

/** label(l, i) straight from the definition in docs/porep.md. */
function reference(replicaId: Uint8Array, nodes: number, layers: Uint8Array[], l: number, i: number): Uint8Array {
  const h = createHash('sha256');
  const hdr = Buffer.alloc(12);
  hdr.writeUInt32BE(l, 0);
  hdr.writeBigUInt64BE(BigInt(i), 4);
  h.update(replicaId).update(hdr);
  const base = new Uint32Array(BASE_DEGREE);
  const nb = baseParents(i, base);
  for (let j = 0; j < nb; j++) h.update(layers[l - 1]!.subarray(base[j]! * 32, base[j]! * 32 + 32));
  if (l >= 2) {
    const e = new Uint32Array(EXPANDER_DEGREE);
    new Expander(nodes).parents(i, e);
    for (const p of e) h.update(layers[l - 2]!.subarray(p * 32, p * 32 + 32));
  }
  return new Uint8Array(h.digest());
}

test.serial('native and JS labels are identical on every layer, and match the definition', (t) => {
  const seed = 1501;
  const r = prng(seed);
  for (const nodes of [1, 2, 3, 8, 17, 128, 1000, 4099]) {
    const replicaId = r.bytes(32);
    setNativePorep(true);
    const native = allLayers(replicaId, nodes, 4);
    setNativePorep(false);
    const js = allLayers(replicaId, nodes, 4);
    setNativePorep(true);
    for (let l = 0; l < 4; l++) t.deepEqual(native[l], js[l], `seed ${seed} nodes ${nodes} layer ${l + 1}`);
    for (const i of new Set([0, Math.min(1, nodes - 1), nodes - 1, r.int(nodes)])) {
      for (let l = 1; l <= 4; l++) t.deepEqual(native[l - 1]!.subarray(i * 32, i * 32 + 32), reference(replicaId, nodes, native, l, i), `seed ${seed} nodes ${nodes} label(${l}, ${i})`);
    }
  }
});

test.serial('a prefix labelled alone equals the same prefix of the whole layer (both paths)', (t) => {
  const r = prng(1502);
  const nodes = 3000;
  const replicaId = r.bytes(32);
  for (const native of [true, false]) {
    setNativePorep(native);
    const full = allLayers(replicaId, nodes, 2);
    const part = new Uint8Array(nodes * 32);
    labelLayer(replicaId, 2, nodes, full[0]!, part, 777);
    t.deepEqual(part.subarray(0, 777 * 32), full[1]!.subarray(0, 777 * 32), `native=${native}`);
    t.true(part.subarray(777 * 32).every((b) => b === 0));
  }
  setNativePorep(true);
});

test('labelLayer refuses inputs it cannot label', (t) => {
  const id = new Uint8Array(32);
  t.throws(() => labelLayer(id.subarray(1), 1, 4, null, new Uint8Array(128)), { message: /replicaId/ });
  t.throws(() => labelLayer(id, 0, 4, null, new Uint8Array(128)), { message: /layer/ });
  t.throws(() => labelLayer(id, 2, 4, null, new Uint8Array(128)), { message: /previous layer/ });
  t.throws(() => labelLayer(id, 2, 4, new Uint8Array(64), new Uint8Array(128)), { message: /previous layer/ });
  t.throws(() => labelLayer(id, 1, 4, null, new Uint8Array(96)), { message: /out/ });
  t.throws(() => labelLayer(id, 1, 0, null, new Uint8Array(96)), { message: /node count/ });
});
