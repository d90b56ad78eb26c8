// The test helpers every other tier leans on: seeded fixtures replay exactly under one seed and differ
// under another, WOLK_TEST_SEED is checked at the edge, a provisioned node key is the one a node loads,
// and pollUntil returns what it waited for or fails with what it last saw.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateNodeKey } from '../../../lib/identity/node-key.js';
import { PollTimeoutError, pollUntil } from '../../helpers/poll.js';
import { DEFAULT_TEST_SEED, TEST_SEED_ENV, readTestSeed, seededBytes, testPrng, testRandom } from '../../helpers/seed.js';

test('one label and seed give the same keys and bytes on every call; another label or seed gives others', (t) => {
  const a = testRandom('fixture-a', 7);
  const again = testRandom('fixture-a', 7);
  t.deepEqual(a.nodeKey(), again.nodeKey());
  t.deepEqual(a.keyPair(), again.keyPair());
  t.deepEqual(a.bytes(1000), again.bytes(1000));
  const first = testRandom('fixture-a', 7).bytes(64);
  t.notDeepEqual(testRandom('fixture-b', 7).bytes(64), first, 'another label');
  t.notDeepEqual(testRandom('fixture-a', 8).bytes(64), first, 'another seed');
});

test('seeded bytes: every length, and a longer draw starts like a shorter one', (t) => {
  for (let n = 0; n <= 9; n++) t.is(seededBytes(testPrng('len', 3), n).length, n);
  const long = seededBytes(testPrng('prefix', 3), 40);
  t.deepEqual(seededBytes(testPrng('prefix', 3), 36), long.subarray(0, 36));
  // Not a constant: 4 KiB of draws hit most byte values.
  t.true(new Set(seededBytes(testPrng('spread', 3), 4096)).size > 200);
});

test('WOLK_TEST_SEED: unset is the fixed default, a uint32 is taken, "random" draws one, anything else is refused naming the variable', (t) => {
  t.is(readTestSeed({}), DEFAULT_TEST_SEED);
  t.is(readTestSeed({ [TEST_SEED_ENV]: '' }), DEFAULT_TEST_SEED);
  t.is(readTestSeed({ [TEST_SEED_ENV]: '4294967295' }), 4294967295);
  const r = readTestSeed({ [TEST_SEED_ENV]: 'random' });
  t.true(Number.isInteger(r) && r >= 0 && r <= 0xffff_ffff);
  for (const bad of ['-1', '1.5', '0x10', 'abc', '4294967296']) {
    t.throws(() => readTestSeed({ [TEST_SEED_ENV]: bad }), { message: new RegExp(`^WOLK_TEST_SEED: expected an integer .* got "${bad.replace('.', '\\.')}"$`) }, bad);
  }
});

test('a provisioned node key is the key the node loads from its data directory, and is never overwritten', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-seed-test-'));
  const key = testRandom('provision', 5).provisionNodeKey(dir);
  const loaded = loadOrCreateNodeKey(dir);
  t.false(loaded.created);
  t.is(loaded.key.id, key.id);
  t.deepEqual(loaded.key.vrfPublicKey, key.vrfPublicKey);
  t.is(testRandom('provision', 5).provisionNodeKey(mkdtempSync(join(tmpdir(), 'wolk-seed-test-'))).id, key.id, 'replays under the same seed');
  t.throws(() => testRandom('provision', 6).provisionNodeKey(dir), { code: 'EEXIST' });
});

test('pollUntil returns the awaited value; observations that throw count as not yet', async (t) => {
  let n = 0;
  const v = await pollUntil(
    () => {
      n++;
      if (n === 1) throw new Error('not started');
      return n;
    },
    { what: 'the third observation', deadlineMs: 5000, intervalMs: 1, until: (x) => x >= 3 },
  );
  t.is(v, 3);
  // Without `until`: undefined, null and false are "not yet".
  const seq: (number | null | undefined | false)[] = [undefined, null, false, 0];
  t.is(await pollUntil(() => seq.shift(), { what: 'a number', deadlineMs: 5000, intervalMs: 1 }), 0);
});

test('pollUntil fails at its deadline naming what it waited for, the last value and the last error', async (t) => {
  let n = 0;
  const err = await t.throwsAsync(
    pollUntil(
      () => {
        n++;
        if (n % 2 === 0) throw new Error(`flake ${n}`);
        return { round: BigInt(n) };
      },
      { what: 'round 1000', deadlineMs: 60, intervalMs: 5, until: (s) => s.round >= 1000n },
    ),
    { instanceOf: PollTimeoutError },
  );
  t.regex(err!.message, /^timed out after \d+ ms waiting for round 1000; last observed: \{"round":"\d+"\}/);
  if (n % 2 === 0) t.regex(err!.message, new RegExp(`last error: flake ${n}$`));
  const stop = new AbortController();
  const pending = pollUntil(() => false, { what: 'never', deadlineMs: 60_000, intervalMs: 10, signal: stop.signal });
  stop.abort(new Error('test over'));
  await t.throwsAsync(pending, { message: 'test over' });
});
