// Filehash and replica root on several cores. One SHA-256 call costs about a microsecond of overhead in
// Node whatever its input, and a 4 KiB leaf plus its share of inner nodes makes two calls, so one thread
// reaches only about half the speed of hashing the same bytes as one stream (bench/crypto/merkle.ts).
// The tree splits cleanly across threads: cut the leaves into aligned blocks of B = 2^m leaves; level m
// of the tree (built level by level, tree.ts) is exactly the blocks' roots, the last, partial block
// included, so root = MTH(block roots). Workers hash blocks (reading the file themselves, or from a
// SharedArrayBuffer); the main thread only folds a few hundred block roots.
//
// The worker is plain JavaScript evaluated from a string, so it runs the same under tsx, ava and the
// compiled build. It hashes whole chunks with the native batch hasher when it is built (native.ts: one
// call per block, no per-hash overhead) and otherwise repeats the leaf and node rules of tree.ts, file.ts
// and replica.ts with Node's crypto; the tests check every path gives the same results.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { DEFAULT_CHUNK_SIZE, assertChunkSize, fileHashOf, type FileDigest } from './file.js';
import { replicaRootOf, STORER_ID_LENGTH, type ReplicaDigest } from './replica.js';
import { HASH_LENGTH, MerkleDomain, rootOfLeaves } from './tree.js';
import { nativeMerkle, nativeMerklePath } from './native.js';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const fs = require('node:fs');
const sha = typeof crypto.hash === 'function'
  ? (d) => crypto.hash('sha256', d, 'buffer')
  : (d) => crypto.createHash('sha256').update(d).digest();
const node = new Uint8Array(65);
node[0] = 0x01;
let nativeTried = false;
let native = null;
function nativeAt(path) {
  if (!nativeTried) {
    nativeTried = true;
    if (path) {
      try { native = require(path); } catch { native = null; }
    }
  }
  return native;
}
function popcount(n) {
  let c = 0;
  for (let m = n; m > 0; m = Math.floor(m / 2)) c += m % 2;
  return c;
}
parentPort.on('message', (t) => {
  try {
    let bytes;
    if (t.sab) bytes = new Uint8Array(t.sab, t.offset, t.length);
    else {
      bytes = Buffer.allocUnsafe(t.length);
      const fd = fs.openSync(t.path, 'r');
      try {
        let got = 0;
        while (got < t.length) {
          const n = fs.readSync(fd, bytes, got, t.length - got, t.offset + got);
          if (n === 0) throw new Error('file shorter than expected: ' + t.path);
          got += n;
        }
      } finally { fs.closeSync(fd); }
    }
    const h = t.header.length;
    const scratch = new Uint8Array(h + t.chunkSize);
    scratch.set(t.header);
    const view = new DataView(scratch.buffer);
    const count = Math.ceil(t.length / t.chunkSize);
    const leaves = new Uint8Array(count * 32);
    const nat = nativeAt(t.nativePath);
    let root;
    if (nat && count > 0) {
      // whole chunks in one native call (lib/merkle/native.ts), then the last partial chunk if any
      const whole = Math.floor(t.length / t.chunkSize);
      const stack = new Uint8Array(64 * 32);
      let n = nat.absorb(stack, 0, bytes.subarray(0, whole * t.chunkSize), t.chunkSize, t.header, t.indexOffset, t.firstIndex, leaves);
      let depth = popcount(n);
      if (whole < count) {
        const len = t.length - whole * t.chunkSize;
        scratch.set(bytes.subarray(whole * t.chunkSize, t.length), h);
        if (t.indexOffset >= 0) view.setBigUint64(t.indexOffset, BigInt(t.firstIndex + whole), false);
        let x = sha(scratch.subarray(0, h + len));
        leaves.set(x, whole * 32);
        for (let m = n; m % 2 === 1; m = Math.floor(m / 2)) {
          depth--;
          node.set(stack.subarray(depth * 32, depth * 32 + 32), 1);
          node.set(x, 33);
          x = sha(node);
        }
        stack.set(x, depth * 32);
        depth++;
        n++;
      }
      let r = stack.slice((depth - 1) * 32, depth * 32);
      for (let i = depth - 2; i >= 0; i--) {
        node.set(stack.subarray(i * 32, i * 32 + 32), 1);
        node.set(r, 33);
        r = new Uint8Array(sha(node));
      }
      root = r.slice(0, 32);
    } else {
      for (let i = 0; i < count; i++) {
        const o = i * t.chunkSize;
        const len = Math.min(t.chunkSize, t.length - o);
        scratch.set(bytes.subarray(o, o + len), h);
        if (t.indexOffset >= 0) view.setBigUint64(t.indexOffset, BigInt(t.firstIndex + i), false);
        leaves.set(sha(scratch.subarray(0, h + len)), i * 32);
      }
      let level = leaves.slice();
      let n = count;
      while (n > 1) {
        const m = Math.ceil(n / 2);
        const next = new Uint8Array(m * 32);
        for (let j = 0; j + 1 < n; j += 2) {
          node.set(level.subarray(j * 32, j * 32 + 64), 1);
          next.set(sha(node), (j / 2) * 32);
        }
        if (n % 2 === 1) next.set(level.subarray((n - 1) * 32, n * 32), (m - 1) * 32);
        level = next;
        n = m;
      }
      root = level.slice(0, 32);
    }
    parentPort.postMessage({ id: t.id, leaves, root }, [leaves.buffer, root.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: t.id, error: String(e && e.message || e) });
  }
});
`;

/** Where the bytes are: in memory (copied into shared memory unless already there) or a file on disk. */
export type ParallelSource = Uint8Array | { readonly path: string };

export interface ParallelHashOptions {
  readonly chunkSize?: number;
  readonly signal?: AbortSignal;
}

export interface ParallelFileDigest extends FileDigest {
  /** The leaf hashes, concatenated (32 bytes per chunk): what a storer keeps to build branches later. */
  readonly leaves: Uint8Array;
}

export interface ParallelReplicaDigest extends ReplicaDigest {
  readonly leaves: Uint8Array;
}

export interface ParallelHasher {
  hashFile(source: ParallelSource, options?: ParallelHashOptions): Promise<ParallelFileDigest>;
  hashReplica(storerId: Uint8Array, filehash: Uint8Array, source: ParallelSource, options?: ParallelHashOptions): Promise<ParallelReplicaDigest>;
  /** Ends the workers; pending calls fail. */
  close(): Promise<void>;
}

export interface ParallelHasherInit {
  /** Worker threads (default: the machine's available parallelism, at most 8). */
  readonly workers?: number;
  /** Bytes per task, rounded down to a power-of-two number of chunks (default 2 MiB). */
  readonly taskBytes?: number;
}

interface Task {
  readonly id: number;
  readonly chunkSize: number;
  readonly header: Uint8Array;
  readonly indexOffset: number;
  readonly firstIndex: number;
  readonly offset: number;
  readonly length: number;
  readonly sab?: SharedArrayBuffer;
  readonly path?: string;
  /** The native addon to load in the worker, or null for Node's crypto (lib/merkle/native.ts). */
  readonly nativePath: string | null;
}

interface TaskResult {
  readonly id: number;
  readonly leaves?: Uint8Array;
  readonly root?: Uint8Array;
  readonly error?: string;
}

export function createParallelHasher(init: ParallelHasherInit = {}): ParallelHasher {
  const count = Math.max(1, init.workers ?? Math.min(availableParallelism(), 8));
  const taskBytes = init.taskBytes ?? 2 << 20;
  const workers = Array.from({ length: count }, () => {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    return w;
  });
  let nextId = 0;
  let closed = false;
  const pending = new Map<number, { resolve: (r: TaskResult) => void; reject: (e: Error) => void }>();
  // Idle workers are unref'd so they never hold the process open; busy ones are ref'd so an awaited
  // hash keeps it alive until the answer arrives.
  const setRef = (on: boolean) => workers.forEach((w) => (on ? w.ref() : w.unref()));
  for (const w of workers) {
    w.on('message', (r: TaskResult) => {
      const p = pending.get(r.id);
      pending.delete(r.id);
      if (pending.size === 0) setRef(false);
      p?.resolve(r);
    });
    w.on('error', (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  }
  let rr = 0;
  const run = (task: Omit<Task, 'id'>): Promise<TaskResult> => {
    if (closed) return Promise.reject(new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'merkle: parallel hasher is closed'));
    const id = nextId++;
    const worker = workers[rr++ % workers.length]!;
    return new Promise((resolve, reject) => {
      if (pending.size === 0) setRef(true);
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...task, id });
    });
  };

  async function hashTree(
    source: ParallelSource,
    chunkSize: number,
    header: Uint8Array,
    indexOffset: number,
    signal: AbortSignal | undefined,
  ): Promise<{ root: Uint8Array; leaves: Uint8Array; size: number; chunkCount: number }> {
    assertChunkSize(chunkSize);
    let size: number;
    let sab: SharedArrayBuffer | undefined;
    let base = 0;
    let path: string | undefined;
    if (source instanceof Uint8Array) {
      size = source.length;
      if (source.buffer instanceof SharedArrayBuffer) {
        sab = source.buffer;
        base = source.byteOffset;
      } else {
        sab = new SharedArrayBuffer(size);
        new Uint8Array(sab).set(source);
      }
    } else {
      path = source.path;
      size = (await stat(path)).size;
    }
    const chunkCount = Math.ceil(size / chunkSize);
    const nativePath = nativeMerkle() ? nativeMerklePath() : null;
    // B: a power of two number of chunks per task, so task boundaries are aligned subtree boundaries
    let perTask = 1;
    while (perTask * 2 * chunkSize <= taskBytes) perTask *= 2;
    const tasks: Array<Promise<TaskResult>> = [];
    for (let first = 0; first < chunkCount; first += perTask) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const offset = first * chunkSize;
      const length = Math.min(perTask * chunkSize, size - offset);
      tasks.push(run({ chunkSize, header, indexOffset, firstIndex: first, offset: base + offset, length, nativePath, ...(sab ? { sab } : { path: path! }) }));
    }
    const results = await Promise.all(tasks);
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const leaves = new Uint8Array(chunkCount * HASH_LENGTH);
    const roots = new Uint8Array(results.length * HASH_LENGTH);
    results.forEach((r, j) => {
      if (r.error !== undefined || !r.leaves || !r.root) {
        throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `merkle: parallel hashing failed: ${r.error ?? 'no result'}`);
      }
      leaves.set(r.leaves, j * perTask * HASH_LENGTH);
      roots.set(r.root, j * HASH_LENGTH);
    });
    return { root: rootOfLeaves(roots), leaves, size, chunkCount };
  }

  return {
    async hashFile(source, options = {}) {
      const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
      const t = await hashTree(source, chunkSize, Uint8Array.of(MerkleDomain.leaf), -1, options.signal);
      return { filehash: fileHashOf(t.size, chunkSize, t.root), root: t.root, size: t.size, chunkCount: t.chunkCount, chunkSize, leaves: t.leaves };
    },
    async hashReplica(storerId, filehash, source, options = {}) {
      assertBytes(storerId, STORER_ID_LENGTH, 'replica: storerId');
      assertBytes(filehash, HASH_LENGTH, 'replica: filehash');
      const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
      // header of replica.ts: 0x03 ‖ storerId ‖ filehash ‖ u64be(index), the index rewritten per chunk
      const header = new Uint8Array(1 + STORER_ID_LENGTH + HASH_LENGTH + 8);
      header[0] = MerkleDomain.replicaLeaf;
      header.set(storerId, 1);
      header.set(filehash, 1 + STORER_ID_LENGTH);
      const t = await hashTree(source, chunkSize, header, 1 + STORER_ID_LENGTH + HASH_LENGTH, options.signal);
      return {
        replicaRoot: replicaRootOf(storerId, filehash, t.size, chunkSize, t.root),
        root: t.root,
        size: t.size,
        chunkCount: t.chunkCount,
        chunkSize,
        leaves: t.leaves,
      };
    },
    async close() {
      closed = true;
      for (const p of pending.values()) p.reject(new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'merkle: parallel hasher closed'));
      pending.clear();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
