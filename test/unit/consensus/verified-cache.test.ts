// The verified-transaction cache (services/consensus/ledger/verified-cache.ts, issue 17): a SetKey
// checked once on a node (at admission) is not checked again by assembly or validation of a block on
// that node, but every check still runs on anything not checked before: a changed byte, another
// seed round, a state-dependent rule.
import test from 'ava';
import { VerifiedTxCache } from '../../../services/consensus/ledger/verified-cache.js';
import { StateOverlay } from '../../../services/consensus/ledger/state-view.js';
import { applyTx, checkStateless, TxError } from '../../../services/consensus/ledger/transactions.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import type { SetKey, SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { commitment, fileInfo, finalizeBlock, makeNet, newUser, openLedger, setBucket, setKey, setName } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/verified-cache.test.ts');
logSeedOnFailure(test);

test('the cache is bounded and forgets the least recently used check first', (t) => {
  const c = new VerifiedTxCache(2);
  c.add('a');
  c.add('b');
  t.true(c.has('a')); // a is now the most recent
  c.add('c');
  t.false(c.has('b'));
  t.true(c.has('a'));
  t.true(c.has('c'));
  t.is(c.size, 2);
  t.throws(() => new VerifiedTxCache(0), { instanceOf: RangeError });
});

async function setup() {
  const net = makeNet();
  const ledger = await openLedger(net);
  const alice = newUser();
  const r = await finalizeBlock(ledger, [setName(alice, 'alice'), setBucket(alice, 'alice', 'photos')], new Uint8Array(seeded.bytes(32)));
  if (r.included.length !== 2) throw new Error('setup failed');
  const seedRound = ledger.tip().round;
  const seed = ledger.seedAt(seedRound)!;
  const file = fileInfo();
  const commits = net.storers.slice(0, 3).map((s) => commitment(s, file, seed, seedRound, 4000n));
  const intent = { owner: 'alice', collection: 'photos', key: 'cat.jpg', file };
  return { net, ledger, alice, commits, intent, seed, seedRound, file };
}

/** What SubmitTx does: the stateless checks, then the state checks on the latest state. */
async function admit(ledger: Awaited<ReturnType<typeof openLedger>>, stx: SignedTransaction): Promise<void> {
  checkStateless(stx, ledger.rules);
  await applyTx(stx, new StateOverlay(ledger.latestState()), { round: ledger.tip().round + 1, rules: ledger.rules }, txId(stx));
}

test('a SetKey admitted once is assembled and validated without checking its signatures and commitments again', async (t) => {
  const { net, ledger, alice, commits, intent } = await setup();
  const cache = ledger.rules.verified!;
  const stx = setKey(alice, net.gateway, intent, commits);
  const before = { hits: cache.hits, misses: cache.misses };
  await admit(ledger, stx);
  // One signatures entry and one per commitment, all misses the first time.
  t.is(cache.misses - before.misses, 4);
  t.is(cache.hits - before.hits, 0);
  const r = await finalizeBlock(ledger, [stx], new Uint8Array(seeded.bytes(32)));
  t.is(r.included.length, 1);
  // Assembly: the 4 checks answered by the cache (validating its own block, the node reuses the
  // executed state root; another node validating it runs execute and hits its own cache the same way).
  t.is(cache.misses - before.misses, 4);
  t.is(cache.hits - before.hits, 4);
});

test('a changed byte, a stale or foreign commitment is checked in full and refused even after its twin passed', async (t) => {
  const { net, ledger, alice, commits, intent, seed, seedRound, file } = await setup();
  const good = setKey(alice, net.gateway, intent, commits);
  await admit(ledger, good);
  // The same transaction with another gateway signature: another id, the co-signature is checked.
  const body = good.tx!.body as { $case: 'setKey'; value: SetKey };
  const forged: SignedTransaction = { ...good, tx: { ...good.tx!, body: { $case: 'setKey', value: { ...body.value, gatewaySignature: seeded.bytes(64) } } } };
  const e1 = t.throws(() => checkStateless(forged, ledger.rules), { instanceOf: TxError });
  t.regex(e1?.message ?? '', /co-signature/);
  // A sender signature flipped: refused.
  const sig = Buffer.from(good.signature);
  sig[0]! ^= 1;
  const e2 = t.throws(() => checkStateless({ ...good, signature: sig }, ledger.rules), { instanceOf: TxError });
  t.regex(e2?.message ?? '', /sender signature/);
  // The passed commitments in a transaction with a commitment whose weight is wrong: that one is checked and refused.
  alice.nonce = 2n;
  const wrongWeight = setKey(alice, net.gateway, intent, [commits[0]!, commits[1]!, commitment(net.storers[2]!, file, seed, seedRound, 4000n, { weight: 7 })]);
  const e3 = await t.throwsAsync(admit(ledger, wrongWeight), { instanceOf: TxError });
  t.regex(e3?.message ?? '', /claims weight 7/);
  // State still decides: the admitted tx replayed after it is final is refused (nonce) although every
  // signature and commitment check hits the cache.
  alice.nonce = 1n;
  await finalizeBlock(ledger, [good], new Uint8Array(seeded.bytes(32)));
  const e4 = await t.throwsAsync(admit(ledger, good), { instanceOf: TxError });
  t.regex(e4?.message ?? '', /nonce/);
});
