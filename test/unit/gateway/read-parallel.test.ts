// Verified reads from several storers at once (services/gateway/read.ts, issue 21): a range larger than
// one segment is fetched in segments from the file's storers in parallel, verified, and handed over in
// order; a storer that corrupts a chunk or stalls mid-stream is dropped and its segments are fetched
// elsewhere; reads at chunk and segment edges are exact. Real gRPC storers (test stand-ins serving
// GetFile with proofs, test/unit/gateway/fakes.ts).
import test from 'ava';
import { hashFile } from '../../../lib/merkle/index.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { READ_STALL_MS, ReadFailed, readVerified, type ReadTuning } from '../../../services/gateway/read.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { startFakeStorer, type FakeStorer } from './fakes.js';
import { aliveAfterGc } from '../../helpers/gc.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { blockThread } from '../../helpers/stall.js';

const seeded = testRandom('unit/gateway/read-parallel.test.ts');
logSeedOnFailure(test);

const CHUNK = 4096;
// Segments of two GetFile pieces (the stand-ins send 16 chunks per piece), so a storer can stall inside one.
// The product's stall timeout, except in the stall tests: the stand-in storers share this process, and on a
// starved CI machine (load 20+) 500 ms of silence came from the CPU, not the storers (every storer dropped).
const TUNING: ReadTuning = { segmentBytes: 128 * 1024, window: 3, stallMs: READ_STALL_MS };
const STALL_MS = 2000;

async function world(n: number, size: number): Promise<{ storers: FakeStorer[]; bytes: Buffer; filehash: Uint8Array; clients: Clients; close(): Promise<void> }> {
  const bytes = Buffer.from(seeded.bytes(size));
  const { filehash } = hashFile(bytes, CHUNK);
  const storers = await Promise.all(Array.from({ length: n }, () => startFakeStorer()));
  for (const s of storers) s.files.set(Buffer.from(filehash).toString('hex'), bytes);
  const clients = new Clients();
  return { storers, bytes, filehash, clients, close: async () => (clients.close(), await Promise.all(storers.map((s) => s.close())), undefined) };
}

async function read(w: Awaited<ReturnType<typeof world>>, start: number, end: number, tuning: ReadTuning = TUNING) {
  const parts: Buffer[] = [];
  const dropped = await readVerified(
    w.clients,
    silentLogger,
    { filehash: w.filehash, size: w.bytes.length, chunkSize: CHUNK, start, end, endpoints: w.storers.map((s) => s.endpoint), write: async (b) => void parts.push(Buffer.from(b)), signal: new AbortController().signal },
    tuning,
  );
  return { bytes: Buffer.concat(parts), dropped };
}

test('a read of many segments is served by every storer at once and arrives whole and in order', async (t) => {
  const w = await world(3, 1_000_000);
  try {
    const { bytes, dropped } = await read(w, 0, w.bytes.length - 1);
    t.true(bytes.equals(w.bytes), 'byte-identical');
    t.deepEqual(dropped, {});
    t.true(w.storers.every((s) => s.reads >= 2), `each storer served segments (${w.storers.map((s) => s.reads).join('/')} GetFile calls)`);
    t.is(w.storers.reduce((a, s) => a + s.reads, 0), Math.ceil(w.bytes.length / TUNING.segmentBytes!), 'one GetFile per segment');
  } finally {
    await w.close();
  }
});

test('a storer that corrupts chunks and one that stalls mid-stream are dropped; the read is still byte-identical', async (t) => {
  const w = await world(3, 900_000);
  try {
    w.storers[0]!.fault = 'corrupt-reads';
    w.storers[1]!.fault = 'stall-reads';
    const started = performance.now();
    const { bytes, dropped } = await read(w, 0, w.bytes.length - 1, { ...TUNING, stallMs: STALL_MS });
    const ms = performance.now() - started;
    t.true(bytes.equals(w.bytes), 'byte-identical');
    t.regex(dropped[w.storers[0]!.endpoint] ?? '', /fail their proof/);
    t.regex(dropped[w.storers[1]!.endpoint] ?? '', new RegExp(`stalled: no data for ${STALL_MS} ms`));
    t.false(w.storers[2]!.endpoint in dropped);
    t.log(`${w.bytes.length} bytes in ${ms.toFixed(0)} ms with a corrupting and a stalling storer`);
  } finally {
    await w.close();
  }
});

test('a gateway whose own event loop was blocked for longer than the stall timeout keeps its storers', async (t) => {
  // Timers run before I/O in Node's loop: after a block, every storer's silence timer fired before the
  // bytes waiting in its socket were read, and the read dropped every storer (silenceWatch in read.ts).
  const w = await world(3, 1_000_000);
  try {
    const blockMs = STALL_MS * 2;
    // Once the first segments are asked for (their silence timers armed), the gateway is busy for twice
    // the stall timeout.
    const reading = read(w, 0, w.bytes.length - 1, { ...TUNING, stallMs: STALL_MS });
    await new Promise((r) => setTimeout(r, 20));
    blockThread(blockMs);
    const { bytes, dropped } = await reading;
    t.true(bytes.equals(w.bytes), 'byte-identical');
    t.deepEqual(dropped, {}, 'no storer dropped for the gateway\'s own stall');
  } finally {
    await w.close();
  }
});

test('ranges at chunk and segment edges, and random ones, are exact', async (t) => {
  const w = await world(3, 500_000);
  try {
    const seg = TUNING.segmentBytes!;
    const cases: [number, number][] = [
      [0, seg - 1],
      [0, seg],
      [seg - 1, seg * 3],
      [CHUNK - 1, seg * 2 + CHUNK],
      [seg + 1, w.bytes.length - 1],
      [w.bytes.length - seg - 5, w.bytes.length - 1],
    ];
    for (let i = 0; i < 8; i++) {
      const a = seeded.int(0, w.bytes.length - 1);
      cases.push([a, seeded.int(a, w.bytes.length - 1)]);
    }
    for (const [a, b] of cases) {
      const { bytes } = await read(w, a, b);
      t.true(bytes.equals(w.bytes.subarray(a, b + 1)), `bytes ${a}-${b}`);
    }
  } finally {
    await w.close();
  }
});

test('when no storer can serve a segment the read fails with what was delivered', async (t) => {
  const w = await world(2, 300_000);
  try {
    for (const s of w.storers) s.fault = 'corrupt-reads';
    const err = await t.throwsAsync(read(w, 0, w.bytes.length - 1), { instanceOf: ReadFailed });
    t.is(err!.delivered, 0);
    t.regex(err!.message, /no storer could serve bytes 0-/);
  } finally {
    await w.close();
  }
});

test('a parallel read holds only the segments in its window, not those it has handed over', async (t) => {
  // 1 MB in 8 segments, 3 in flight. A segment is handed over as the views of the messages it came in;
  // when the last byte is handed over, a full GC must free the memory of every earlier piece: the read
  // kept whole segments until it ended once (issue 21: 1220 MB peak RSS during a 1 GB GET).
  const w = await world(3, 1_000_000);
  try {
    const refs: WeakRef<ArrayBufferLike>[] = [];
    const seen = new WeakSet<ArrayBufferLike>();
    let alive = -1;
    let delivered = 0;
    const segments = Math.ceil(w.bytes.length / TUNING.segmentBytes!);
    await readVerified(
      w.clients,
      silentLogger,
      {
        filehash: w.filehash, size: w.bytes.length, chunkSize: CHUNK, start: 0, end: w.bytes.length - 1, endpoints: w.storers.map((s) => s.endpoint), signal: new AbortController().signal,
        write: async (b) => {
          delivered += b.length;
          const last = delivered === w.bytes.length;
          if (last) alive = await aliveAfterGc(refs.filter((r) => r.deref() !== b.buffer));
          if (!seen.has(b.buffer)) {
            seen.add(b.buffer);
            refs.push(new WeakRef(b.buffer));
          }
        },
      },
      TUNING,
    );
    t.true(refs.length >= segments, `at least one piece per segment (${refs.length} memory blocks for ${segments} segments)`);
    t.is(alive, 0, `pieces still held when the last was handed over, of ${refs.length - 1} before it`);
  } finally {
    await w.close();
  }
});
