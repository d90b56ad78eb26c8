// The state tree (lib/smt): batch updates per second in memory and on RocksDB, proofs per second, and
// proof size in a tree of 100,000 keys (compact form vs the full list of siblings).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import type { BenchContext } from '../harness.js';
import type { KvStore } from '../../lib/storage/kv.js';
import { createMemoryKv } from '../../lib/storage/memory.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { EMPTY, SparseMerkleTree, encodeSmtProof, verifySmtProof, type SmtChange, type SmtProof } from '../../lib/smt/index.js';

const KEYS = 100_000;
const BATCH = 10_000;

function keyOf(i: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`wolk://bench/c/${i}`).digest());
}

/** Builds a 100k-key tree in 10k batches, then times 5 more batches (half updates, half inserts). */
async function updates(kv: KvStore, sync: boolean): Promise<{ perSecond: number; tree: SparseMerkleTree; root: Uint8Array; keys: Uint8Array[] }> {
  const tree = new SparseMerkleTree({ kv });
  const keys = Array.from({ length: KEYS + 5 * BATCH }, (_, i) => keyOf(i));
  let root = EMPTY;
  for (let b = 0; b < KEYS / BATCH; b++) {
    const changes: SmtChange[] = keys.slice(b * BATCH, (b + 1) * BATCH).map((key) => ({ key, value: randomBytes(100) }));
    root = await tree.update(root, changes, { sync });
  }
  let total = 0;
  for (let b = 0; b < 5; b++) {
    const changes: SmtChange[] = [];
    for (let i = 0; i < BATCH / 2; i++) changes.push({ key: keys[(b * 7919 + i * 13) % KEYS]!, value: randomBytes(100) });
    for (let i = 0; i < BATCH / 2; i++) changes.push({ key: keys[KEYS + b * BATCH + i]!, value: randomBytes(100) });
    const t = performance.now();
    root = await tree.update(root, changes, { sync });
    total += performance.now() - t;
  }
  return { perSecond: (5 * BATCH) / (total / 1000), tree, root, keys: keys.slice(0, KEYS) };
}

export async function benchSmt(ctx: BenchContext): Promise<void> {
  // shared machines: the load at the start says how far to trust wall-clock figures
  ctx.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
  ctx.log('memory: 100k keys, then 10k-key batches');
  const mem = await updates(createMemoryKv(), false);
  ctx.row({ name: 'SMT updates, 10k-key batches on 100k keys (memory)', value: mem.perSecond, unit: 'updates/s' });

  const dir = mkdtempSync(join(ctx.workDir, 'smt-'));
  try {
    ctx.log(`rocksdb in ${dir}`);
    const kv = await openRocksKv(dir);
    try {
      const rocks = await updates(kv, true);
      ctx.row({
        name: 'SMT updates, 10k-key batches on 100k keys (RocksDB, sync batch)',
        value: rocks.perSecond,
        unit: 'updates/s',
        baseline: mem.perSecond,
        baselineName: 'in-memory store',
      });
      // cold reads: a fresh tree object (empty cache) over the same store
      const cold = new SparseMerkleTree({ kv, cacheSize: 0 });
      const t = performance.now();
      for (let i = 0; i < 2000; i++) await cold.get(rocks.root, rocks.keys[(i * 37) % KEYS]!);
      ctx.row({ name: 'SMT get, no node cache (RocksDB)', value: 2000 / ((performance.now() - t) / 1000), unit: 'gets/s' });
    } finally {
      await kv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // proofs against the in-memory 100k tree
  const { tree, root, keys } = mem;
  const proofs: SmtProof[] = [];
  let t = performance.now();
  for (let i = 0; i < 5000; i++) proofs.push(await tree.prove(root, keys[(i * 31) % KEYS]!));
  ctx.row({ name: 'SMT proof generation (membership, 100k keys)', value: 5000 / ((performance.now() - t) / 1000), unit: 'proofs/s' });
  const values = await Promise.all(proofs.map((_, i) => tree.get(root, keys[(i * 31) % KEYS]!)));
  t = performance.now();
  for (let i = 0; i < proofs.length; i++) {
    if (!verifySmtProof(root, keys[(i * 31) % KEYS]!, values[i]!, proofs[i]!)) throw new Error('proof did not verify');
  }
  ctx.row({ name: 'SMT proof verification', value: proofs.length / ((performance.now() - t) / 1000), unit: 'verifications/s' });

  const compact = proofs.reduce((s, p) => s + encodeSmtProof(p).length, 0) / proofs.length;
  const full = proofs.reduce((s, p) => s + 2 + 32 * p.siblings.length + 1 + 64, 0) / proofs.length;
  const depth = proofs.reduce((s, p) => s + p.siblings.length, 0) / proofs.length;
  ctx.row({
    name: `SMT membership proof size, 100k keys (mean depth ${depth.toFixed(1)})`,
    value: compact,
    unit: 'bytes',
    baseline: full,
    baselineName: 'every sibling sent in full',
    goal: '<= 1x',
    goalRatio: 1,
    lowerIsBetter: true,
  });
  ctx.row({
    name: 'SMT membership proof size vs a plain 256-level SMT',
    value: compact,
    unit: 'bytes',
    baseline: 256 * 32,
    baselineName: '256 siblings of 32 bytes',
    lowerIsBetter: true,
  });
}
