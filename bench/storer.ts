// `npm run bench -- storer`: the storer PROCESS over loopback gRPC against the disk it writes to.
//   - SetFile / GetFile of a 100 MB file vs writing (with fsync) / reading the same bytes straight to a
//     file: ratio, goal >= 0.5x.
//   - SetShare / GetShare of 10,000 4 KiB chunks per second vs the same puts (sync) / gets on RocksDB
//     directly in this process.
//   - Peak RSS (VmHWM) of a fresh storer during a 1 GB SetFile: goal <= 200 MB.
//   - File bytes in blob-fs vs blob-kv (RocksDB), 4 MiB segments in-process: why files go to blob-fs.
//   - The grpc-js ceiling: a bare server process streaming the same bytes with no work per message.
import { credentials, makeGenericClientConstructor, Metadata, type ClientWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import { ceilingService } from './storer/grpc-ceiling-server.js';
import { createCipheriv } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { StorerServiceClient, type GetFileResponse, type SetFileRequest, type SetFileResponse } from '../gen/wolk/storer/v1/storer.js';
import type { FileInfo } from '../gen/wolk/common/v1/storage.js';
import { FileHasher, hashFile } from '../lib/merkle/index.js';
import { sha256 } from '../lib/crypto/hash.js';
import { openFsBlobStore } from '../lib/storage/blob-fs.js';
import { createKvBlobStore } from '../lib/storage/blob-kv.js';
import { Bucket } from '../lib/storage/kv.js';
import { openRocksKv } from '../lib/storage/rocksdb.js';
import { peakRssOfPid, type BenchContext } from './harness.js';
import { bulkChannelOptions } from '../lib/grpc/flow-control.js';
import { setFileData, setFileStart, unsignedWrite } from '../lib/chain/write-request.js';

const MB = 1e6;
const PIECE = 1024 * 1024;
const FILE_BYTES = 100 * MB;
const BIG_BYTES = 1000 * MB;
const CHUNKS = 10_000;
const CHUNK_CONCURRENCY = 32;

/** Deterministic pseudo-random bytes [offset, offset+length) of stream `seed` (AES-128-CTR keystream). */
function bytesAt(seed: number, offset: number, length: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed, 0);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8); // offsets here are multiples of 16
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(length));
}

interface Storer {
  child: ChildProcess;
  client: StorerServiceClient;
  stop(): Promise<void>;
}

/**
 * The storer as deployed runs compiled JavaScript (npm run serve:storer), not through tsx, whose loader
 * alone adds ~40 MB of RSS. The bench bundles services/storer/main.ts with esbuild (already installed as
 * tsx's compiler; packages stay external) into its work directory; if that fails it falls back to tsx.
 */
async function compileStorer(outDir: string, log: (m: string) => void): Promise<string[]> {
  try {
    const esbuild = (await import('esbuild')) as unknown as {
      build(o: Record<string, unknown>): Promise<unknown>;
    };
    const outfile = join(outDir, 'storer.mjs');
    await esbuild.build({ entryPoints: ['services/storer/main.ts'], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
    return [outfile];
  } catch (err) {
    log(`could not compile the storer (${(err as Error).message}); running it through tsx`);
    return ['--import', 'tsx', 'services/storer/main.ts'];
  }
}

/** grpc-js alone, server in its own process (bench/storer/grpc-ceiling-server.ts): MB/s out (server stream) and in (client stream). */
export async function grpcCeiling(bytes: number): Promise<{ get: number; put: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'storer', 'grpc-ceiling-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /port (\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`grpc ceiling server exited (${code})`)));
    });
    const Client = makeGenericClientConstructor(ceilingService as unknown as ServiceDefinition, 'Ceiling');
    const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20, ...bulkChannelOptions }) as unknown as {
      get(req: Buffer): NodeJS.ReadableStream;
      put(cb: (err: Error | null, res?: Buffer) => void): NodeJS.WritableStream;
      close(): void;
    };
    const req = Buffer.alloc(8);
    req.writeBigUInt64BE(BigInt(bytes));
    let best = { get: 0, put: 0 };
    for (let round = 0; round < 2; round++) {
      let t = performance.now();
      const got = await new Promise<number>((resolve, reject) => {
        let n = 0;
        const s = c.get(req);
        s.on('data', (d: Buffer) => (n += d.length));
        s.on('end', () => resolve(n));
        s.on('error', reject);
      });
      if (got !== bytes) throw new Error(`ceiling Get returned ${got} bytes`);
      const get = bytes / MB / ((performance.now() - t) / 1000);
      t = performance.now();
      const payload = Buffer.alloc(PIECE, 0x5a);
      await new Promise<void>((resolve, reject) => {
        const w = c.put((err) => (err ? reject(err) : resolve()));
        let sent = 0;
        const pump = () => {
          while (sent < bytes) {
            const n = Math.min(PIECE, bytes - sent);
            sent += n;
            if (!w.write(n === PIECE ? payload : payload.subarray(0, n))) {
              w.once('drain', pump);
              return;
            }
          }
          w.end();
        };
        pump();
      });
      const put = bytes / MB / ((performance.now() - t) / 1000);
      best = { get: Math.max(best.get, get), put: Math.max(best.put, put) };
    }
    c.close();
    return best;
  } finally {
    child.kill('SIGTERM');
  }
}

async function startStorer(dataDir: string, args: string[]): Promise<Storer> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_LOG_LEVEL: 'info', WOLK_MAX_FILE_BYTES: '2GiB' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`storer did not start: ${buf}`)), 120_000);
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /"msg":"started".*?"grpc":"([^"]+)"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stderr!.resume(); // keep draining what it logs later
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`storer exited (${code}): ${buf}`)));
  });
  const client = new StorerServiceClient(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20, 'grpc.max_send_message_length': 16 << 20, ...bulkChannelOptions });
  return {
    child,
    client,
    stop: () =>
      new Promise<void>((resolve) => {
        client.close();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** SetFile with backpressure: pieces are produced on demand, so the bench process stays small too. */
function setFileStreaming(client: StorerServiceClient, info: FileInfo, piece: (offset: number, length: number) => Buffer): Promise<SetFileResponse> {
  const size = Number(info.size);
  return new Promise((resolve, reject) => {
    const call: ClientWritableStream<SetFileRequest> = client.setFile(new Metadata(), (err, res) => (err ? reject(err) : resolve(res)));
    call.write(setFileStart(info));
    let offset = 0;
    const pump = () => {
      while (offset < size) {
        const n = Math.min(PIECE, size - offset);
        const ok = call.write(setFileData(piece(offset, n)));
        offset += n;
        if (!ok) return void call.once('drain', pump);
      }
      call.end();
    };
    pump();
  });
}

async function getFileBytes(client: StorerServiceClient, filehash: Buffer): Promise<number> {
  let n = 0;
  for await (const m of client.getFile({ filehash }) as AsyncIterable<GetFileResponse>) n += m.data.length;
  return n;
}

function unaryP<Req, Res>(fn: (req: Req, cb: (err: Error | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/** Runs `count` async jobs with at most `concurrency` in flight; returns seconds taken. */
async function timed(count: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function run(ctx: BenchContext): Promise<void> {
  rmSync(ctx.workDir, { recursive: true, force: true });
  mkdirSync(ctx.workDir, { recursive: true });

  // ---- baseline: the same 100 MB straight to a file, fsync, read back ----
  const data = bytesAt(1, 0, FILE_BYTES);
  const raw = join(ctx.workDir, 'raw.bin');
  let t0 = process.hrtime.bigint();
  const fd = openSync(raw, 'w');
  for (let o = 0; o < data.length; o += PIECE) writeSync(fd, data, o, Math.min(PIECE, data.length - o));
  fsyncSync(fd);
  closeSync(fd);
  const rawWrite = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t0) / 1e9);
  t0 = process.hrtime.bigint();
  const rfd = openSync(raw, 'r');
  const rbuf = Buffer.allocUnsafe(PIECE);
  let read = 0;
  for (let n; (n = readSync(rfd, rbuf, 0, PIECE, read)) > 0; ) read += n;
  closeSync(rfd);
  const rawRead = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t0) / 1e9);
  rmSync(raw);

  // The same bytes read straight from the device, bypassing the page cache (dd iflag=direct): what a
  // storer reading a file it did not just write faces.
  const rawFile = join(ctx.workDir, 'raw-cold.bin');
  {
    const f = openSync(rawFile, 'w');
    for (let o = 0; o < data.length; o += PIECE) writeSync(f, data, o, Math.min(PIECE, data.length - o));
    fsyncSync(f);
    closeSync(f);
  }
  const dd = spawnSync('dd', [`if=${rawFile}`, 'of=/dev/null', 'bs=1M', 'iflag=direct'], { encoding: 'utf8' });
  const ddRate = /([\d.]+) ([kMG]?B)\/s/.exec(dd.stderr ?? '');
  const coldRead = ddRate ? Number(ddRate[1]) * ({ kB: 1e-3, MB: 1, GB: 1e3 } as Record<string, number>)[ddRate[2]!]! : undefined;
  rmSync(rawFile);
  ctx.log(`raw disk: write+fsync ${rawWrite.toFixed(0)} MB/s, read ${rawRead.toFixed(0)} MB/s from the page cache, ${coldRead?.toFixed(0) ?? '?'} MB/s direct`);

  const storerArgs = await compileStorer(ctx.workDir, ctx.log);

  // ---- the storer process over loopback ----
  const storer = await startStorer(join(ctx.workDir, 'storer'), storerArgs);
  try {
    const digest = hashFile(data, 4096);
    const info: FileInfo = { filehash: Buffer.from(digest.filehash), size: BigInt(FILE_BYTES), chunkSize: 4096 };
    t0 = process.hrtime.bigint();
    await setFileStreaming(storer.client, info, (o, n) => data.subarray(o, o + n));
    const setRate = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t0) / 1e9);
    ctx.row({ name: 'SetFile 100 MB (storer process, loopback gRPC)', value: setRate, unit: 'MB/s', baseline: rawWrite, baselineName: 'write + fsync to a file', goal: '>= 0.5x', goalRatio: 0.5 });
    t0 = process.hrtime.bigint();
    const got = await getFileBytes(storer.client, info.filehash);
    if (got !== FILE_BYTES) throw new Error(`GetFile returned ${got} bytes`);
    const getRate = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t0) / 1e9);
    if (coldRead !== undefined) {
      ctx.row({ name: 'GetFile 100 MB (storer process, loopback gRPC)', value: getRate, unit: 'MB/s', baseline: coldRead, baselineName: 'read from the disk (dd iflag=direct)', goal: '>= 0.5x', goalRatio: 0.5 });
    }
    ctx.row({ name: 'GetFile 100 MB (same run, vs page cache)', value: getRate, unit: 'MB/s', baseline: rawRead, baselineName: 'read from a file in the page cache' });
    // what grpc-js itself can carry here, with no work per message: the ceiling of both figures above
    const ceiling = await grpcCeiling(FILE_BYTES);
    ctx.row({ name: 'SetFile 100 MB vs the grpc-js ceiling', value: setRate, unit: 'MB/s', baseline: ceiling.put, baselineName: 'bare grpc-js client stream, 1 MiB messages' });
    ctx.row({ name: 'GetFile 100 MB vs the grpc-js ceiling', value: getRate, unit: 'MB/s', baseline: ceiling.get, baselineName: 'bare grpc-js server stream, 1 MiB messages' });

    // ---- chunks ----
    const chunks = Array.from({ length: CHUNKS }, (_, i) => bytesAt(2, i * 4096, 4096));
    const ids = chunks.map((c) => Buffer.from(sha256(c)));
    const c = storer.client;
    const setShares = await timed(CHUNKS, CHUNK_CONCURRENCY, (i) => unaryP(c.setShare.bind(c), { data: chunks[i]!, chunkId: ids[i]!, ...unsignedWrite() }));
    const getShares = await timed(CHUNKS, CHUNK_CONCURRENCY, (i) => unaryP(c.getShare.bind(c), { chunkId: ids[i]! }));
    const kv = await openRocksKv(join(ctx.workDir, 'direct-kv'));
    const key = (i: number) => Buffer.concat([Buffer.of(Bucket.chunk), ids[i]!]);
    const directPut = await timed(CHUNKS, CHUNK_CONCURRENCY, (i) => kv.put(key(i), chunks[i]!, { sync: true }));
    const directGet = await timed(CHUNKS, CHUNK_CONCURRENCY, (i) => kv.get(key(i)));
    await kv.close();
    ctx.row({ name: `SetShare 4 KiB (${CHUNKS}, ${CHUNK_CONCURRENCY} in flight)`, value: CHUNKS / setShares, unit: 'chunks/s', baseline: CHUNKS / directPut, baselineName: 'RocksDB sync put, in process' });
    ctx.row({ name: `GetShare 4 KiB (${CHUNKS}, ${CHUNK_CONCURRENCY} in flight)`, value: CHUNKS / getShares, unit: 'chunks/s', baseline: CHUNKS / directGet, baselineName: 'RocksDB get, in process' });
  } finally {
    await storer.stop();
  }

  // ---- peak RSS of a fresh storer during a 1 GB SetFile ----
  {
    ctx.log('hashing the 1 GB file (generated on the fly, never held whole)');
    const hasher = new FileHasher({ chunkSize: 4096 });
    for (let o = 0; o < BIG_BYTES; o += PIECE) hasher.update(bytesAt(3, o, Math.min(PIECE, BIG_BYTES - o)));
    const d = hasher.digest();
    const big = await startStorer(join(ctx.workDir, 'storer-big'), storerArgs);
    try {
      const before = peakRssOfPid(big.child.pid!) ?? 0;
      let peak = before;
      const poll = setInterval(() => (peak = Math.max(peak, peakRssOfPid(big.child.pid!) ?? 0)), 100);
      t0 = process.hrtime.bigint();
      await setFileStreaming(big.client, { filehash: Buffer.from(d.filehash), size: BigInt(BIG_BYTES), chunkSize: 4096 }, (o, n) => bytesAt(3, o, n));
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(poll);
      peak = Math.max(peak, peakRssOfPid(big.child.pid!) ?? 0);
      ctx.row({ name: 'storer peak RSS (VmHWM) during a 1 GB SetFile', value: peak / MB, unit: 'MB', goal: '<= 200 MB', goalAbsolute: 200, lowerIsBetter: true });
      ctx.row({ name: 'storer RSS at start (VmHWM before the upload)', value: before / MB, unit: 'MB' });
      ctx.row({ name: 'SetFile 1 GB (storer process, loopback gRPC)', value: BIG_BYTES / MB / secs, unit: 'MB/s', baseline: rawWrite, baselineName: 'write + fsync to a file (100 MB)' });
    } finally {
      await big.stop();
    }
  }

  // ---- where file bytes go: blob-fs vs blob-kv, 4 MiB segments ----
  {
    const segment = 4 * 1024 * 1024;
    const measure = async (store: import('../lib/storage/blob.js').BlobStore) => {
      let t = process.hrtime.bigint();
      for (let o = 0, s = 0; o < FILE_BYTES; o += segment, s++) await store.put(`f/x/${s}`, data.subarray(o, Math.min(FILE_BYTES, o + segment)));
      const write = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      for (let o = 0, s = 0; o < FILE_BYTES; o += segment, s++) {
        for (let p = 0; p < segment && o + p < FILE_BYTES; p += PIECE) await store.get(`f/x/${s}`, p, PIECE);
      }
      const readRate = FILE_BYTES / MB / (Number(process.hrtime.bigint() - t) / 1e9);
      await store.close();
      return { write, read: readRate };
    };
    const fsStore = await measure(await openFsBlobStore(join(ctx.workDir, 'blob-fs')));
    const kvStore = await measure(createKvBlobStore(await openRocksKv(join(ctx.workDir, 'blob-kv')), { bucket: Bucket.fileChunk, ownsKv: true }));
    ctx.row({ name: 'file bytes to blob-kv (RocksDB), 4 MiB segments, durable', value: kvStore.write, unit: 'MB/s', baseline: fsStore.write, baselineName: 'blob-fs (files, fsync)' });
    ctx.row({ name: 'file bytes from blob-kv (RocksDB), 1 MiB reads', value: kvStore.read, unit: 'MB/s', baseline: fsStore.read, baselineName: 'blob-fs (files)' });
  }
  rmSync(ctx.workDir, { recursive: true, force: true });
}
