// The spool: what it writes is the body, the hashes are those of the body, a body over the limit is
// refused early (Content-Length) or while streaming, and nothing is left behind on failure.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { hashFile } from '../../../lib/merkle/index.js';
import { SpoolError, spoolBody } from '../../../services/gateway/spool.js';
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
