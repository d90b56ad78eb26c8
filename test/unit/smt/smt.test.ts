import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import {
  EMPTY,
  SmtError,
  SmtErrorCode,
  SparseMerkleTree,
  decodeNode,
  decodeSmtProof,
  encodeNode,
  encodeSmtProof,
  fallbackNodeSource,
  kvNodeSource,
  leafHash,
  objectHash,
  valueHash,
  verifySmtProof,
  type NodeSource,
  type SmtChange,
} from '../../../lib/smt/index.js';
import { hex, prng, referenceRoot, sha, unhex } from './helpers.js';

type Rng = ReturnType<typeof prng>;

/** A key pool with hashed keys and near-twins (long shared prefixes, down to the last bit). */
function keyPool(r: Rng, size: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  while (keys.length < size) {
    const base = sha(r.bytes(8));
    keys.push(base);
    if (r.next() < 0.3) {
      const twin = base.slice();
      const b = r.next() < 0.3 ? 255 : 8 + r.int(248);
      twin[b >> 3]! ^= 0x80 >> (b & 7);
      keys.push(twin);
    }
  }
  return keys.slice(0, size);
}

test('random batches of puts, updates and deletes match a from-scratch rebuild; every proof verifies', async (t) => {
  const seed = 0x5eed;
  const r = prng(seed);
  let checks = 0;
  for (let seq = 0; seq < 80; seq++) {
    const tree = new SparseMerkleTree({ kv: createMemoryKv(), cacheSize: seq % 2 === 0 ? 0 : 1000 });
    const pool = keyPool(r, 4 + r.int(40));
    const state = new Map<string, Uint8Array>();
    const history: Array<[Uint8Array, Map<string, Uint8Array>]> = [];
    let root = SparseMerkleTree.emptyRoot;
    for (let batch = 0; batch < 8; batch++) {
      const changes: SmtChange[] = [];
      for (let i = 1 + r.int(12); i > 0; i--) {
        const key = pool[r.int(pool.length)]!;
        const value = r.next() < 0.35 ? null : r.bytes(r.int(50));
        changes.push({ key, value });
        if (value === null) state.delete(hex(key));
        else state.set(hex(key), value);
      }
      root = await tree.update(root, changes);
      t.is(hex(root), hex(referenceRoot(state)), `seed ${seed}, sequence ${seq}, batch ${batch}`);
      history.push([root, new Map(state)]);
      // get, prove and verify every key of the pool, present or absent (plain checks: ava's
      // assertions cost more than the tree itself at this count)
      const failures: string[] = [];
      for (const key of pool) {
        const value = state.get(hex(key)) ?? null;
        const got = await tree.get(root, key);
        if ((got === null) !== (value === null) || (got && hex(got) !== hex(value!))) failures.push(`get ${hex(key)}`);
        const proof = await tree.prove(root, key);
        if (!verifySmtProof(root, key, value, proof) || !verifySmtProof(root, key, value, encodeSmtProof(proof))) {
          failures.push(`proof of ${hex(key)} (${value === null ? 'absent' : 'present'})`);
        }
        // the opposite claim, and a wrong value, fail
        if (verifySmtProof(root, key, value === null ? new Uint8Array(1) : null, proof)) failures.push(`opposite claim ${hex(key)}`);
        if (value !== null && verifySmtProof(root, key, Uint8Array.of(...value, 0), proof)) failures.push(`wrong value ${hex(key)}`);
        checks++;
      }
      t.deepEqual(failures, [], `seed ${seed}, sequence ${seq}, batch ${batch}`);
    }
    // every earlier root is still readable and unchanged
    for (const [oldRoot, oldState] of history) {
      const key = pool[r.int(pool.length)]!;
      t.deepEqual(await tree.get(oldRoot, key), oldState.get(hex(key)) ?? null);
    }
  }
  t.true(checks > 10_000, `${checks} get/prove/verify checks`);
});

test('within one batch the last change of a key wins; no-op batches keep the root', async (t) => {
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const k = sha(Uint8Array.of(1));
  const k2 = sha(Uint8Array.of(2));
  const a = Uint8Array.of(1);
  const b = Uint8Array.of(2);
  const r1 = await tree.update(EMPTY, [{ key: k, value: a }, { key: k, value: b }, { key: k2, value: a }, { key: k2, value: null }]);
  t.deepEqual(await tree.get(r1, k), b);
  t.is(await tree.get(r1, k2), null);
  t.deepEqual(r1, leafHash(k, valueHash(b)), 'one key: the root is its leaf');
  t.deepEqual(await tree.update(r1, []), r1);
  t.deepEqual(await tree.update(r1, [{ key: k2, value: null }]), r1, 'deleting an absent key');
  t.deepEqual(await tree.update(r1, [{ key: k, value: null }]), EMPTY, 'deleting the last key');
});

test('keys that differ only in their last bit: a 256-deep proof, and a delete lifts the survivor', async (t) => {
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const k1 = sha(Uint8Array.of(7));
  const k2 = k1.slice();
  k2[31]! ^= 1;
  const far = k1.slice();
  far[0]! ^= 0x80;
  const root = await tree.update(EMPTY, [
    { key: k1, value: Uint8Array.of(1) },
    { key: k2, value: Uint8Array.of(2) },
    { key: far, value: Uint8Array.of(3) },
  ]);
  const proof = await tree.prove(root, k1);
  t.is(proof.siblings.length, 256);
  t.true(verifySmtProof(root, k1, Uint8Array.of(1), proof));
  const wire = encodeSmtProof(proof);
  t.is(wire.length, 2 + 32 + 2 * 32 + 1 + 64, 'two non-empty siblings; 254 empty ones cost one bit each');
  t.deepEqual(decodeSmtProof(wire), proof);
  const after = await tree.update(root, [{ key: k2, value: null }]);
  t.deepEqual(after, referenceRoot(new Map([[hex(k1), Uint8Array.of(1)], [hex(far), Uint8Array.of(3)]])));
  t.is((await tree.prove(after, k1)).siblings.length, 1, 'k1 lifted to depth 1');
});

test('proofs: tampering, wrong keys and non-canonical forms are rejected', async (t) => {
  const r = prng(77);
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const keys = keyPool(r, 200);
  const changes = keys.slice(0, 150).map((key) => ({ key, value: r.bytes(10) }));
  const root = await tree.update(EMPTY, changes);
  const present = changes[3]!;
  const absent = keys[170]!;
  const p = await tree.prove(root, present.key);
  t.true(verifySmtProof(root, present.key, present.value, p));
  t.false(verifySmtProof(root, changes[4]!.key, present.value, p), 'another key');
  t.false(verifySmtProof(root, present.key, null, p), 'membership proof as non-membership');
  t.false(verifySmtProof(EMPTY, present.key, present.value, p), 'another root');
  const flipped = p.siblings.map((s) => s.slice());
  flipped[0]![5]! ^= 1;
  t.false(verifySmtProof(root, present.key, present.value, { ...p, siblings: flipped }));
  t.false(verifySmtProof(root, present.key, present.value, { ...p, siblings: p.siblings.slice(1) }), 'truncated');
  t.false(verifySmtProof(root, present.key, present.value, { ...p, siblings: [...p.siblings, EMPTY] }), 'extended by EMPTY');
  t.false(verifySmtProof(root, present.key, present.value, { ...p, siblings: [...p.siblings, leafHash(absent, absent)] }), 'extended');

  const q = await tree.prove(root, absent);
  t.true(verifySmtProof(root, absent, null, q));
  t.false(verifySmtProof(root, absent, Uint8Array.of(0), q));
  // a non-membership proof that ends at a leaf: the leaf's key must share the path
  if (q.leaf !== null) {
    const other = absent.slice();
    other[0]! ^= 0x80;
    t.false(verifySmtProof(root, other, null, q));
  }
  // the wire form refuses garbage and non-canonical encodings
  const wire = encodeSmtProof(p);
  t.is(decodeSmtProof(wire.subarray(0, wire.length - 1)), null);
  t.is(decodeSmtProof(Uint8Array.of(...wire, 0)), null);
  t.is(decodeSmtProof(Uint8Array.of(0xff, 0xff, 0)), null, 'depth > 256');
  t.is(decodeSmtProof(Uint8Array.of(0, 1, 0x40, 0)), null, 'a bitmap bit past the depth');
  t.is(decodeSmtProof(Uint8Array.of(0, 1, 0x80, ...EMPTY, 0)), null, 'EMPTY spelled out');
  t.false(verifySmtProof(root, present.key, present.value, Uint8Array.of(1, 2, 3)));
});

test('node encodings: id = SHA-256(encoding); decode refuses what is not a node', (t) => {
  const k = sha(Uint8Array.of(1));
  const leaf = { kind: 'leaf' as const, key: k, valueHash: valueHash(Uint8Array.of(9)) };
  t.deepEqual(decodeNode(encodeNode(leaf)), leaf);
  t.deepEqual(objectHash(encodeNode(leaf)), sha(Uint8Array.of(0x10), k, leaf.valueHash));
  t.deepEqual(valueHash(Uint8Array.of(9)), sha(Uint8Array.of(0x12, 9)));
  const node = { kind: 'internal' as const, left: EMPTY, right: k };
  t.deepEqual(decodeNode(encodeNode(node)), node);
  t.throws(() => decodeNode(encodeNode({ kind: 'internal', left: EMPTY, right: EMPTY })), { instanceOf: SmtError });
  t.throws(() => decodeNode(Uint8Array.of(0x00, ...k, ...k)), { message: /unknown tag 0x0/ });
  t.throws(() => decodeNode(new Uint8Array(10)), { message: /expected 65 bytes/ });
});

test('a tree with an empty store reads another\'s nodes through a NodeSource, verified by hash', async (t) => {
  const r = prng(5);
  const kvA = createMemoryKv();
  const a = new SparseMerkleTree({ kv: kvA });
  const keys = keyPool(r, 50);
  const root = await a.update(EMPTY, keys.map((key) => ({ key, value: r.bytes(20) })));
  const remote = kvNodeSource(kvA);
  const kvB = createMemoryKv();
  const b = new SparseMerkleTree({ kv: kvB, source: fallbackNodeSource(kvNodeSource(kvB), remote) });
  for (const key of keys) t.deepEqual(await b.get(root, key), await a.get(root, key));
  // and can build on it: new nodes go to B's store only
  const root2 = await b.update(root, [{ key: keys[0]!, value: null }]);
  t.is(await b.get(root2, keys[0]!), null);

  const lying: NodeSource = {
    async getNode(hash) {
      const bytes = await remote.getNode(hash);
      return bytes && Uint8Array.from(bytes, (x, i) => (i === 40 ? x ^ 1 : x));
    },
  };
  const c = new SparseMerkleTree({ kv: createMemoryKv(), source: lying });
  const e1 = await t.throwsAsync(c.get(root, keys[1]!), { instanceOf: SmtError });
  t.is(e1.code, SmtErrorCode.CORRUPT_NODE);
  const d = new SparseMerkleTree({ kv: createMemoryKv() });
  const e2 = await t.throwsAsync(d.get(root, keys[1]!), { instanceOf: SmtError });
  t.is(e2.code, SmtErrorCode.MISSING_NODE);
  await t.throwsAsync(d.commitVersion(1, root), { message: /in no source/ });
});

test('the object cache: what an update wrote and what was read and verified is not asked of the source again; a wrong answer is never kept; size 0 caches nothing', async (t) => {
  const r = prng(9);
  const keys = keyPool(r, 40);
  const counted = (kv: ReturnType<typeof createMemoryKv>, tamper = false) => {
    const inner = kvNodeSource(kv);
    const src = {
      calls: 0,
      async getNode(hash: Uint8Array) {
        src.calls++;
        const bytes = await inner.getNode(hash);
        return bytes && tamper ? Uint8Array.from(bytes, (x, i) => (i === 0 ? x ^ 1 : x)) : bytes;
      },
    };
    return src;
  };
  const kv = createMemoryKv();
  const src = counted(kv);
  const tree = new SparseMerkleTree({ kv, source: src, cacheSize: 0, objectCacheSize: 100_000 });
  const root = await tree.update(EMPTY, keys.map((key) => ({ key, value: r.bytes(30) })));
  for (const key of keys) t.truthy(await tree.get(root, key));
  t.is(src.calls, 0, 'every node and value read back was written by this update');
  const leaf = decodeNode((await tree.getObject(unhex(hex(root))))!);
  t.truthy(leaf, 'getObject answers from the cache');
  const got = await tree.getObject(unhex(hex(root)));
  got![0] = 0xff;
  t.not((await tree.getObject(unhex(hex(root))))![0], 0xff, 'getObject hands out a copy: the cached encoding is not changed by a caller');
  t.is(src.calls, 0);

  // A second tree over the same store: the first reads go to the source, the same reads again do not.
  const src2 = counted(kv);
  const reader = new SparseMerkleTree({ kv: createMemoryKv(), source: src2, cacheSize: 0, objectCacheSize: 100_000 });
  for (const key of keys) await reader.get(root, key);
  const first = src2.calls;
  t.true(first > 0);
  for (const key of keys) await reader.get(root, key);
  t.is(src2.calls, first, 'verified reads are kept');

  const lying = counted(kv, true);
  const c = new SparseMerkleTree({ kv: createMemoryKv(), source: lying, objectCacheSize: 100_000 });
  await t.throwsAsync(c.get(root, keys[0]!), { instanceOf: SmtError });
  await t.throwsAsync(c.get(root, keys[0]!), { instanceOf: SmtError }, 'a wrong answer was not kept: asked again, refused again');
  t.is(lying.calls, 2);

  const none = counted(kv);
  const uncached = new SparseMerkleTree({ kv: createMemoryKv(), source: none, cacheSize: 0, objectCacheSize: 0 });
  await uncached.get(root, keys[0]!);
  const once = none.calls;
  await uncached.get(root, keys[0]!);
  t.is(none.calls, 2 * once, 'objectCacheSize 0: every read goes to the source');
});

test('malformed arguments are refused with INVALID_ARGUMENT', async (t) => {
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const e = await t.throwsAsync(tree.get(EMPTY, new Uint8Array(31)), { instanceOf: SmtError });
  t.is(e.code, SmtErrorCode.INVALID_ARGUMENT);
  await t.throwsAsync(tree.update(EMPTY, [{ key: new Uint8Array(33), value: null }]), { message: /key: expected 32 bytes, got 33 bytes/ });
  await t.throwsAsync(tree.rootAt(-1), { message: /version/ });
});

test('RocksDB: versions survive a reopen; every committed root stays readable and provable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-smt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = prng(9);
  const keys = keyPool(r, 300);
  const state = new Map<string, Uint8Array>();
  const expected: Array<[number, Uint8Array, Map<string, Uint8Array>]> = [];
  {
    const kv = await openRocksKv(dir);
    const tree = new SparseMerkleTree({ kv });
    let root = EMPTY;
    for (let round = 1; round <= 6; round++) {
      const changes: SmtChange[] = [];
      for (let i = 0; i < 80; i++) {
        const key = keys[r.int(keys.length)]!;
        const value = r.next() < 0.2 ? null : r.bytes(30);
        changes.push({ key, value });
        if (value === null) state.delete(hex(key));
        else state.set(hex(key), value);
      }
      root = await tree.update(root, changes, { sync: true });
      await tree.commitVersion(round, root, { sync: true });
      expected.push([round, root, new Map(state)]);
    }
    await kv.close();
  }
  const kv = await openRocksKv(dir);
  t.teardown(() => kv.close());
  const tree = new SparseMerkleTree({ kv });
  const latest = await tree.latestVersion();
  t.is(latest?.version, 6n);
  t.deepEqual(latest?.root, expected[5]![1]);
  t.is(await tree.rootAt(7), null);
  for (const [round, root, snapshot] of expected) {
    t.deepEqual(await tree.rootAt(round), root);
    t.deepEqual(root, referenceRoot(snapshot));
    for (const key of keys.slice(0, 60)) {
      const value = snapshot.get(hex(key)) ?? null;
      t.deepEqual(await tree.get(root, key), value, `round ${round}`);
      t.true(verifySmtProof(root, key, value, await tree.prove(root, key)));
    }
  }
});

test('an empty tree: root EMPTY, every key absent with an empty proof', async (t) => {
  const tree = new SparseMerkleTree({ kv: createMemoryKv() });
  const k = sha(Uint8Array.of(3));
  t.is(await tree.get(EMPTY, k), null);
  const p = await tree.prove(EMPTY, k);
  t.deepEqual(p, { siblings: [], leaf: null });
  t.true(verifySmtProof(EMPTY, k, null, p));
  t.deepEqual(encodeSmtProof(p), Uint8Array.of(0, 0, 0));
  t.is(hex(SparseMerkleTree.emptyRoot), '00'.repeat(32));
  t.is(unhex('00').length, 1);
});

test('2,000 short random sequences over a few near-twin keys: root, get and proofs stay exact', async (t) => {
  const seed = 0xc0ffee;
  const r = prng(seed);
  const failures: string[] = [];
  for (let seq = 0; seq < 2000 && failures.length === 0; seq++) {
    const tree = new SparseMerkleTree({ kv: createMemoryKv() });
    const pool = keyPool(r, 2 + r.int(6));
    const state = new Map<string, Uint8Array>();
    let root = EMPTY;
    for (let batch = 0; batch < 3; batch++) {
      const changes: SmtChange[] = [];
      for (let i = 1 + r.int(4); i > 0; i--) {
        const key = pool[r.int(pool.length)]!;
        const value = r.next() < 0.4 ? null : r.bytes(r.int(8));
        changes.push({ key, value });
        if (value === null) state.delete(hex(key));
        else state.set(hex(key), value);
      }
      root = await tree.update(root, changes);
      if (hex(root) !== hex(referenceRoot(state))) failures.push(`root: seed ${seed}, sequence ${seq}, batch ${batch}`);
      const key = pool[r.int(pool.length)]!;
      const value = state.get(hex(key)) ?? null;
      const got = await tree.get(root, key);
      if ((got === null ? null : hex(got)) !== (value === null ? null : hex(value))) failures.push(`get: sequence ${seq}`);
      if (!verifySmtProof(root, key, value, encodeSmtProof(await tree.prove(root, key)))) failures.push(`proof: sequence ${seq}`);
    }
  }
  t.deepEqual(failures, []);
});
