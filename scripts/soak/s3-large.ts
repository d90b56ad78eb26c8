// `npm run soak -- s3-large` (issue #22): a large object (200 MB by default) through `wolk s3` with the
// AWS SDK for JavaScript v3 on the devnet, as test/e2e/s3.test.ts does with 24 MB (the steps are
// test/helpers/s3.ts): a multipart upload (8 MiB parts, 4 at once, as lib-storage sends them) from a
// seeded file, ListParts halfway through (exactly the parts uploaded, their ETags and sizes), Complete
// (the multipart ETag), then GetObject byte-identical by SHA-256 (streamed), HeadObject, and a ranged
// read at a seeded place across a part boundary. Nothing holds the object in memory.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { devnetCli } from '../../test/helpers/cli.js';
import { startDevnet, type Devnet } from '../../test/helpers/devnet.js';
import { stopProcess, writeSeededFile } from '../../test/helpers/resume.js';
import { getObjectSha256, multipartEtag, multipartUpload, s3Client, startWolkS3 } from '../../test/helpers/s3.js';
import { testRandom } from '../../test/helpers/seed.js';
import { peakRssCheck, startSoak, type SoakReport } from './report.js';

export interface S3LargeSoakOptions {
  readonly seed: number;
  /** Object size in MB (10^6 bytes). */
  readonly mb: number;
  readonly log?: (line: string) => void;
}

const MB = 1e6;
const PART = 8 * 1024 * 1024;
const ACCESS = 'WOLKSOAKACCESS';
const SECRET = 'wolk-soak-secret-0123456789';

/** SHA-256 of bytes [start, end] of a file (a range is small: read in one piece). */
async function sha256OfRange(file: string, start: number, end: number): Promise<string> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(end - start + 1);
    await h.read(buf, 0, buf.length, start);
    return createHash('sha256').update(buf).digest('hex');
  } finally {
    await h.close();
  }
}

export async function runS3LargeSoak(o: S3LargeSoakOptions): Promise<SoakReport> {
  const soak = startSoak('s3-large', o.seed, o.log);
  const { log, check } = soak;
  const size = o.mb * MB;
  const rnd = testRandom('soak/s3-large', o.seed);
  const work = mkdtempSync(join(tmpdir(), 'wolk-soak-s3-'));
  mkdirSync(join(work, 's3data'));
  log(`seed ${o.seed}, a ${o.mb} MB object in ${PART / 1048576} MiB parts; work directory ${work}`);
  log('starting the devnet (13 processes)…');
  const devnet: Devnet = await startDevnet(join(work, 'devnet'), {
    // As bench/e2e.ts: 6 storers on 2 shared cores fetch every upload at once.
    WOLK_COMMIT_DEADLINE_MS: '600000',
    WOLK_FINALITY_TIMEOUT_MS: '300000',
  });
  let s3proc: ChildProcess | undefined;
  let passed = false;
  try {
    const gateway = devnet.endpoints().gateway;
    const cli = devnetCli(work, () => gateway);
    await cli('keygen');
    await cli('claim', 'soak');
    const endpoint = await startWolkS3({ work, gateway, keyFile: join(work, 'key.json'), owner: 'soak', dataDir: join(work, 's3data'), accessKeyId: ACCESS, secret: SECRET });
    s3proc = endpoint.proc;
    const s3 = s3Client(endpoint.endpoint, ACCESS, SECRET);
    await s3.send(new CreateBucketCommand({ Bucket: 'large' }));

    log(`writing ${o.mb} MB…`);
    const file = join(work, 'object.bin');
    const sha = writeSeededFile(file, size, rnd);
    const nParts = Math.ceil(size / PART);
    const listAfter = rnd.int(1, nParts - 1);
    log(`multipart upload: ${nParts} parts, ListParts after ${listAfter}`);
    const up0 = Date.now();
    const up = await multipartUpload(s3, {
      Bucket: 'large',
      Key: 'big/object.bin',
      size,
      partSize: PART,
      concurrency: 4,
      listPartsAfter: listAfter,
      body: (s, e) => createReadStream(file, { start: s, end: e - 1, highWaterMark: 1 << 20 }),
      onPart: (done, total) => {
        if (done % 5 === 0 || done === total) log(`  ${done}/${total} parts up`);
      },
    });
    const upSecs = (Date.now() - up0) / 1000;
    const listed = (up.listed ?? []).map((p) => [p.PartNumber, p.ETag, p.Size]);
    const expected = up.parts.slice(0, listAfter).map((p) => [p.PartNumber, p.ETag, PART]);
    check('ListParts mid-upload: exactly the parts uploaded, ETags and sizes', `${listed.length} listed of ${listAfter} uploaded (${nParts} in all)`, JSON.stringify(listed) === JSON.stringify(expected));
    check('Complete: the multipart ETag (MD5 of the part MD5s, -N)', `${up.done.ETag} in ${upSecs.toFixed(1)} s (${(size / MB / upSecs).toFixed(1)} MB/s, to final)`, up.done.ETag === multipartEtag(up.parts));

    log('GetObject of the whole object…');
    const whole = await getObjectSha256(s3, 'large', 'big/object.bin');
    check('GetObject byte-identical (SHA-256)', `${whole.bytes} bytes, ${whole.sha256.slice(0, 16)}`, whole.sha256 === sha && whole.bytes === size);
    check("Wolk's filehash and round in the metadata", `wolk-filehash ${whole.res.Metadata?.['wolk-filehash']?.slice(0, 16) ?? '(none)'}, wolk-round ${whole.res.Metadata?.['wolk-round'] ?? '(none)'}`, /^[0-9a-f]{64}$/.test(whole.res.Metadata?.['wolk-filehash'] ?? '') && /^\d+$/.test(whole.res.Metadata?.['wolk-round'] ?? ''));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'large', Key: 'big/object.bin' }));
    check('HeadObject: length and ETag', `${head.ContentLength} bytes, ${head.ETag}`, head.ContentLength === size && head.ETag === up.done.ETag);

    // A range across a seeded part boundary, up to 3 MB long.
    const boundary = rnd.int(1, nParts - 1) * PART;
    const start = boundary - rnd.int(1, 1_000_000);
    const end = Math.min(size - 1, boundary + rnd.int(0, 2_000_000));
    const ranged = await getObjectSha256(s3, 'large', 'big/object.bin', `bytes=${start}-${end}`);
    const want = await sha256OfRange(file, start, end);
    check('ranged GetObject across a part boundary', `bytes ${start}-${end}: ${ranged.bytes} bytes, Content-Range ${ranged.res.ContentRange}`, ranged.sha256 === want && ranged.res.ContentRange === `bytes ${start}-${end}/${size}`);
    const rss = peakRssCheck(size);
    check(rss.check, rss.measured, rss.ok);
    passed = soak.passed();
  } finally {
    await stopProcess(s3proc);
    await devnet.stop();
    if (passed) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work} (devnet logs under devnet/logs/)`);
  }
  return soak.report();
}
