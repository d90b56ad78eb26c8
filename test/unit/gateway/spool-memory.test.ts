// The spool holds one piece of a body at a time, not the body (issue 21: a 1 GB PUT held every piece it
// had spooled until the body ended, 1154 MB peak RSS). Checked while the body is still open, with a
// forced full GC: every piece already consumed (all but the last two) must be collectable. Without the
// fix none was: each read raced a promise that lived as long as the body, and kept the piece.
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { bodyPieces, spoolBody } from '../../../services/gateway/spool.js';
import { aliveAfterGc } from '../../helpers/gc.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/gateway/spool-memory.test.ts');
logSeedOnFailure(test);

const PIECES = 64;
const PIECE = 64 * 1024;

/** A fresh allocation per piece (64 KiB Buffers are not pooled), so each can be collected on its own. */
const piece = () => Buffer.from(seeded.bytes(PIECE));

test('bodyPieces keeps no piece it has handed out (signal and idle timeout set, as the gateway reads)', async (t) => {
  const body = new PassThrough();
  const it = bodyPieces(body, { signal: new AbortController().signal, idleMs: 30_000 });
  const refs: WeakRef<Buffer>[] = [];
  for (let i = 0; i < PIECES; i++) {
    body.write(piece());
    const r = await it.next();
    if (r.done) return t.fail('the body ended early');
    refs.push(new WeakRef(r.value));
  }
  t.is(await aliveAfterGc(refs.slice(0, -2)), 0, `pieces still held, of ${PIECES - 2} handed out`);
  body.end();
  t.true((await it.next()).done);
});

test('spoolBody keeps no piece it has written to the spool file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-spool-mem-'));
  const body = new PassThrough();
  const refs: WeakRef<Buffer>[] = [];
  const spooling = spoolBody(body, { dir, maxBytes: 2 * PIECES * PIECE, chunkSize: 4096, idleMs: 30_000, signal: new AbortController().signal });
  for (let i = 0; i < PIECES; i++) {
    const p = piece();
    refs.push(new WeakRef(p));
    body.write(p);
  }
  // Every piece on disk: the spool file (its only one in `dir`) has them all.
  await pollUntil(() => statSync(join(dir, onlyFile(dir))).size, { what: 'the spool file to hold every piece written', deadlineMs: 10_000, intervalMs: 20, until: (size) => size === PIECES * PIECE });
  t.is(await aliveAfterGc(refs.slice(0, -2)), 0, `pieces still held, of ${PIECES - 2} written`);
  body.end();
  const s = await spooling;
  t.is(s.size, PIECES * PIECE);
  s.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** The one file in `dir` (the spool file); throws, meaning "not yet", otherwise. */
function onlyFile(dir: string): string {
  const names = readdirSync(dir);
  if (names.length !== 1) throw new Error(`expected one spool file in ${dir}, found ${names.length}`);
  return names[0]!;
}
