// An upload whose transaction consensus dropped says `rejected` with the reason (GetTransaction) at
// once, instead of `submitted` until the finality timeout and forever after (issue 24, item 2); a
// rejection for a nonce reason says so in the 409 (`nonce`: used / gap), which is what the SDK
// re-signs on.
import test from 'ava';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';

logSeedOnFailure(test);

const FINALITY_TIMEOUT_MS = 8000;
const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a transaction consensus dropped for a nonce gap: 409 with nonce "gap" well before the finality timeout', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, finalityTimeoutMs: FINALITY_TIMEOUT_MS });
  try {
    claimed(h.chain, 'alice', alice);
    // Nonce 1 while the account's next is 0: it waits; consensus then drops it.
    const put = signedPut('/wolk/alice/c/later', rnd.bytes(8_000), alice, 1n, h.chain.chainId);
    const submitted = h.chain.nextSubmit();
    const answer = fetch(`${h.url}/wolk/alice/c/later`, put.init).then(json);
    const stx = await submitted;
    const started = Date.now();
    h.chain.txStates.set(hex(txId(stx)), { state: 'rejected', cause: 'nonce-gap', reason: "nonce 1 waited 30 s for the sender's next nonce 0, which no transaction brought" });
    const got = await answer;
    t.is(got.status, 409, JSON.stringify(got.body));
    t.is(got.body['type'], '/problems/transaction-rejected');
    t.is(got.body['nonce'], 'gap');
    t.regex(String(got.body['detail']), /^consensus dropped the transaction: nonce 1 waited 30 s/);
    t.true(Date.now() - started < FINALITY_TIMEOUT_MS, 'known from GetTransaction, not after the timeout');
  } finally {
    await h.close();
  }
});

test('a dropped transaction found when the status URL is asked: rejected with the reason, not submitted forever', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, finalityTimeoutMs: 300 });
  try {
    claimed(h.chain, 'alice', alice);
    const put = signedPut('/wolk/alice/c/k', rnd.bytes(8_000), alice, 0n, h.chain.chainId);
    const accepted = await json(await fetch(`${h.url}/wolk/alice/c/k`, put.init));
    t.is(accepted.status, 202, 'not final within the (short) finality timeout');
    const stx = h.chain.submitted[0]!;
    h.chain.txStates.set(hex(txId(stx)), { state: 'rejected', cause: 'invalid', reason: 'left out of the proposal for round 3: the collection takes files of at most 10 bytes' });
    const s = await pollUntil(async () => (await json(await fetch(`${h.url}${String(accepted.body['status'])}`))).body, {
      what: 'the status to leave submitted',
      deadlineMs: 5000,
      until: (b) => b['state'] !== 'submitted',
    });
    t.is(s['state'], 'rejected');
    const p = s['problem'] as Record<string, unknown>;
    t.is(p['status'], 409);
    t.regex(String(p['detail']), /at most 10 bytes/);
    t.is(p['nonce'], undefined, 'not a nonce reason: signing again would not help');
  } finally {
    await h.close();
  }
});

test('the same signed upload sent twice: the copy in the block makes the other final too, not rejected', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, finalityTimeoutMs: FINALITY_TIMEOUT_MS });
  try {
    claimed(h.chain, 'alice', alice);
    const bytes = rnd.bytes(8_000);
    // Two requests (each signed afresh) carrying one signed SetKey (Ed25519 signs deterministically): the
    // gateway co-signs each with the commitments it collected, so the two transaction ids may differ.
    const a = signedPut('/wolk/alice/c/same', bytes, alice, 0n, h.chain.chainId);
    const first = h.chain.nextSubmit();
    const answerA = fetch(`${h.url}/wolk/alice/c/same`, a.init).then(json);
    await first;
    const b = signedPut('/wolk/alice/c/same', bytes, alice, 0n, h.chain.chainId);
    t.deepEqual(b.stx.signature, a.stx.signature);
    const second = h.chain.nextSubmit();
    const answerB = fetch(`${h.url}/wolk/alice/c/same`, b.init).then(json);
    await second;
    t.not(hex(txId(h.chain.submitted[0]!)), hex(txId(h.chain.submitted[1]!)), 'two co-signatures, two transaction ids');
    // Only the first copy goes into a block: the second has the same user signature and nonce.
    h.chain.finalize([h.chain.submitted[0]!]);
    const [ra, rb] = await Promise.all([answerA, answerB]);
    t.is(ra.status, 201, JSON.stringify(ra.body));
    t.is(rb.status, 201, JSON.stringify(rb.body));
  } finally {
    await h.close();
  }
});
