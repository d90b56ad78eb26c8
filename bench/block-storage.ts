// Block storage cost: a ledger on RocksDB finalizes B blocks of T SetName transactions while a StorerChunks
// writes each block's chunks to 3 in-process storers (R = 3) before "proposing"; prints per block the
// number of state chunks and the time to compute them, and the overall SetShare throughput.
// Run: node --import tsx bench/block-storage.ts [blocks=5] [txs=200]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRocksKv } from '../lib/storage/rocksdb.js';
import { sha256 } from '../lib/crypto/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { Ledger } from '../services/consensus/ledger/ledger.js';
import { StorerChunks } from '../services/consensus/remote-state.js';
import { createStorerNode } from '../services/storer/node.js';
import { startInProcess } from '../test/helpers/service.js';
import { committeeOf, finalize } from '../test/unit/consensus/block-storage-fixture.js';
import { makeNet, newUser, setName } from '../test/unit/consensus/ledger-fixture.js';

const storers = await Promise.all([0, 1, 2].map(() => startInProcess('storer', createStorerNode)));
const net = makeNet({ storers: 3, replication: 3 });
const refs = storers.map((s, i) => ({ id: net.storers[i]!.id, endpoint: s.endpoints['grpc']! }));
const w = new StorerChunks({ storers: refs, replicas: 3, callTimeoutMs: 30000, logger: silentLogger });
let storeMs = 0;
let chunks = 0;
const kv = await openRocksKv(join(mkdtempSync(join(tmpdir(), 'bsb-')), 'db'));
const blockStore = {
  async store(_round: number, cs: readonly import('../services/consensus/block-data.js').BlockChunk[]) {
    const t0 = performance.now();
    const s = await w.store(cs, 600_000); // wait for every chunk: this measures the writes, not the budget
    storeMs += performance.now() - t0;
    chunks += cs.length;
    if (s.complete !== s.chunks) throw new Error(`only ${s.complete} of ${s.chunks} chunks on 3 storers`);
  },
};
const a = await Ledger.open({ kv, genesis: net.genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) }, blockStore });
const c = committeeOf(net);
const B = Number(process.argv[2] ?? 5);
const T = Number(process.argv[3] ?? 200);
for (let b = 0; b < B; b++) {
  const txs = Array.from({ length: T }, (_, i) => setName(newUser(), `u${b}x${i}`));
  const root = new Uint8Array(a.tipHeader().stateRoot);
  const t0 = performance.now();
  await finalize(a, c, txs);
  const tFin = performance.now() - t0;
  const t1 = performance.now();
  const cs = await a.chunksOf([], root, new Uint8Array(a.tipHeader().stateRoot));
  const tChunks = performance.now() - t1;
  console.log(JSON.stringify({ block: b + 1, txs: T, stateChunks: cs.length, chunksOfMs: Math.round(tChunks), finalizeMs: Math.round(tFin) }));
}
console.log(JSON.stringify({ totalChunks: chunks, storeMs: Math.round(storeMs), chunksPerSec: Math.round(chunks / (storeMs / 1000)) }));
w.close();
await kv.close();
for (const s of storers) await s.close();
