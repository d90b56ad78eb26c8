// The spool: what it writes is the body, the hashes are those of the body, a body over the limit is
// refused early (Content-Length) or while streaming, and nothing is left behind on failure.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { hashFile } from '../../../lib/merkle/index.js';
import { PassThrough } from 'node:stream';
import { SpoolError, SpoolTail, spoolBody, spoolPath } from '../../../services/gateway/spool.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/gateway/spool.test.ts');
logSeedOnFailure(test);

function pieces(total: number, piece = 65536): { stream: Readable; bytes: Buffer } {
  const bytes = seeded.bytes(total);
  const parts: Buffer[] = [];
  for (let o = 0; o < total; o += piece) parts.push(bytes.subarray(o, o + piece));
  return { stream: Readable.from(parts), bytes };
}

test('spooled bytes, sha-256 and filehash equal the body\'s', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-'));
  const { stream, bytes } = pieces(1_000_003);
  const s = await spoolBody(stream, { dir, maxBytes: 2_000_000, chunkSize: 4096, declaredLength: bytes.length });
  t.true(readFileSync(s.path).equals(bytes));
  t.is(s.size, bytes.length);
  t.deepEqual(Buffer.from(s.sha256), createHash('sha256').update(bytes).digest());
  t.deepEqual(s.digest.filehash, hashFile(bytes, 4096).filehash);
  s.remove();
  t.deepEqual(readdirSync(dir), []);
});

test('too large: refused from Content-Length before reading, or while streaming; no file left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-'));
  const early = await t.throwsAsync(spoolBody(pieces(10).stream, { dir, maxBytes: 1000, chunkSize: 4096, declaredLength: 5000 }));
  t.is((early as SpoolError).code, 'too-large');
  const late = await t.throwsAsync(spoolBody(pieces(300_000).stream, { dir, maxBytes: 100_000, chunkSize: 4096 }));
  t.is((late as SpoolError).code, 'too-large');
  t.deepEqual(readdirSync(dir), []);
});

test('a body shorter than its Content-Length is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-'));
  const err = await t.throwsAsync(spoolBody(pieces(1000).stream, { dir, maxBytes: 1 << 20, chunkSize: 4096, declaredLength: 2000 }));
  t.is((err as SpoolError).code, 'length-mismatch');
  t.deepEqual(readdirSync(dir), []);
});

/** Reads a tail's range into one buffer, recording how many bytes had arrived when each piece came. */
async function follow(tail: SpoolTail, end: number, signal = AbortSignal.timeout(30_000)) {
  const parts: Buffer[] = [];
  for await (const p of tail.pieces(0, end, signal, 4096)) parts.push(p);
  return Buffer.concat(parts);
}

test('a spool read behind its writer: bytes as they arrive, the last one only once the body is complete and checked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-'));
  const bytes = seeded.bytes(50_000);
  const body = new PassThrough();
  const tail = new SpoolTail(spoolPath(dir));
  const spooling = spoolBody(body, { dir, maxBytes: 100_000, chunkSize: 4096, tail });
  let got = 0;
  const reading = (async () => {
    const parts: Buffer[] = [];
    for await (const p of tail.pieces(0, bytes.length, AbortSignal.timeout(30_000), 4096)) {
      parts.push(p);
      got += p.length;
    }
    return Buffer.concat(parts);
  })();
  body.write(bytes.subarray(0, 30_000));
  // Whole pieces while the body arrives: 7 of 4096 bytes, the rest waits for more.
  const whole = Math.floor(30_000 / 4096) * 4096;
  await pollUntil(() => got, { what: `the reader to follow the first ${whole} bytes`, deadlineMs: 10_000, until: (n) => n === whole });
  body.end(bytes.subarray(30_000));
  const spooled = await spooling;
  await pollUntil(() => got, { what: 'the reader to reach the held-back last byte', deadlineMs: 10_000, until: (n) => n === bytes.length - 1 });
  t.is(got, bytes.length - 1, 'the last byte waits for the check');
  tail.complete();
  t.true((await reading).equals(bytes), 'the reader got the body, byte for byte');
  t.true((await follow(tail, bytes.length)).equals(bytes), 'a reader that starts after the end reads it all');
  spooled.remove();
});

test('a spool read behind its writer: readers stop when the body fails, or is refused, or ends short', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-'));
  // The client goes away mid-body.
  const body = new PassThrough();
  const tail = new SpoolTail(spoolPath(dir));
  const spooling = spoolBody(body, { dir, maxBytes: 100_000, chunkSize: 4096, tail });
  const reading = follow(tail, 40_000);
  body.write(seeded.bytes(10_000));
  await pollUntil(() => tail.written, { what: 'bytes on file', deadlineMs: 10_000, until: (n) => n === 10_000 });
  body.destroy(new Error('aborted'));
  await t.throwsAsync(spooling);
  t.true(tail.failed);
  await t.throwsAsync(reading, { instanceOf: SpoolError }, 'the reader fails with the body');
  t.deepEqual(readdirSync(dir), [], 'no spool file left');

  // The body arrived but is not the signed file: the checker fails the tail.
  const refused = new SpoolTail(spoolPath(dir));
  const done = await spoolBody(Readable.from([seeded.bytes(5000)]), { dir, maxBytes: 100_000, chunkSize: 4096, tail: refused });
  const waiting = follow(refused, 5000);
  refused.fail(new Error('filehash mismatch'));
  await t.throwsAsync(waiting, { message: 'filehash mismatch' });
  done.remove();

  // Checked and complete, but shorter than the range read (the signed size).
  const short = new SpoolTail(spoolPath(dir));
  const shortDone = await spoolBody(Readable.from([seeded.bytes(3000)]), { dir, maxBytes: 100_000, chunkSize: 4096, tail: short });
  short.complete();
  const e = await t.throwsAsync(follow(short, 5000), { instanceOf: SpoolError });
  t.is((e as SpoolError).code, 'length-mismatch');
  shortDone.remove();

  // A reader that gives up is not left waiting.
  const idle = new SpoolTail(spoolPath(dir));
  const giveUp = new AbortController();
  const pending = follow(idle, 100, giveUp.signal);
  giveUp.abort(new Error('storer went away'));
  await t.throwsAsync(pending, { message: 'storer went away' });
});
