// scripts/soak/churn-figures.ts: the churn soak's arithmetic (restore times per dead storer and key,
// repair bytes from the storers' log lines), apart from the devnet the soak runs.
import test from 'ava';
import { chunkSetFigures, churnPassed, createRestoreTracker, fetchesInLog, repairBytes, spread, type ChurnFigures } from '../../../scripts/soak/churn-figures.js';
import type { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';

test('restore tracker: a key is restored when the dead storer no longer names it, timed from the kill', (t) => {
  const tr = createRestoreTracker();
  tr.observe('storer-4', 1000, ['a/f/k1', 'a/f/k2'], 1000);
  tr.observe('storer-4', 1000, ['a/f/k2'], 5000);
  t.deepEqual(tr.restoreMs(), [4000]);
  t.deepEqual(tr.pending().map((p) => p.path), ['a/f/k2']);
  // A key committed by the storer just before its death and final after it: affected from the kill.
  tr.observe('storer-4', 1000, ['a/f/k2', 'a/f/k3'], 6000);
  tr.observe('storer-4', 1000, [], 9000);
  t.deepEqual(tr.restoreMs().sort((a, b) => a - b), [4000, 8000, 8000]);
  t.is(tr.pending().length, 0);
});

test('restore tracker: pairs are per dead storer; a key listed again (indexer lag) is pending again', (t) => {
  const tr = createRestoreTracker();
  tr.observe('storer-1', 0, ['a/f/k'], 0);
  tr.observe('joiner-0', 10_000, ['a/f/k'], 10_000);
  tr.observe('storer-1', 0, [], 12_000);
  t.is(tr.pairs().length, 2);
  t.deepEqual(tr.restoreMs(), [12_000]);
  tr.observe('storer-1', 0, ['a/f/k'], 13_000);
  t.deepEqual(tr.restoreMs(), []);
  t.is(tr.pending().length, 2);
  tr.observe('storer-1', 0, [], 20_000);
  tr.observe('joiner-0', 10_000, [], 21_000);
  t.deepEqual(tr.restoreMs().sort((a, b) => a - b), [11_000, 20_000]);
});

test('fetchesInLog reads the storer log lines, skipping others and lines cut by SIGKILL', (t) => {
  const log = [
    '{"level":"info","msg":"fetched and committed a file","file":"aa","size":1000,"source":"127.0.0.1:9001","ms":12}',
    '{"level":"info","msg":"registered on chain as a storer"}',
    '{"level":"info","msg":"fetched and committed a file","file":"bb","size":40',
    '{"level":"info","msg":"fetched and committed a file","file":"bb","size":4096,"source":"127.0.0.1:7000","ms":3}',
  ].join('\n');
  t.deepEqual(fetchesInLog(log), [
    { file: 'aa', size: 1000, source: '127.0.0.1:9001' },
    { file: 'bb', size: 4096, source: '127.0.0.1:7000' },
  ]);
});

test('repairBytes: fetches from the gateway are uploads; the rest, per repair and file size', (t) => {
  const gateway = new Set(['127.0.0.1:7000']);
  const fetches = [
    { file: 'aa', size: 1000, source: '127.0.0.1:7000' }, // upload: three storers fetch from the gateway
    { file: 'aa', size: 1000, source: '127.0.0.1:7000' },
    { file: 'aa', size: 1000, source: '127.0.0.1:7000' },
    { file: 'aa', size: 1000, source: '127.0.0.1:9001' }, // one repair; two storers selected themselves and fetched
    { file: 'aa', size: 1000, source: '127.0.0.1:9002' },
    { file: 'bb', size: 500, source: '127.0.0.1:9001' }, // two repairs of bb, one fetch each
    { file: 'bb', size: 500, source: '127.0.0.1:9003' },
    { file: 'cc', size: 200, source: '127.0.0.1:9001' }, // fetched for a Repair never applied
  ];
  const files = new Map([
    ['aa', { size: 1000, repairs: 1 }],
    ['bb', { size: 500, repairs: 2 }],
    ['cc', { size: 200, repairs: 0 }],
    ['dd', { size: 9, repairs: 0 }],
  ]);
  const r = repairBytes(fetches, gateway, files);
  t.is(r.repairs, 3);
  t.is(r.fetchedBytes, 2000 + 1000 + 200);
  t.is(r.wastedBytes, 200);
  t.deepEqual([...r.perFile].sort(), [1, 2]);
  t.is(r.aggregate, 3200 / (1000 + 2 * 500));
  t.is(repairBytes([], gateway, new Map()).aggregate, null);
});

test('spread: p50 / p99 / max, nulls when empty', (t) => {
  t.deepEqual(spread([]), { n: 0, p50: null, p99: null, max: null });
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  t.deepEqual(spread(xs), { n: 100, p50: 50, p99: 99, max: 100 });
});

test('chunkSetFigures: sets under N are listed unless the repairer reported them lost with no live committer; repairs counted', (t) => {
  const id = (n: number) => Buffer.alloc(32, n);
  const c = (n: number) => ({ storerId: id(n), size: 4096n }) as StorageCommitment;
  const set = (round: number, storers: number[], repairs = 0): ChunkSetRecord => ({ round: BigInt(round), newChunksHash: Buffer.alloc(32), commitments: storers.map(c), repairedRound: repairs > 0 ? BigInt(round + 10) : 0n, repairs });
  const dead = new Set([1, 2, 3].map((n) => id(n).toString('hex')));
  const log = [
    '{"msg":"chunk set repair submitted","round":"5"}',
    '{"msg":"chunk set repair submitted","round":"6"}',
    '{"msg":"repair: chunk set lost","round":"8","evidence":[]}',
    '{"msg":"repair: chunk set lost","round":"9","evidence":[]}',
  ].join('\n');
  const f = chunkSetFigures(
    [
      set(5, [1, 4, 5, 6], 1), // 3 live: at N
      set(6, [1, 2, 4, 7], 1), // 2 live: under N though repaired once
      set(7, [1, 2, 3, 4]), // 1 live
      set(8, [1, 2, 3]), // none live, reported lost
      set(9, [1, 4, 5]), // reported lost, but 2 live: under N, not lost
    ],
    dead,
    3,
    log,
  );
  t.deepEqual(f, { named: 5, repaired: 2, repairsSubmitted: 2, lost: 1, underN: ['block 6: 2 live of 4', 'block 7: 1 live of 4', 'block 9: 2 live of 3'] });
  // The soak fails on a set under N or lost; figures from before chunk-set repair (no field) pass on the rest.
  const base = { filesUploaded: 3, filesLost: 0, getByteIdentical: { checked: 3, identical: 3, proofsVerified: 3 }, affectedKeys: 2, restoredKeys: 2, underReplicated: [] } as unknown as ChurnFigures;
  t.true(churnPassed(base));
  t.false(churnPassed({ ...base, chunkSets: f }));
  t.false(churnPassed({ ...base, chunkSets: { ...f, underN: [] } }), 'a lost set fails the soak');
  t.true(churnPassed({ ...base, chunkSets: { ...f, underN: [], lost: 0 } }));
});
