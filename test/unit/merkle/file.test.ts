import test from 'ava';
import { Readable } from 'node:stream';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileHasher,
  MerkleTree,
  chunkCountOf,
  chunkId,
  chunkLengthAt,
  fileHashOf,
  hashFile,
  hashFileStream,
  verifyFileBranch,
} from '../../../lib/merkle/index.js';
import { chunksOf, hex, prng, referenceLeaf, referenceRoot, sha, u32, u64 } from './helpers.js';

/** filehash straight from docs/merkle.md, independent of lib/merkle. */
function referenceFilehash(data: Uint8Array, c: number): Uint8Array {
  const root = referenceRoot(chunksOf(data, c).map(referenceLeaf));
  return sha(Uint8Array.of(2), u64(data.length), u32(c), root);
}

test('the empty file: zero chunks, root SHA-256(""), filehash binds size 0 and C', (t) => {
  for (const c of [4096, 32768]) {
    const d = new FileHasher({ chunkSize: c }).digest();
    t.is(d.size, 0);
    t.is(d.chunkCount, 0);
    t.is(hex(d.root), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    t.deepEqual(d.filehash, sha(Uint8Array.of(2), new Uint8Array(8), u32(c), d.root));
  }
  t.notDeepEqual(hashFile(new Uint8Array(0), 4096).filehash, hashFile(new Uint8Array(0), 8192).filehash);
});

test('streaming in random pieces equals whole-buffer hashing and the reference, at edge sizes', (t) => {
  const r = prng(11);
  for (const c of [4096, 8192, 32768]) {
    const sizes = [0, 1, c - 1, c, c + 1, 2 * c, 3 * c - 1, 5 * c + 17, 16 * c, 1 + r.int(20 * c)];
    for (const size of sizes) {
      const data = r.bytes(size);
      const expected = hex(referenceFilehash(data, c));
      const whole = hashFile(data, c);
      t.is(hex(whole.filehash), expected, `C=${c} size=${size}`);
      t.is(whole.chunkCount, Math.ceil(size / c));
      t.is(whole.size, size);
      t.is(whole.chunkSize, c);
      // pieces of random sizes, including empty ones and ones spanning several chunks
      const h = new FileHasher({ chunkSize: c });
      for (let o = 0; o < size; ) {
        const len = Math.min(size - o, r.next() < 0.1 ? 0 : r.next() < 0.5 ? 1 + r.int(64) : 1 + r.int(3 * c));
        h.update(data.subarray(o, o + len));
        o += len;
      }
      t.is(hex(h.digest().filehash), expected, `C=${c} size=${size}, pieces`);
      // from the leaves, as the storer rebuilds it
      const leaves = chunksOf(data, c).map(referenceLeaf);
      t.is(hex(fileHashOf(size, c, MerkleTree.fromLeaves(leaves).root())), expected);
    }
  }
});

test('hashFileStream reads a Readable and a file on disk', async (t) => {
  const r = prng(12);
  const data = r.bytes(3 * 4096 + 100);
  const expected = hex(referenceFilehash(data, 4096));
  const pieces = [data.subarray(0, 5000), data.subarray(5000, 5001), data.subarray(5001)];
  t.is(hex((await hashFileStream(Readable.from(pieces), 4096)).filehash), expected);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-merkle-'));
  writeFileSync(join(dir, 'f'), data);
  const d = await hashFileStream(createReadStream(join(dir, 'f'), { highWaterMark: 1000 }), 4096);
  t.is(hex(d.filehash), expected);
});

test('onChunk sees every chunk with its leaf hash; chunkID is SHA-256 of the chunk', (t) => {
  const r = prng(13);
  const data = r.bytes(4 * 4096 + 3);
  const seen: Array<[number, Uint8Array, Uint8Array]> = [];
  const d = new FileHasher({ chunkSize: 4096, onChunk: (i, chunk, leaf) => seen.push([i, chunk.slice(), leaf]) })
    .update(data)
    .digest();
  const chunks = chunksOf(data, 4096);
  t.is(seen.length, 5);
  seen.forEach(([i, chunk, leaf], j) => {
    t.is(i, j);
    t.deepEqual(chunk, chunks[j]);
    t.deepEqual(leaf, referenceLeaf(chunks[j]!));
  });
  t.deepEqual(MerkleTree.fromLeaves(seen.map((s) => s[2])).root(), d.root);
  t.deepEqual(chunkId(chunks[0]!), sha(chunks[0]!));
});

test('verifyFileBranch: every chunk verifies; wrong index, size, chunk size, chunk or branch fail', (t) => {
  const r = prng(14);
  const c = 4096;
  const size = 9 * c + 1234;
  const data = r.bytes(size);
  const chunks = chunksOf(data, c);
  const d = hashFile(data, c);
  const tree = MerkleTree.fromLeaves(chunks.map(referenceLeaf));
  const n = chunks.length;
  for (let i = 0; i < n; i++) {
    const b = tree.branch(i);
    t.true(verifyFileBranch(d.filehash, size, c, i, chunks[i]!, b), `chunk ${i}`);
    t.false(verifyFileBranch(d.filehash, size, c, (i + 1) % n, chunks[i]!, b), 'wrong index');
    t.false(verifyFileBranch(d.filehash, size + 1, c, i, chunks[i]!, b), 'size + 1');
    t.false(verifyFileBranch(d.filehash, size - 1, c, i, i === n - 1 ? chunks[i]!.subarray(1) : chunks[i]!, b), 'size - 1');
    t.false(verifyFileBranch(d.filehash, size, 8192, i, chunks[i]!, b), 'chunk size');
    t.false(verifyFileBranch(d.filehash, size, c, i, chunks[(i + 1) % n]!, b), 'another chunk');
    t.false(verifyFileBranch(d.filehash, size, c, i, chunks[i]!.subarray(0, chunks[i]!.length - 1), b), 'truncated chunk');
    t.false(verifyFileBranch(d.filehash, size, c, i, chunks[i]!, b.slice(1)), 'truncated branch');
    t.false(verifyFileBranch(d.filehash, size, c, i, chunks[i]!, [...b, b[0]!]), 'extended branch');
  }
  // a branch of the same chunk in a file one chunk shorter (a prefix of this one)
  const prefix = data.subarray(0, 8 * c);
  const pd = hashFile(prefix, c);
  const pTree = MerkleTree.fromLeaves(chunksOf(prefix, c).map(referenceLeaf));
  t.true(verifyFileBranch(pd.filehash, prefix.length, c, 0, chunks[0]!, pTree.branch(0)));
  t.false(verifyFileBranch(d.filehash, size, c, 0, chunks[0]!, pTree.branch(0)));
  t.false(verifyFileBranch(d.filehash, 0, c, 0, new Uint8Array(0), []), 'the empty file has no chunks');
});

test('chunk size is a power of two in [4096, 32768]', (t) => {
  for (const c of [4096, 8192, 16384, 32768]) t.notThrows(() => new FileHasher({ chunkSize: c }));
  for (const c of [0, 2048, 4095, 5000, 65536, 4096.5, Number.NaN]) {
    t.throws(() => new FileHasher({ chunkSize: c }), { message: /power of two in \[4096, 32768\]/ });
  }
  t.is(chunkCountOf(0, 4096), 0);
  t.is(chunkCountOf(4097, 4096), 2);
  t.is(chunkLengthAt(4097, 4096, 1), 1);
  t.throws(() => chunkLengthAt(4096, 4096, 1));
});

test('update after digest is refused', (t) => {
  const h = new FileHasher();
  h.digest();
  t.throws(() => h.update(new Uint8Array(1)), { message: /after digest/ });
});
