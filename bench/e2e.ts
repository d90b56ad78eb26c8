// `npm run bench -- e2e`: the product end to end on the real devnet (13 processes on this machine),
// as a user meets it through the TypeScript client, beside what the same machine does without Wolk in
// the same run (issue #6):
//   - PUT 100 MB: seconds from the client's first byte read to a final SetKey, and MB/s, against
//     SHA-256 of the file plus writing N copies with fsync. Goal >= 0.5x.
//   - GET 100 MB through the TypeScript client (every chunk verified by the gateway, the file re-hashed by
//     the client, SHA-256 checked here), against reading it back,
//     and against the bare grpc-js server stream measured in the same run (issue 21: goal >= 0.5x; the
//     gateway reads segments from several storers at once, services/gateway/read.ts).
//   - a 1 GB PUT and GET, byte-identical by SHA-256, with the gateway's peak RSS (VmHWM, reset before
//     each) during each: goal <= 256 MB.
//   - CPU-seconds per GB of each role during the 100 MB PUT and GET (issue 21), beyond each process's
//     idle rate measured first: gateway (goal <= 1.5x) and the file's storers (goal <= 2x) against the
//     SHA-256 s/GB of the same run; the validators' mean beside it.
//   - the same 100 MB GET with curl (a third-party client, nothing hashed), against the same ceiling.
// Run it alone: `flock /tmp/wolk-heavy.lock npm run bench -- e2e`.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WolkClient } from '../lib/client/client.js';
import { keyFromSeed } from '../lib/client/keys.js';
import { mkdirp } from '../lib/fs/mkdirp.js';
import { startDevnet, type Devnet } from '../test/helpers/devnet.js';
import { peakRssOfPid, type BenchContext } from './harness.js';
import { processCpuMs } from './profile/cpu-breakdown.js';
import { grpcCeiling } from './storer.js';

const MB = 1e6;
const PIECE = 1024 * 1024;
const SMALL = 100 * MB;
const BIG = 1000 * MB;
const N = 3; // the devnet's replication (scripts/devnet-plan.ts)

/** Writes `size` pseudo-random bytes (AES-128-CTR keystream of `seed`) to `path`; returns their SHA-256. */
function writeSource(path: string, size: number, seed: number): string {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(PIECE);
  const sha = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let o = 0; o < size; o += PIECE) {
    const piece = cipher.update(zeros.subarray(0, Math.min(PIECE, size - o)));
    sha.update(piece);
    writeSync(fd, piece);
  }
  closeSync(fd);
  return sha.digest('hex');
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The gateway's own account of a PUT (phasesMs in its answer): where the seconds went. */
function phaseRows(ctx: BenchContext, label: string, put: object): void {
  const p = (put as { phasesMs?: { spool?: number; commit?: number; finality?: number } }).phasesMs;
  if (!p) return;
  const s = (ms: number | undefined) => (ms ?? 0) / 1000;
  ctx.row({ name: `${label}: body to the gateway's disk (hashed)`, value: s(p.spool), unit: 's' });
  ctx.row({ name: `${label}: N storers fetch, verify, fsync, commit`, value: s(p.commit), unit: 's' });
  ctx.row({ name: `${label}: submit to final`, value: s(p.finality), unit: 's' });
}

/** The baseline of a PUT: SHA-256 of the file, then N copies written with fsync. Seconds. */
async function baselinePut(src: string, dir: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const sha = createHash('sha256');
  for await (const piece of createReadStream(src, { highWaterMark: PIECE }) as AsyncIterable<Buffer>) sha.update(piece);
  sha.digest();
  const buf = Buffer.allocUnsafe(PIECE);
  const ifd = openSync(src, 'r');
  for (let c = 0; c < N; c++) {
    const ofd = openSync(join(dir, `copy-${c}.bin`), 'w');
    for (let pos = 0, n; (n = readSync(ifd, buf, 0, PIECE, pos)) > 0; pos += n) writeSync(ofd, buf, 0, n);
    fsyncSync(ofd);
    closeSync(ofd);
  }
  closeSync(ifd);
  return seconds(t0);
}

/** The baseline of a GET: reading one copy back. Seconds. */
function baselineGet(dir: string): number {
  const t0 = process.hrtime.bigint();
  const buf = Buffer.allocUnsafe(PIECE);
  const fd = openSync(join(dir, 'copy-0.bin'), 'r');
  for (let pos = 0, n; (n = readSync(fd, buf, 0, PIECE, pos)) > 0; pos += n);
  closeSync(fd);
  return seconds(t0);
}

/**
 * GET through the TypeScript client (lib/client WolkClient.get: node:http, the file re-hashed with its
 * chunk size as it arrives and checked against the gateway's ETag), into a sink that takes the plain
 * SHA-256 for the byte-identical check; returns seconds and that SHA-256. (Until 2026-12-07 this used
 * fetch(), whose web-stream body reading cost the client about twice curl's time: not what a user of
 * the SDK or of curl meets.)
 */
async function timedGet(client: WolkClient, uri: string): Promise<{ secs: number; sha: string; bytes: number }> {
  const t0 = process.hrtime.bigint();
  const sha = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(piece: Buffer, _enc, done) {
      sha.update(piece);
      bytes += piece.length;
      done();
    },
  });
  await client.get(uri, sink, { chunkSize: 4096 });
  return { secs: seconds(t0), sha: sha.digest('hex'), bytes };
}

/** GET with curl (a third-party client, bytes to /dev/null): seconds, or null without curl. */
function timedCurl(gateway: string, path: string, size: number): number | null {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', new URL(path, gateway).toString()], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  if (Number(r.stdout) !== size) throw new Error(`curl GET ${path}: ${r.stdout} bytes, ${r.stderr}`);
  return seconds(t0);
}

/** Resets a process's VmHWM to its current RSS (Linux: clear_refs 5); false if not allowed. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Peak RSS of `pid` while `work` runs: VmHWM reset before, read (and polled) until it ends. The reset
 * sets the peak to the RSS of that moment, which may hold pages freed by an earlier phase that the
 * allocator kept: `startMB` is that RSS, printed beside the peak.
 */
async function peakDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMB: number; startMB: number; reset: boolean }> {
  const reset = resetPeakRss(pid);
  let peak = peakRssOfPid(pid) ?? 0;
  const startMB = peak / MB;
  const poll = setInterval(() => (peak = Math.max(peak, peakRssOfPid(pid) ?? 0)), 200);
  try {
    const result = await work();
    peak = Math.max(peak, peakRssOfPid(pid) ?? 0);
    return { result, peakMB: peak / MB, startMB, reset };
  } finally {
    clearInterval(poll);
  }
}

/** CPU milliseconds (every thread) of each devnet process so far, by process name. */
function cpuByProcess(devnet: Devnet): Map<string, number> {
  return new Map(devnet.processes().map((p) => [p.name, processCpuMs(p.pid) ?? 0]));
}

/** SHA-256 CPU seconds per GB in this process, this run: the floor of every role that hashes each byte once. */
function sha256SecondsPerGb(): number {
  const data = Buffer.alloc(64 * 1024 * 1024, 7);
  const before = process.cpuUsage();
  for (let i = 0; i < 4; i++) createHash('sha256').update(data).digest();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / ((4 * data.length) / 1e9);
}

/**
 * CPU-seconds per GB of each role during one phase (issue 21), beyond what the process spends idle
 * (its rate over the idle window before, times the phase's seconds): the gateway; each of the file's N
 * storers (the N busiest storers of the PUT: the other storers only follow the chain); and the mean of
 * the validators. Rows beside the SHA-256 floor of the same run.
 */
function cpuRows(ctx: BenchContext, label: string, bytes: number, before: Map<string, number>, after: Map<string, number>, secs: number, idle: Map<string, number>, fileStorers: readonly string[], floor: number): void {
  const perGb = (name: string) => Math.max(0, (after.get(name)! - before.get(name)! - (idle.get(name) ?? 0) * secs) / 1000) / (bytes / 1e9);
  const floorName = 'SHA-256 of the bytes, this process';
  ctx.row({ name: `${label}: gateway CPU-s per GB`, value: perGb('gateway-0'), unit: 's/GB', baseline: floor, baselineName: floorName, goal: '<= 1.5x', goalRatio: 1.5, lowerIsBetter: true });
  for (const s of fileStorers) ctx.row({ name: `${label}: ${s} (holds the file) CPU-s per GB`, value: perGb(s), unit: 's/GB', baseline: floor, baselineName: floorName, goal: '<= 2x', goalRatio: 2, lowerIsBetter: true });
  const validators = [...after.keys()].filter((n) => n.startsWith('consensus-'));
  const mean = validators.reduce((a, n) => a + perGb(n), 0) / Math.max(1, validators.length);
  ctx.row({ name: `${label}: each validator CPU-s per GB (mean of ${validators.length})`, value: mean, unit: 's/GB', baseline: floor, baselineName: floorName, lowerIsBetter: true });
}

export async function run(ctx: BenchContext): Promise<void> {
  rmSync(ctx.workDir, { recursive: true, force: true });
  mkdirp(ctx.workDir);
  const load = loadavg()[0]!;
  ctx.row({ name: 'machine load average (1 min) at the start', value: load, unit: '' });

  // ---- baselines, this machine, this run ----
  const base = join(ctx.workDir, 'baseline');
  mkdirp(base);
  const src = join(ctx.workDir, 'src-100MB.bin');
  const srcSha = writeSource(src, SMALL, 1);
  const putBase = await baselinePut(src, base);
  const getBase = baselineGet(base);
  rmSync(base, { recursive: true, force: true });
  const ceiling = await grpcCeiling(SMALL);
  ctx.log(`grpc-js alone: server stream ${ceiling.get.toFixed(0)} MB/s`);
  ctx.log(`baseline: SHA-256 + ${N} copies with fsync ${putBase.toFixed(2)} s (${(SMALL / MB / putBase).toFixed(0)} MB/s); read back ${(SMALL / MB / getBase).toFixed(0)} MB/s`);

  // ---- the devnet ----
  ctx.log('starting the devnet (13 processes)…');
  const devnet: Devnet = await startDevnet(join(ctx.workDir, 'devnet'), {
    // 6 storers on 2 shared cores fetch every upload at once: allow them far more than the default rate.
    WOLK_COMMIT_DEADLINE_MS: '600000',
    WOLK_FINALITY_TIMEOUT_MS: '300000',
  });
  try {
    const gateway = devnet.endpoints().gateway;
    const gw = devnet.processes().find((p) => p.name === 'gateway-0');
    if (!gw) throw new Error('no gateway-0 in the devnet');
    const client = new WolkClient(gateway, keyFromSeed(new Uint8Array(randomBytes(32))));
    await client.claim('bench');

    // ---- CPU floor and each process's idle CPU rate, this run ----
    const floor = sha256SecondsPerGb();
    ctx.row({ name: 'SHA-256 CPU-s per GB (the floor of the CPU rows)', value: floor, unit: 's/GB' });
    const IDLE_MS = 5000;
    const idleFrom = cpuByProcess(devnet);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleTo = cpuByProcess(devnet);
    const idle = new Map([...idleTo].map(([n, ms]) => [n, (ms - idleFrom.get(n)!) / IDLE_MS]));
    ctx.row({ name: 'idle devnet: CPU of all processes (consensus rounds, followers)', value: [...idle.values()].reduce((a, b) => a + b, 0), unit: 'cores' });
    // The same bare stream again, now beside the idle devnet: what the transport carries under the
    // conditions the GET meets (13 processes on the same cores).
    const ceilingBeside = await grpcCeiling(SMALL);
    ctx.log(`grpc-js beside the idle devnet: server stream ${ceilingBeside.get.toFixed(0)} MB/s`);

    // ---- 100 MB ----
    ctx.log('PUT 100 MB…');
    let cpuBefore = cpuByProcess(devnet);
    let t0 = process.hrtime.bigint();
    const put = await client.put(src, 'wolk://bench/e2e/100MB.bin');
    const putSecs = seconds(t0);
    let cpuAfter = cpuByProcess(devnet);
    const storerCpu = [...cpuAfter].filter(([n]) => n.startsWith('storer-')).map(([n, ms]) => [n, ms - cpuBefore.get(n)!] as const);
    const fileStorers = storerCpu.sort((a, b) => b[1] - a[1]).slice(0, N).map(([n]) => n).sort();
    cpuRows(ctx, 'PUT 100 MB', SMALL, cpuBefore, cpuAfter, putSecs, idle, fileStorers, floor);
    if (!put.round) throw new Error(`the 100 MB PUT was not final: ${JSON.stringify(put)}`);
    ctx.row({ name: `PUT 100 MB end to end (client hash, upload, N=${N} commits, final)`, value: SMALL / MB / putSecs, unit: 'MB/s', baseline: SMALL / MB / putBase, baselineName: `SHA-256 + ${N} copies with fsync`, goal: '>= 0.5x', goalRatio: 0.5 });
    ctx.row({ name: 'PUT 100 MB: seconds to final', value: putSecs, unit: 's', baseline: putBase, baselineName: `SHA-256 + ${N} copies with fsync`, lowerIsBetter: true });
    phaseRows(ctx, 'PUT 100 MB', put);
    ctx.log('GET 100 MB…');
    cpuBefore = cpuByProcess(devnet);
    const get = await timedGet(client, put.uri);
    cpuAfter = cpuByProcess(devnet);
    cpuRows(ctx, 'GET 100 MB', SMALL, cpuBefore, cpuAfter, get.secs, idle, fileStorers, floor);
    if (get.sha !== srcSha) throw new Error(`the 100 MB GET returned other bytes (${get.bytes} bytes, sha ${get.sha})`);
    ctx.row({ name: 'GET 100 MB (verified chunks, SHA-256 checked)', value: SMALL / MB / get.secs, unit: 'MB/s', baseline: SMALL / MB / getBase, baselineName: 'reading a copy back', goal: '>= 0.5x', goalRatio: 0.5 });
    ctx.row({ name: 'GET 100 MB vs the transport', value: SMALL / MB / get.secs, unit: 'MB/s', baseline: ceiling.get, baselineName: 'bare grpc-js server stream (one process to another)', goal: '>= 0.5x', goalRatio: 0.5 });
    ctx.row({ name: 'GET 100 MB vs the transport beside the idle devnet', value: SMALL / MB / get.secs, unit: 'MB/s', baseline: ceilingBeside.get, baselineName: 'bare grpc-js server stream, measured with the devnet running' });
    const curlSecs = timedCurl(gateway, '/wolk/bench/e2e/100MB.bin', SMALL);
    if (curlSecs !== null) ctx.row({ name: 'GET 100 MB with curl (bytes to /dev/null) vs the transport', value: SMALL / MB / curlSecs, unit: 'MB/s', baseline: ceiling.get, baselineName: 'bare grpc-js server stream (one process to another)', goal: '>= 0.5x', goalRatio: 0.5 });
    rmSync(src, { force: true });

    // ---- 1 GB: byte-identical, and the gateway's memory ----
    ctx.log('writing the 1 GB source…');
    const big = join(ctx.workDir, 'src-1GB.bin');
    const bigSha = writeSource(big, BIG, 2);
    ctx.log('PUT 1 GB…');
    t0 = process.hrtime.bigint();
    const bigPut = await peakDuring(gw.pid, () => client.put(big, 'wolk://bench/e2e/1GB.bin'));
    const bigPutSecs = seconds(t0);
    if (!bigPut.result.round) throw new Error(`the 1 GB PUT was not final: ${JSON.stringify(bigPut.result)}`);
    ctx.row({ name: 'gateway RSS when the 1 GB PUT began', value: bigPut.startMB, unit: 'MB' });
    ctx.row({ name: 'gateway peak RSS (VmHWM) during a 1 GB PUT', value: bigPut.peakMB, unit: 'MB', goal: '<= 256 MB', goalAbsolute: 256, lowerIsBetter: true });
    ctx.row({ name: 'PUT 1 GB end to end', value: BIG / MB / bigPutSecs, unit: 'MB/s', baseline: SMALL / MB / putBase, baselineName: `SHA-256 + ${N} copies with fsync (100 MB)` });
    ctx.row({ name: 'PUT 1 GB: seconds to final', value: bigPutSecs, unit: 's' });
    phaseRows(ctx, 'PUT 1 GB', bigPut.result);
    ctx.log('GET 1 GB…');
    const bigGet = await peakDuring(gw.pid, () => timedGet(client, 'wolk://bench/e2e/1GB.bin'));
    ctx.row({ name: 'gateway RSS when the 1 GB GET began', value: bigGet.startMB, unit: 'MB' });
    ctx.row({ name: 'gateway peak RSS (VmHWM) during a 1 GB GET', value: bigGet.peakMB, unit: 'MB', goal: '<= 256 MB', goalAbsolute: 256, lowerIsBetter: true });
    ctx.row({ name: 'GET 1 GB', value: BIG / MB / bigGet.result.secs, unit: 'MB/s', baseline: SMALL / MB / getBase, baselineName: 'reading a copy back (100 MB)' });
    const identical = bigGet.result.sha === bigSha && bigGet.result.bytes === BIG;
    ctx.row({ name: '1 GB GET byte-identical to the PUT (SHA-256)', value: identical ? 1 : 0, unit: 'yes=1', goal: '= 1', goalAbsolute: 1 });
    if (!bigPut.reset || !bigGet.reset) ctx.log('could not reset VmHWM: the RSS figures are peaks since the gateway started');
    ctx.row({ name: 'machine load average (1 min) at the end', value: loadavg()[0]!, unit: '' });
    rmSync(big, { force: true });
  } catch (err) {
    // The work directory goes at the end: say what the gateway logged last, the first place to look.
    const log = join(devnet.dir, 'logs', 'gateway-0.log');
    if (existsSync(log)) ctx.log(`the run failed; the last lines of ${log}:\n${readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    await devnet.stop();
    rmSync(ctx.workDir, { recursive: true, force: true });
  }
}
