// A storer whose disk fills up (issue 20 "Disk faults"): the real storer process on a small ext4
// filesystem on a loop device, with two ballast files taking part of it.
//   1. Uploads, three at a time, until a whole batch is refused: refused up front ("does not fit").
//   2. The first ballast goes; four uploads that each fit alone but not together run at once: the
//      storer reserves room per upload, so the ones that fit are acknowledged and the others refused
//      up front (not all four failing on a full disk).
//   3. The second ballast goes; during an upload that fitted when it began, another tenant of the disk
//      fills it: the upload hits ENOSPC mid-write and is refused.
// Every refusal is RESOURCE_EXHAUSTED, the process stays up, every acknowledged file reads back
// byte-identical and passes an audit, no refused upload is visible, and no bytes of refused uploads
// are left on the disk. 4. The other tenant's file goes (space returns) and uploads succeed again.
// Needs root (losetup, mount), as the Ceph tier does.
import test from 'ava';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileInfo } from '../../gen/wolk/common/v1/storage.js';
import type { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { verifyFileAudit } from '../../lib/chain/commitment.js';
import { spawnService, waitForLog } from '../helpers/process.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';
import { getFile, infoOf, pattern, setFile, storerClient, unary } from '../unit/storer/client.js';
import { setFileData, setFileStart } from '../../lib/chain/write-request.js';

const seeded = testRandom('e2e/storer-disk-full.test.ts');
logSeedOnFailure(test);

const DISK_BYTES = 64 * 1024 * 1024;
/** Each of the two ballast files. */
const BALLAST_BYTES = 8 * 1024 * 1024;
const FILE_BYTES = 3 * 1024 * 1024;
/** Uploads tried before giving up on filling the disk (64 MiB / 3 MiB ≈ 21 fit at most). */
const MAX_UPLOADS = 60;

const why = process.getuid?.() !== 0 ? 'needs root (losetup, mount)' : !existsSync('/usr/sbin/mkfs.ext4') && !existsSync('/sbin/mkfs.ext4') ? 'needs mkfs.ext4 (e2fsprogs)' : null;

const work = mkdtempSync(join(tmpdir(), 'wolk-disk-full-'));
const image = join(work, 'disk.img');
const mnt = join(work, 'mnt');
let mounted = false;
let storer: ChildProcess | undefined;

function writeBallast(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const block = Buffer.alloc(1024 * 1024, 0x5a);
    for (let o = 0; o < bytes; o += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - o));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function bytesUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return total;
}

interface Upload {
  readonly seed: number;
  readonly size: number;
  readonly info: FileInfo;
}

const plan = (size = FILE_BYTES): Upload => {
  const seed = seeded.int(1, 2 ** 30);
  return { seed, size, info: infoOf(pattern(size, seed)) };
};

test.after.always(() => {
  storer?.kill('SIGKILL');
  if (mounted) execFileSync('umount', ['-l', mnt]);
  rmSync(work, { recursive: true, force: true });
});

(why ? test.skip : test.serial)(`a storer whose disk fills answers RESOURCE_EXHAUSTED, keeps serving reads and audits, corrupts nothing, leaks nothing, and recovers when space returns${why ? ` (skipped: ${why})` : ''}`, async (t) => {
  t.timeout(300_000);
  truncateSync(openAndClose(image), DISK_BYTES);
  execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  mkdirSync(mnt);
  execFileSync('mount', ['-o', 'loop', image, mnt]);
  mounted = true;
  writeBallast(join(mnt, 'ballast-1'), BALLAST_BYTES);
  writeBallast(join(mnt, 'ballast-2'), BALLAST_BYTES);
  const dataDir = join(mnt, 'storer');
  storer = spawnService('storer', { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_LOG_LEVEL: 'info' });
  const started = await waitForLog(storer, 'started', 30_000);
  storer.stderr?.resume();
  const client = storerClient(started['grpc'] as string);
  t.teardown(() => client.close());

  const acked = new Map<string, { up: Upload; replicaRoot: Buffer }>();
  const refused: { up: Upload; code: number | undefined; details: string }[] = [];
  const kinds = new Map<string, number>();
  const upload = async (batch: Upload[]) => {
    const results = await Promise.allSettled(batch.map((up) => setFile(client, up.info, pattern(up.size, up.seed))));
    results.forEach((r, i) => {
      const up = batch[i]!;
      if (r.status === 'fulfilled') return void acked.set(up.info.filehash.toString('hex'), { up, replicaRoot: r.value.replicaRoot });
      const e = r.reason as ServiceError;
      refused.push({ up, code: e.code, details: e.details });
      const kind = e.details.replace(/[0-9]+/g, 'N');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    });
    return results;
  };

  // 1. Fill it: three uploads at a time until a whole batch is refused.
  let tried = 0;
  for (;;) {
    t.true(tried < MAX_UPLOADS, `the disk should be full after ${MAX_UPLOADS} uploads of ${FILE_BYTES} bytes`);
    if (tried >= MAX_UPLOADS) return;
    tried += 3;
    if ((await upload([plan(), plan(), plan()])).every((r) => r.status === 'rejected')) break;
  }
  const filled = acked.size;
  t.log(`1. ${tried} uploads of ${FILE_BYTES} bytes: ${filled} acknowledged, ${refused.length} refused`);
  t.true(filled > 0, 'some uploads fit before the disk filled');

  // 2. Room for 1.6 of four concurrent uploads: each passes the up-front check, the disk fills mid-write.
  rmSync(join(mnt, 'ballast-1'));
  const free = Number((await unary(client.getInfo.bind(client), {})).stats?.bytesFree ?? 0n);
  const size = Math.floor((free * 0.4) / 4096) * 4096;
  const before = refused.length;
  await upload([plan(size), plan(size), plan(size), plan(size)]);
  t.log(`2. ${free} bytes free, four concurrent uploads of ${size} bytes: ${acked.size - filled} acknowledged, ${refused.length - before} refused`);
  t.true(refused.length > before, 'the uploads that did not fit were refused');
  t.true(acked.size > filled, 'the ones that fit were acknowledged');
  t.true(refused.slice(before).every((r) => /reserved by uploads in progress/.test(r.details)), 'refused up front, for the room the others reserved');

  // 3. Another tenant fills the disk while an upload that fitted is in flight.
  rmSync(join(mnt, 'ballast-2'));
  const midWrite = plan(6 * 1024 * 1024);
  const midBytes = pattern(midWrite.size, midWrite.seed);
  const answer = new Promise<void>((resolve, reject) => {
    const call = client.setFile(new Metadata(), { deadline: Date.now() + 60_000 }, (err) => (err ? reject(err) : resolve()));
    call.write(setFileStart(midWrite.info));
    call.write(setFileData(midBytes.subarray(0, 3 * 1024 * 1024)), () => {
      const filler = fillDisk(join(mnt, 'other-tenant'));
      t.log(`3. after 3 MiB of a ${midWrite.size}-byte upload, another tenant wrote ${filler} bytes and filled the disk`);
      call.write(setFileData(midBytes.subarray(3 * 1024 * 1024)));
      call.end();
    });
  });
  const mid = await answer.then(
    () => null,
    (e: ServiceError) => e,
  );
  t.is(mid?.code, status.RESOURCE_EXHAUSTED, `an upload that meets a full disk mid-write is refused: ${mid?.details}`);
  if (mid) {
    refused.push({ up: midWrite, code: mid.code, details: mid.details });
    kinds.set(mid.details.replace(/[0-9]+/g, 'N'), (kinds.get(mid.details.replace(/[0-9]+/g, 'N')) ?? 0) + 1);
  } else acked.set(midWrite.info.filehash.toString('hex'), { up: midWrite, replicaRoot: Buffer.alloc(0) });
  t.log(`refusals: ${JSON.stringify(Object.fromEntries(kinds))}`);
  for (const r of refused) t.is(r.code, status.RESOURCE_EXHAUSTED, `a refusal is RESOURCE_EXHAUSTED, not a crash or an internal error: ${r.details}`);
  t.is(storer.exitCode, null, 'the storer is still running');

  // Reads and audits still served, nothing corrupted, refused uploads invisible, nothing leaked.
  const info = await unary(client.getInfo.bind(client), {});
  t.log(`GetInfo: ${info.stats?.files} files, ${info.stats?.bytesFree} bytes free`);
  for (const { up, replicaRoot } of acked.values()) {
    const got = await getFile(client, { filehash: up.info.filehash });
    t.true(got.bytes.equals(pattern(up.size, up.seed)), 'an acknowledged file reads back byte-identical');
    const challenge = seeded.bytes(32);
    const { audit } = await unary(client.verifyFile.bind(client), { filehash: up.info.filehash, challenge, k: 8 });
    t.deepEqual(verifyFileAudit(audit!, { storerId: audit!.storerId, replicaRoot, filehash: up.info.filehash, size: up.info.size, chunkSize: 4096 }, challenge, 8), { ok: true }, 'and passes an audit');
  }
  for (const { up } of refused) {
    const err = await getFile(client, { filehash: up.info.filehash }).then(
      () => null,
      (e: ServiceError) => e,
    );
    t.is(err?.code, status.NOT_FOUND, 'a refused upload is not visible');
  }
  t.is(bytesUnder(join(dataDir, 'blobs', 'objects')), [...acked.values()].reduce((a, x) => a + x.up.size, 0), 'no bytes of refused uploads remain');

  // 4. Space returns: the storer takes uploads again.
  rmSync(join(mnt, 'other-tenant'));
  for (let i = 0; i < 2; i++) {
    const up = plan();
    const res = await setFile(client, up.info, pattern(up.size, up.seed));
    t.is(res.replicaRoot.length, 32, 'an upload after space returned is acknowledged');
    const got = await getFile(client, { filehash: up.info.filehash });
    t.true(got.bytes.equals(pattern(FILE_BYTES, up.seed)), 'and reads back');
  }
});

/** Writes 1 MiB blocks to `path` until the disk is full; returns the bytes written. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024, 0xa5);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    try {
      fsyncSync(fd);
    } catch {
      // a full disk may refuse the metadata flush too; the blocks written are what matter
    }
    closeSync(fd);
  }
  return written;
}

/** Creates an empty file and returns its path. */
function openAndClose(path: string): string {
  closeSync(openSync(path, 'w'));
  return path;
}
