// `npm run bench -- s3` (issue #22): the S3 endpoint and resumable uploads on the real devnet, each
// figure beside the plain path measured in the same run:
//   - PutObject of 100 MB through `wolk s3` with the AWS SDK v3 (one PUT streamed from the file, and a
//     multipart upload as lib-storage does it: 8 MiB parts, 4 at once), seconds from the first byte to
//     the answer (the endpoint answers once the SetKey is final), against `wolk put` of a file of the
//     same size (the CLI process, to final). Goal >= 0.9x.
//   - the endpoint's own step, which `wolk put` does not have: the body streamed to its spool with MD5
//     and SHA-256 and fsynced (measured here on the same disk), and what that leaves as the ceiling of
//     the ratio: put / (put + spool).
//   - resume overhead: `wolk put` (resumable, tus) against `wolk put --no-resume` (one plain PUT);
//     and a cut: the client SIGKILLed at a seeded point and the command run again, bytes sent after the
//     cut against the bytes missing (the overlap is what the resumable path costs a cut).
// Every upload is a distinct seeded file (no replica is ever shared). One uncounted 100 MB `wolk put`
// warms the devnet up first (the first large upload of a fresh devnet took 2.5x the next in a run).
// Uploads then alternate between the paths, REPS rounds, so a load change on the shared machine hits
// them all; each figure is the median.
// Run it alone: `flock /tmp/wolk-heavy.lock npm run bench -- s3`.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WolkClient } from '../lib/client/client.js';
import { startDevnet, type Devnet } from '../test/helpers/devnet.js';
import { heldOffset, killWhenWritten, OVERLAP_BOUND, putResult, sha256OfKey, stopProcess, uploadUrlOf, wolkPut, writeKeyFile, writeSeededFile, type PutEnv } from '../test/helpers/resume.js';
import { getObjectSha256, multipartUpload, s3Client, startWolkS3, type WolkS3 } from '../test/helpers/s3.js';
import { testRandom } from '../test/helpers/seed.js';
import type { BenchContext } from './harness.js';

const MB = 1e6;
const SIZE = 100 * MB;
const REPS = 3;
const PART = 8 * 1024 * 1024;
const ACCESS = 'WOLKBENCHACCESS';
const SECRET = 'wolk-bench-secret-0123456789';

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** What `wolk s3` does to a body before `wolk put` starts: stream to disk with MD5 and SHA-256, fsync. Seconds. */
async function spoolStep(src: string, dst: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const out = await open(dst, 'w');
  for await (const piece of createReadStream(src, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    md5.update(piece);
    sha.update(piece);
    await out.write(piece);
  }
  await out.sync();
  await out.close();
  md5.digest();
  sha.digest();
  const s = seconds(t0);
  rmSync(dst, { force: true });
  return s;
}

export async function run(ctx: BenchContext): Promise<void> {
  rmSync(ctx.workDir, { recursive: true, force: true });
  mkdirSync(ctx.workDir, { recursive: true });
  ctx.row({ name: 'machine load average (1 min) at the start', value: loadavg()[0]!, unit: '' });
  const rnd = testRandom('bench/s3');
  ctx.log(`seed ${rnd.seed} (WOLK_TEST_SEED)`);
  const home = join(ctx.workDir, 'home');
  mkdirSync(home, { recursive: true });
  const keyFile = join(ctx.workDir, 'key.json');
  const key = rnd.keyPair();
  writeKeyFile(keyFile, key);

  let n = 0;
  /** A fresh seeded 100 MB file and its SHA-256. */
  const source = () => {
    const path = join(ctx.workDir, `src-${++n}.bin`);
    return { path, sha: writeSeededFile(path, SIZE, rnd) };
  };

  ctx.log('starting the devnet (13 processes)…');
  const devnet: Devnet = await startDevnet(join(ctx.workDir, 'devnet'), {
    // As bench/e2e.ts: 6 storers on 2 shared cores fetch every upload at once.
    WOLK_COMMIT_DEADLINE_MS: '600000',
    WOLK_FINALITY_TIMEOUT_MS: '300000',
  });
  let s3proc: WolkS3 | undefined;
  try {
    const gateway = devnet.endpoints().gateway;
    const env: PutEnv = { work: ctx.workDir, home, keyFile, gateway };
    await new WolkClient(gateway, key).claim('bench');
    s3proc = await startWolkS3({ work: ctx.workDir, gateway, keyFile, owner: 'bench', dataDir: join(ctx.workDir, 's3data'), accessKeyId: ACCESS, secret: SECRET });
    const s3 = s3Client(s3proc.endpoint, ACCESS, SECRET);
    await s3.send(new CreateBucketCommand({ Bucket: 'b' }));

    const times = { put: [] as number[], noResume: [] as number[], s3Put: [] as number[], s3Multipart: [] as number[] };
    /** Times one `wolk put` (extra flags) of a fresh file to final; checks the GET. */
    const timedPut = async (label: string, extra: string[]): Promise<number> => {
      const src = source();
      const uri = `wolk://bench/p/${n}.bin`;
      const t0 = process.hrtime.bigint();
      const res = await putResult(wolkPut(env, src.path, uri, extra));
      const s = seconds(t0);
      if (res.state !== 'final') throw new Error(`${label}: ${uri} ended ${res.state}`);
      if ((await sha256OfKey(gateway, uri)) !== src.sha) throw new Error(`${label}: ${uri} read back other bytes`);
      rmSync(src.path, { force: true });
      ctx.log(`${label}: ${s.toFixed(2)} s`);
      return s;
    };
    /** Times one S3 upload of a fresh file (`how` sends it); checks the GET through the endpoint. */
    const timedS3 = async (label: string, how: (key: string, file: string) => Promise<unknown>): Promise<number> => {
      const src = source();
      const k = `o/${n}.bin`;
      const t0 = process.hrtime.bigint();
      await how(k, src.path);
      const s = seconds(t0);
      const got = await getObjectSha256(s3, 'b', k);
      if (got.sha256 !== src.sha) throw new Error(`${label}: ${k} read back other bytes (${got.bytes} bytes)`);
      rmSync(src.path, { force: true });
      ctx.log(`${label}: ${s.toFixed(2)} s`);
      return s;
    };
    await timedPut('warm-up wolk put (not counted)', []);
    for (let rep = 1; rep <= REPS; rep++) {
      ctx.log(`round ${rep} of ${REPS}: wolk put, S3 PutObject, S3 multipart, wolk put --no-resume (100 MB each)`);
      times.put.push(await timedPut(`wolk put #${rep}`, []));
      times.s3Put.push(
        await timedS3(`S3 PutObject #${rep}`, (Key, file) => s3.send(new PutObjectCommand({ Bucket: 'b', Key, Body: createReadStream(file, { highWaterMark: 1 << 20 }), ContentLength: SIZE }))),
      );
      times.s3Multipart.push(
        await timedS3(`S3 multipart #${rep}`, (Key, file) =>
          multipartUpload(s3, { Bucket: 'b', Key, size: SIZE, partSize: PART, concurrency: 4, body: (s, e) => createReadStream(file, { start: s, end: e - 1, highWaterMark: 1 << 20 }) }),
        ),
      );
      times.noResume.push(await timedPut(`wolk put --no-resume #${rep}`, ['--no-resume']));
    }
    const put = median(times.put);
    const mbps = (s: number) => SIZE / MB / s;
    ctx.row({ name: `S3 PutObject 100 MB via wolk s3, one PUT (AWS SDK v3), to final`, value: mbps(median(times.s3Put)), unit: 'MB/s', baseline: mbps(put), baselineName: 'wolk put of 100 MB to final', goal: '>= 0.9x', goalRatio: 0.9 });
    ctx.row({ name: `S3 multipart 100 MB via wolk s3 (${PART / 1048576} MiB parts, 4 at once), to final`, value: mbps(median(times.s3Multipart)), unit: 'MB/s', baseline: mbps(put), baselineName: 'wolk put of 100 MB to final', goal: '>= 0.9x', goalRatio: 0.9 });
    const spoolSrc = source();
    const spool = await spoolStep(spoolSrc.path, join(ctx.workDir, 'spool-dst.bin'));
    rmSync(spoolSrc.path, { force: true });
    ctx.row({ name: "wolk s3's own step: 100 MB spooled (MD5 + SHA-256, fsync)", value: spool, unit: 's', baseline: put, baselineName: 'wolk put of 100 MB to final (s)', lowerIsBetter: true });
    ctx.row({ name: 'ceiling of the S3 ratio: put / (put + spool)', value: put / (put + spool), unit: 'x', goal: '>= 0.9', goalAbsolute: 0.9 });
    ctx.row({ name: 'wolk put 100 MB resumable (tus), to final', value: mbps(put), unit: 'MB/s', baseline: mbps(median(times.noResume)), baselineName: 'wolk put --no-resume (one plain PUT)', goal: '>= 0.9x', goalRatio: 0.9 });

    // ---- a cut: the client killed at a seeded point, the same command again ----
    const src = source();
    const uri = 'wolk://bench/cut/a.bin';
    const at = Math.floor(SIZE * (rnd.int(20, 80) / 100));
    ctx.log(`cut: wolk put SIGKILLed once it has written ${at} bytes, then run again`);
    const t0 = process.hrtime.bigint();
    const written = await killWhenWritten(wolkPut(env, src.path, uri), at, 180_000);
    const held = await heldOffset(gateway, uploadUrlOf(home));
    const again = await putResult(wolkPut(env, src.path, uri));
    const cutSecs = seconds(t0);
    if (again.state !== 'final' || !again.resumable) throw new Error(`the rerun after the cut ended ${again.state} (resumable: ${JSON.stringify(again.resumable)})`);
    if ((await sha256OfKey(gateway, uri)) !== src.sha) throw new Error(`${uri} read back other bytes after the cut`);
    const missing = SIZE - Math.min(SIZE, written);
    const { sent, resumedAt } = again.resumable;
    ctx.log(`cut at ${written} bytes written; the gateway held ${held}; the rerun resumed at ${resumedAt} and sent ${sent}`);
    ctx.row({ name: 'cut and resumed: bytes sent after the cut', value: sent / MB, unit: 'MB', baseline: missing / MB, baselineName: 'bytes missing at the cut', lowerIsBetter: true, goal: `<= missing + ${OVERLAP_BOUND / 1048576} MiB`, goalRatio: (missing + OVERLAP_BOUND) / Math.max(1, missing) });
    ctx.row({ name: 'cut and resumed: overlap (sent twice)', value: Math.max(0, sent - missing) / MB, unit: 'MB', goal: `<= ${(OVERLAP_BOUND / MB).toFixed(1)} MB`, goalAbsolute: OVERLAP_BOUND / MB, lowerIsBetter: true });
    ctx.row({ name: 'cut and resumed: seconds, both runs, to final', value: cutSecs, unit: 's', baseline: put, baselineName: 'wolk put uncut (s)', lowerIsBetter: true });
    rmSync(src.path, { force: true });
  } finally {
    await stopProcess(s3proc?.proc);
    await devnet.stop();
    ctx.row({ name: 'machine load average (1 min) at the end', value: loadavg()[0]!, unit: '' });
    rmSync(ctx.workDir, { recursive: true, force: true });
  }
}
