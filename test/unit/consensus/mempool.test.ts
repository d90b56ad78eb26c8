// The mempool's nonce gaps and its record of rejections (issue #24.1/#24 item 2): a sender's
// transactions waiting for a nonce that never comes are dropped after gapWaitMs (not kept forever,
// holding the sender's share of the pool), and remembered with a reason; transactions left out of a
// proposal are remembered, the ones that lost their nonce to another transaction of the proposal as
// undecided ('contested').
import test from 'ava';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { setNameTransaction, signTransaction } from '../../../lib/client/tx.js';
import { Mempool } from '../../../services/consensus/mempool.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/mempool.test.ts');
logSeedOnFailure(test);

const alice = keyFromSeed(seeded.bytes(32));
const bob = keyFromSeed(seeded.bytes(32));
const claim = (key: typeof alice, nonce: bigint, name = `n${nonce}x${seeded.hex(4)}`): SignedTransaction => signTransaction(setNameTransaction(name, key.publicKey, nonce, 'wolk-test'), key);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a nonce gap: later transactions wait, then are dropped with a reason after gapWaitMs; other senders are untouched', async (t) => {
  const pool = new Mempool({ gapWaitMs: 30_000 });
  const accounts = new Map([[hex(alice.publicKey), 5n], [hex(bob.publicKey), 0n]]);
  const nonceOf = async (s: Uint8Array) => accounts.get(hex(s)) ?? 0n;
  // alice's next nonce is 5; 6 and 7 arrive, 5 never does. bob's next (0) is there.
  const a6 = claim(alice, 6n);
  const a7 = claim(alice, 7n);
  const b0 = claim(bob, 0n);
  for (const s of [a6, a7, b0]) t.is(pool.add(s, txId(s), 0), 'added');

  t.is(await pool.prune(nonceOf, 1_000), 0, 'the gap is noticed, nothing dropped yet');
  t.is(await pool.prune(nonceOf, 30_999), 0, 'still within gapWaitMs');
  t.true(pool.has(txId(a6)) && pool.has(txId(a7)));
  t.is(await pool.prune(nonceOf, 31_000), 2, 'after gapWaitMs both waiting transactions go');
  t.false(pool.has(txId(a6)));
  t.false(pool.has(txId(a7)));
  t.true(pool.has(txId(b0)), "bob's transaction, at his next nonce, stays");
  const r = pool.rejection(txId(a6));
  t.is(r?.cause, 'gap');
  t.regex(r?.reason ?? '', /^nonce 6 waited 30 s for the sender's next nonce 5, which no transaction brought/);
  t.is(pool.rejection(txId(a7))?.nonce, 7n);
  // The sender's share is free again: new transactions are admitted.
  const a5 = claim(alice, 5n);
  t.is(pool.add(a5, txId(a5), 32_000), 'added');
});

test('a gap that is filled in time drops nothing, and a moving account restarts the wait', async (t) => {
  const pool = new Mempool({ gapWaitMs: 10_000 });
  let next = 0n;
  const nonceOf = async () => next;
  const txs = [claim(alice, 0n), claim(alice, 1n), claim(alice, 2n), claim(alice, 3n)];
  // 1 and 3 arrive first: 0 is missing.
  t.is(pool.add(txs[1]!, txId(txs[1]!), 0), 'added');
  t.is(pool.add(txs[3]!, txId(txs[3]!), 0), 'added');
  await pool.prune(nonceOf, 0);
  t.is(pool.add(txs[0]!, txId(txs[0]!), 9_000), 'added');
  t.is(await pool.prune(nonceOf, 9_500), 0, 'nonce 0 arrived: nobody waits');
  // A block includes 0 and 1 (the host removes them); 2 is now missing: the wait starts over.
  pool.remove(txId(txs[0]!));
  pool.remove(txId(txs[1]!));
  next = 2n;
  t.is(await pool.prune(nonceOf, 12_000), 0);
  t.is(await pool.prune(nonceOf, 21_999), 0, 'less than gapWaitMs since the account moved');
  t.is(await pool.prune(nonceOf, 22_000), 1);
  t.is(pool.rejection(txId(txs[3]!))?.cause, 'gap');
});

test('pruning remembers a transaction whose nonce another one spent; assembly verdicts are remembered, a lost nonce as contested', async (t) => {
  const pool = new Mempool();
  const first = claim(alice, 0n, 'same-nonce-a');
  const second = claim(alice, 0n, 'same-nonce-b');
  const bad = claim(bob, 0n, 'taken');
  const later = claim(bob, 3n, 'later');
  for (const s of [first, second, bad, later]) pool.add(s, txId(s), 0);

  pool.leftOut(7, [first], [
    { stx: second, error: { message: 'nonce 0 is not the account\'s next nonce 1' } },
    { stx: bad, error: { message: 'name "taken" is owned by another key' } },
    { stx: later, error: { message: 'nonce 3 is not the account\'s next nonce 0', future: true } },
  ]);
  t.is(pool.rejection(txId(second))?.cause, 'contested', 'lost its nonce to a transaction of the same proposal');
  t.regex(pool.rejection(txId(second))?.reason ?? '', /^left out of the proposal for round 7: nonce 0/);
  t.is(pool.rejection(txId(bad))?.cause, 'refused');
  t.false(pool.has(txId(second)));
  t.false(pool.has(txId(bad)));
  t.true(pool.has(txId(later)), 'a nonce ahead may apply later: it stays');
  t.is(pool.rejection(txId(later)), undefined);

  // The block with `first` is final (the host removed it); nothing else of alice is pending.
  pool.remove(txId(first));
  const third = claim(alice, 0n, 'same-nonce-c');
  pool.add(third, txId(third), 0);
  t.is(await pool.prune(async (s) => (hex(s) === hex(alice.publicKey) ? 1n : 0n), 100), 1);
  t.regex(pool.rejection(txId(third))?.reason ?? '', /^nonce 0 was spent by another transaction of this sender \(its next nonce is 1\)$/);
  // Admitted again after a refusal (e.g. the state changed): the old verdict is forgotten.
  pool.add(bad, txId(bad), 200);
  t.is(pool.rejection(txId(bad)), undefined);
});

test('the record of rejections is bounded, the oldest forgotten first', (t) => {
  const pool = new Mempool({ maxRejections: 3 });
  const txs = [0n, 1n, 2n, 3n].map((n) => claim(alice, n));
  for (const s of txs) pool.reject(s, txId(s), 'no', 0);
  t.is(pool.rejection(txId(txs[0]!)), undefined);
  for (const s of txs.slice(1)) t.is(pool.rejection(txId(s))?.reason, 'no');
});
