// `npm run bench -- ceph`: what Ceph costs a storer (issue 9). The same BlobStore figures on local disk, on
// the RBD-mounted volume (ext4 over rbd-fuse + loop, what Rook's rook-ceph-block gives a pod) and on native
// RADOS, beside `rados bench` on the same cluster in the same run:
//   - 4 KiB put/s and get/s (SetShare/GetShare-sized objects), 16 in flight, every put durable;
//   - a 100 MB file written and read as segments (SetFile/GetFile), 4 segments in flight;
//   - the segment size swept on RADOS (1, 4, 16, 64 MiB), to choose one object per range of chunks.
// Local disk and the RBD volume use the storer's file store (lib/storage/blob-fs.ts: temp file, fsync,
// rename, fsync of the directory per put).
// Brings the dev cluster up itself (scripts/ceph/up.sh; stops it again if it was not running) or fails
// with the reason. Figures on stderr as they come; the table on stdout and in bench/results/ceph.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './harness.js';
import type { BlobStore } from '../lib/storage/blob.js';
import { openFsBlobStore } from '../lib/storage/blob-fs.js';
import { openRadosBlobStore } from '../lib/storage/blob-rados.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPTS = join(REPO, 'scripts', 'ceph');
const MB = 1e6;
const MiB = 1024 * 1024;
const FILE_BYTES = 100 * MB;
const SMALL = 4096;
const SMALL_SECONDS = 3;
const SMALL_IN_FLIGHT = 16;
const SEGMENT_IN_FLIGHT = 4;
/** The segment size the storer should use on every backend; the sweep below is the evidence. */
export const RECOMMENDED_SEGMENT_BYTES = 4 * MiB;
const SWEEP = [1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB];

// ---- the cluster ---------------------------------------------------------------------------------------

function script(name: string, args: string[] = []): string {
  const r = spawnSync(join(SCRIPTS, name), args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' / ');
    throw new Error(`bench ceph: scripts/ceph/${name} ${args.join(' ')} failed: ${why}`);
  }
  return r.stdout.trim();
}

function clusterRunning(): boolean {
  return spawnSync(join(SCRIPTS, 'status.sh'), [], { encoding: 'utf8' }).status === 0;
}

/** Drops the kernel's page cache so reads hit the device (RBD: the cluster), not memory. */
function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

interface RadosBenchResult {
  mbPerSec: number;
  iops: number;
}

/** Runs `rados bench` and parses its summary ("Bandwidth (MB/sec)" is MiB/s; converted to MB/s). */
function radosBench(conf: string, pool: string, args: string[]): RadosBenchResult {
  const out = execFileSync('rados', ['-c', conf, '-p', pool, 'bench', ...args], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const bw = /^Bandwidth \(MB\/sec\):\s+([\d.]+)/m.exec(out);
  const iops = /^Average IOPS:\s+([\d.]+)/m.exec(out);
  if (!bw || !iops) throw new Error(`bench ceph: could not parse rados bench ${args.join(' ')} output:\n${out.slice(-600)}`);
  return { mbPerSec: (Number(bw[1]) * MiB) / MB, iops: Number(iops[1]) };
}

// ---- measurements --------------------------------------------------------------------------------------

/** Runs `op(i)` with `inFlight` workers until `seconds` pass; returns completed ops per second. */
async function opsPerSecond(seconds: number, inFlight: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await op(next++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/** Runs `count` jobs with `inFlight` at a time. */
async function pool(count: number, inFlight: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

interface FileFigures {
  writeMBs: number;
  readMBs: number;
}

/** Writes `data` as segments of `segment` bytes (one object each), then reads it back and checks it. */
async function fileThroughput(store: BlobStore, prefix: string, data: Uint8Array, segment: number, beforeRead?: () => void): Promise<FileFigures> {
  const n = Math.ceil(data.length / segment);
  const name = (i: number) => `${prefix}/${String(i).padStart(6, '0')}`;
  let t = performance.now();
  await pool(n, SEGMENT_IN_FLIGHT, (i) => store.put(name(i), data.subarray(i * segment, Math.min(data.length, (i + 1) * segment))));
  const writeMBs = data.length / MB / ((performance.now() - t) / 1000);
  // Dropping the page cache also evicts node's own code pages; one small untimed read first faults them
  // back in, so the timed reads measure the store, not the reloading of this process.
  await store.put(`${prefix}-warm`, data.subarray(0, 65536));
  beforeRead?.();
  await store.get(`${prefix}-warm`);
  await store.remove(`${prefix}-warm`);
  const back = new Uint8Array(data.length);
  t = performance.now();
  await pool(n, SEGMENT_IN_FLIGHT, async (i) => {
    const got = await store.get(name(i));
    if (!got) throw new Error(`segment ${name(i)} is missing`);
    back.set(got, i * segment);
  });
  const readMBs = data.length / MB / ((performance.now() - t) / 1000);
  if (!Buffer.from(back.buffer, back.byteOffset, back.length).equals(data)) throw new Error(`${prefix}: the file read back differs from what was written`);
  for (let i = 0; i < n; i++) await store.remove(name(i)); // one at a time: cleanup is not measured
  return { writeMBs, readMBs };
}

interface SmallFigures {
  putsPerSec: number;
  getsPerSec: number;
}

async function smallObjects(store: BlobStore, prefix: string): Promise<SmallFigures> {
  const payload = randomBytes(SMALL);
  const name = (i: number) => `${prefix}/${i.toString(16).padStart(8, '0')}`;
  let written = 0;
  const putsPerSec = await opsPerSecond(SMALL_SECONDS, SMALL_IN_FLIGHT, async (i) => {
    await store.put(name(i), payload);
    written = Math.max(written, i + 1);
  });
  let seed = 12345;
  const getsPerSec = await opsPerSecond(SMALL_SECONDS, SMALL_IN_FLIGHT, async () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const got = await store.get(name(seed % written));
    if (!got || got.length !== SMALL) throw new Error('a 4 KiB object read back wrong');
  });
  return { putsPerSec, getsPerSec };
}

async function cleanup(store: BlobStore, prefix: string): Promise<void> {
  const names: string[] = [];
  for await (const n of store.list(prefix)) names.push(n);
  for (const n of names) await store.remove(n);
}

// ---- the run -------------------------------------------------------------------------------------------

export async function run(ctx: BenchContext): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench ceph: needs root (it installs Ceph packages, mounts an RBD image and uses loop devices)');
  if (!existsSync('/dev/fuse')) throw new Error('bench ceph: /dev/fuse is missing, so the RBD volume cannot be mounted on this machine');

  ctx.row({ name: 'machine load average (1 min) at start, for context', value: loadavg()[0]!, unit: `on ${cpus().length} cpus` });
  ctx.log('installing Ceph packages if missing');
  script('install.sh');
  const wasRunning = clusterRunning();
  ctx.log(wasRunning ? 'dev cluster already up' : 'bringing the dev cluster up');
  const conf = script('up.sh');
  script('build-addon.sh');
  const mount = join(ctx.workDir, 'rbd');
  mkdirSync(mount, { recursive: true });
  script('rbd-mount.sh', ['wolk-bench', '4G', mount]);
  const runTag = `bench-${Date.now().toString(36)}`;
  const localDir = join(ctx.workDir, 'local', runTag);
  const rbdDir = join(mount, runTag);
  const stores: Array<{ label: string; store: BlobStore }> = [];
  try {
    const rados = await openRadosBlobStore({ confPath: conf, pool: 'wolk', namespace: runTag });
    stores.push({ label: 'local disk', store: await openFsBlobStore(localDir) });
    stores.push({ label: 'RBD volume', store: await openFsBlobStore(rbdDir) });
    stores.push({ label: 'RADOS', store: rados });

    // Baselines first, on the same cluster: 4 MiB objects x 16 in flight (rados bench's default), and 4 KiB.
    ctx.log('rados bench -p wolk 10 write / seq (4 MiB objects, 16 in flight)');
    const rbWrite = radosBench(conf, 'wolk', ['10', 'write', '--no-cleanup', '--run-name', runTag]);
    const caches = dropCaches(); // reads everywhere below start cold: from the disk under the OSD, not memory
    if (!caches) ctx.log('cannot drop the page cache: reads may come from memory');
    const rbSeq = radosBench(conf, 'wolk', ['10', 'seq', '--run-name', runTag]);
    const rbSeqWarm = radosBench(conf, 'wolk', ['10', 'seq', '--run-name', runTag]); // same objects again: OSD-side page cache warm
    execFileSync('rados', ['-c', conf, '-p', 'wolk', 'cleanup', '--run-name', runTag], { stdio: 'ignore' });
    ctx.log('rados bench -p wolk 5 write -b 4096 -t 16 / rand');
    const rb4kWrite = radosBench(conf, 'wolk', ['5', 'write', '-b', String(SMALL), '-t', String(SMALL_IN_FLIGHT), '--no-cleanup', '--run-name', `${runTag}-4k`]);
    const rb4kRead = radosBench(conf, 'wolk', ['5', 'rand', '-t', String(SMALL_IN_FLIGHT), '--run-name', `${runTag}-4k`]);
    execFileSync('rados', ['-c', conf, '-p', 'wolk', 'cleanup', '--run-name', `${runTag}-4k`], { stdio: 'ignore' });
    ctx.row({ name: 'rados bench write (4 MiB objects, 16 in flight)', value: rbWrite.mbPerSec, unit: 'MB/s' });
    ctx.row({ name: `rados bench seq read (4 MiB objects, 16 in flight${caches ? ', cold cache' : ''})`, value: rbSeq.mbPerSec, unit: 'MB/s' });
    ctx.row({ name: 'rados bench seq read (4 MiB objects, 16 in flight, warm)', value: rbSeqWarm.mbPerSec, unit: 'MB/s' });
    ctx.row({ name: 'rados bench write -b 4096 -t 16', value: rb4kWrite.iops, unit: 'ops/s' });
    ctx.row({ name: 'rados bench rand read 4 KiB -t 16 (warm)', value: rb4kRead.iops, unit: 'ops/s' });

    const data = randomBytes(FILE_BYTES);
    const localFile: FileFigures[] = [];
    for (const { label, store } of stores) {
      ctx.log(`${label}: 4 KiB objects for ${SMALL_SECONDS}s each way, then a 100 MB file in ${RECOMMENDED_SEGMENT_BYTES / MiB} MiB segments`);
      const small = await smallObjects(store, 'share');
      const file = await fileThroughput(store, 'file', data, RECOMMENDED_SEGMENT_BYTES, dropCaches);
      await cleanup(store, 'share/');
      if (label === 'local disk') localFile.push(file);
      const onRados = label === 'RADOS';
      const cacheNote = caches ? ', cold cache' : ', page cache warm';
      ctx.row({
        name: `${label}: 4 KiB put (durable, 16 in flight)`,
        value: small.putsPerSec,
        unit: 'ops/s',
        ...(onRados ? { baseline: rb4kWrite.iops, baselineName: 'rados bench 4K write' } : {}),
        ...(onRados ? { goal: '>= 0.5x rados bench', goalRatio: 0.5 } : {}),
      });
      ctx.row({
        name: `${label}: 4 KiB get (16 in flight, warm)`,
        value: small.getsPerSec,
        unit: 'ops/s',
        ...(onRados ? { baseline: rb4kRead.iops, baselineName: 'rados bench 4K rand', goal: '>= 0.5x rados bench', goalRatio: 0.5 } : {}),
      });
      ctx.row({
        name: `${label}: 100 MB file write (4 MiB segments, 4 in flight)`,
        value: file.writeMBs,
        unit: 'MB/s',
        baseline: rbWrite.mbPerSec,
        baselineName: 'rados bench write',
        ...(onRados ? { goal: '>= 0.5x rados bench', goalRatio: 0.5 } : {}),
      });
      ctx.row({
        name: `${label}: 100 MB file read${cacheNote}`,
        value: file.readMBs,
        unit: 'MB/s',
        baseline: rbSeq.mbPerSec,
        baselineName: 'rados bench seq',
      });
      if (onRados) {
        // The same without dropping the page cache in between (what a GetFile right after SetFile sees).
        const warm = await fileThroughput(store, 'file-warm', data, RECOMMENDED_SEGMENT_BYTES);
        ctx.row({
          name: `${label}: 100 MB file read right after write`,
          value: warm.readMBs,
          unit: 'MB/s',
          baseline: rbSeqWarm.mbPerSec,
          baselineName: 'rados bench seq, warm',
          goal: '>= 0.5x rados bench',
          goalRatio: 0.5,
        });
      }
    }

    // Segment size on RADOS: one object per range of chunks. Too small costs a round trip per segment;
    // too large serialises the file into few big writes and pins big buffers (limit: 90 MB per write).
    for (const seg of SWEEP) {
      ctx.log(`RADOS: 100 MB file in ${seg / MiB} MiB segments`);
      const f = await fileThroughput(rados, `sweep-${seg}`, data, seg);
      ctx.row({ name: `RADOS segment ${seg / MiB} MiB: 100 MB write`, value: f.writeMBs, unit: 'MB/s', baseline: rbWrite.mbPerSec, baselineName: 'rados bench write' });
      ctx.row({ name: `RADOS segment ${seg / MiB} MiB: 100 MB read right after write`, value: f.readMBs, unit: 'MB/s', baseline: rbSeqWarm.mbPerSec, baselineName: 'rados bench seq, warm' });
    }
  } finally {
    for (const { store } of stores) await store.close().catch(() => undefined);
    await rm(localDir, { recursive: true, force: true });
    await rm(rbdDir, { recursive: true, force: true }).catch(() => undefined);
    try {
      script('rbd-umount.sh', [mount]);
    } finally {
      if (!wasRunning) script('down.sh');
    }
  }
}
