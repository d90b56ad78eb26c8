// File Merkle trees (lib/merkle): throughput against plain SHA-256 of the same bytes, proofs per second,
// and what multiproofs save. Each figure is the best of a few runs: the machines are shared.
import { createHash, randomFillSync } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import type { BenchContext } from '../harness.js';
import {
  FileHasher,
  MerkleTree,
  leafHashesOf,
  challengeIndices,
  chunkId,
  createParallelHasher,
  encodeHashes,
  hashFile,
  rootOfLeaves,
  verifyBranch,
  verifyFileBranch,
  verifyMultiproof,
} from '../../lib/merkle/index.js';
import { nativeMerkleAvailable, setNativeMerkle } from '../../lib/merkle/native.js';

const MB = 1e6;
const FILE_BYTES = 100 * MB;

function bestOf(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best / 1000;
}

/** Operations per second of `fn` over at least `minMs`. */
function rate(fn: (i: number) => void, minMs = 500): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    for (let j = 0; j < 100; j++) fn(n++);
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

export async function benchMerkle(ctx: BenchContext): Promise<void> {
  // shared machines: the load at the start says how far to trust wall-clock figures
  ctx.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  ctx.log(`native batch hasher (native/merkle): ${nativeMerkleAvailable ? 'built' : 'NOT built: figures are Node crypto only'}`);
  ctx.log('generating 100 MB');
  // in shared memory, so the parallel hasher's workers read it in place (as they would a file)
  const data = randomFillSync(new Uint8Array(new SharedArrayBuffer(FILE_BYTES)));

  // (1) the root of a 100 MB file vs one SHA-256 over the same bytes
  const plainS = bestOf(3, () => createHash('sha256').update(data).digest());
  const plainMBs = FILE_BYTES / MB / plainS;
  for (const c of [4096, 32768]) {
    const s = bestOf(3, () => hashFile(data, c));
    ctx.row({
      name: `filehash of 100 MB, ${c / 1024} KiB chunks`,
      value: FILE_BYTES / MB / s,
      unit: 'MB/s',
      baseline: plainMBs,
      baselineName: 'plain SHA-256 of the 100 MB',
      goal: '>= 0.8x plain SHA-256',
      goalRatio: 0.8,
    });
  }
  // the same without the native batch hasher (lib/merkle/native.ts): one Node crypto call per hash
  setNativeMerkle(false);
  const nodeOnlyS = bestOf(3, () => hashFile(data, 4096));
  setNativeMerkle(true);
  ctx.row({
    name: 'filehash of 100 MB, 4 KiB chunks, Node crypto only (no addon)',
    value: FILE_BYTES / MB / nodeOnlyS,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the 100 MB',
  });
  // as a network stream arrives: 64 KiB pieces
  const streamS = bestOf(3, () => {
    const h = new FileHasher({ chunkSize: 4096 });
    for (let o = 0; o < data.length; o += 65536) h.update(data.subarray(o, o + 65536));
    h.digest();
  });
  ctx.row({
    name: 'filehash of 100 MB, 4 KiB chunks, fed in 64 KiB pieces',
    value: FILE_BYTES / MB / streamS,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the 100 MB',
    goal: '>= 0.8x plain SHA-256',
    goalRatio: 0.8,
  });

  // the same on every core: workers hash aligned blocks (lib/merkle/parallel.ts)
  const hasher = createParallelHasher();
  try {
    for (const c of [4096, 32768]) {
      await hasher.hashFile(data, { chunkSize: c }); // warm the workers up
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await hasher.hashFile(data, { chunkSize: c });
        best = Math.min(best, performance.now() - t);
      }
      ctx.row({
        name: `filehash of 100 MB, ${c / 1024} KiB chunks, parallel (${availableParallelism()} cores)`,
        value: FILE_BYTES / MB / (best / 1000),
        unit: 'MB/s',
        baseline: plainMBs,
        baselineName: 'plain SHA-256 of the 100 MB',
        goal: '>= 0.8x plain SHA-256',
        goalRatio: 0.8,
      });
    }
    const path = join(ctx.workDir, 'file-100MB');
    writeFileSync(path, data);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await hasher.hashFile({ path }, { chunkSize: 4096 });
      best = Math.min(best, performance.now() - t);
    }
    rmSync(path, { force: true });
    ctx.row({
      name: 'filehash of a 100 MB file on disk (page cache), 4 KiB chunks, parallel',
      value: FILE_BYTES / MB / (best / 1000),
      unit: 'MB/s',
      baseline: plainMBs,
      baselineName: 'plain SHA-256 of the 100 MB in memory',
    });
  } finally {
    await hasher.close();
  }

  // (2) 100,000 separate 4 KiB chunks (views into the buffer, wrapping: the hashing work is the same):
  // a chunk ID each, then a tree over the IDs, vs the same bytes hashed as one file
  const CHUNKS = 100_000;
  const perFile = FILE_BYTES / 4096;
  const chunkS = bestOf(2, () => {
    const ids = new Uint8Array(CHUNKS * 32);
    for (let i = 0; i < CHUNKS; i++) {
      const o = (i % perFile) * 4096;
      ids.set(chunkId(data.subarray(o, o + 4096)), i * 32);
    }
    rootOfLeaves(ids);
  });
  const fileS = bestOf(2, () => hashFile(data.subarray(0, perFile * 4096), 4096));
  ctx.row({
    name: '100,000 separate 4 KiB chunks: IDs + tree over them',
    value: (CHUNKS * 4096) / MB / chunkS,
    unit: 'MB/s',
    baseline: (perFile * 4096) / MB / fileS,
    baselineName: 'the same bytes as one file (filehash)',
  });
  ctx.row({ name: '100,000 separate 4 KiB chunks: wall time', value: chunkS * 1000, unit: 'ms', lowerIsBetter: true });

  // (3) proofs over the 100 MB file's tree (25,600 leaves at 4 KiB), as a storer answers challenges
  const leaves: Uint8Array[] = [];
  const d = new FileHasher({ chunkSize: 4096, onChunk: (_i, _c, leaf) => leaves.push(leaf) }).update(data).digest();
  const n = leaves.length;
  const buildS = bestOf(3, () => MerkleTree.fromLeaves(leaves));
  setNativeMerkle(false);
  const buildNodeOnlyS = bestOf(3, () => MerkleTree.fromLeaves(leaves));
  setNativeMerkle(true);
  ctx.row({
    name: `MerkleTree.fromLeaves, ${n} leaves (100 MB file)`,
    value: buildS * 1000,
    unit: 'ms',
    baseline: buildNodeOnlyS * 1000,
    baselineName: 'the same, Node crypto only (one call per node hash)',
    lowerIsBetter: true,
  });
  const tree = MerkleTree.fromLeaves(leaves);
  // A GET's check of the 100 MB (services/gateway/read.ts): each 4 MiB segment's leaf hashes and its
  // multiproof root against the file's tree root, with the proofs a storer sends.
  const SEGMENT = 4 * 1024 * 1024;
  const segments: { indices: number[]; bytes: Uint8Array; proof: readonly Uint8Array[] }[] = [];
  for (let o = 0; o < FILE_BYTES; o += SEGMENT) {
    const end = Math.min(FILE_BYTES, o + SEGMENT);
    const indices = Array.from({ length: Math.ceil((end - o) / 4096) }, (_, i) => o / 4096 + i);
    segments.push({ indices, bytes: data.subarray(o, end), proof: tree.multiproof(indices).hashes });
  }
  const checkSegments = () => {
    for (const g of segments) if (!verifyMultiproof(d.root, n, g.indices, leafHashesOf(g.bytes, 4096), g.proof)) throw new Error('segment did not verify');
  };
  const segmentsS = bestOf(3, checkSegments);
  setNativeMerkle(false);
  const segmentsNodeOnlyS = bestOf(3, checkSegments);
  setNativeMerkle(true);
  ctx.row({
    name: "a GET's check of 100 MB in 4 MiB segments (leaf hashes + multiproof root each)",
    value: FILE_BYTES / MB / segmentsS,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the 100 MB',
  });
  ctx.row({
    name: "the same GET check, Node crypto only (no addon)",
    value: FILE_BYTES / MB / segmentsNodeOnlyS,
    unit: 'MB/s',
    baseline: plainMBs,
    baselineName: 'plain SHA-256 of the 100 MB',
  });
  const idx = challengeIndices(new Uint8Array(32), n, 1000);
  const branches = idx.map((i) => tree.branch(i));
  ctx.row({ name: 'branch generation', value: rate((i) => tree.branch(idx[i % idx.length]!)), unit: 'branches/s' });
  ctx.row({
    name: 'branch verification (leaf hash given)',
    value: rate((i) => {
      const j = i % idx.length;
      if (!verifyBranch(d.root, n, idx[j]!, leaves[idx[j]!]!, branches[j]!)) throw new Error('branch did not verify');
    }),
    unit: 'verifications/s',
  });
  ctx.row({
    name: 'file branch verification (4 KiB chunk + filehash)',
    value: rate((i) => {
      const j = i % idx.length;
      const o = idx[j]! * 4096;
      if (!verifyFileBranch(d.filehash, d.size, 4096, idx[j]!, data.subarray(o, o + 4096), branches[j]!)) throw new Error('file branch did not verify');
    }),
    unit: 'verifications/s',
  });

  // 64 challenged leaves: one multiproof vs 64 separate branches
  const k64 = challengeIndices(Uint8Array.of(64), n, 64);
  const mp = tree.multiproof(k64);
  if (!verifyMultiproof(d.root, n, mp.indices, mp.indices.map((i) => leaves[i]!), mp.hashes)) throw new Error('multiproof did not verify');
  const separate = k64.reduce((s, i) => s + encodeHashes(tree.branch(i)).length, 0);
  ctx.row({
    name: `multiproof of 64 leaves of ${n}`,
    value: encodeHashes(mp.hashes).length,
    unit: 'bytes',
    baseline: separate,
    baselineName: '64 separate branches',
    goal: '< 1x separate branches',
    goalRatio: 1,
    lowerIsBetter: true,
  });
  ctx.row({
    name: 'multiproof of 64 leaves: verification',
    value: rate(() => {
      verifyMultiproof(d.root, n, mp.indices, mp.indices.map((i) => leaves[i]!), mp.hashes);
    }, 300),
    unit: 'multiproofs/s',
  });
}
