// An upload's outcome is learned from the block that includes its transaction (issue 24.1, 24.2):
// two uploads signed with one nonce get one 201 and one quick 409 whose status URL says `rejected`
// (they used to wait the whole finality timeout and stay `submitted` forever); an upload whose key
// was written again right after it is still reported final (the key's current record names the later
// transaction, which is how the gateway used to decide).
import test from 'ava';
import { KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { pathStateKey } from '../../../lib/chain/state-keys.js';
import { txId } from '../../../lib/chain/tx-bytes.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';

logSeedOnFailure(test);

// Well above what a test takes when the outcome is learned from the block: a 202 means it was not.
const FINALITY_TIMEOUT_MS = 8000;

const json = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> });

test('two uploads with one nonce: the one in the block is 201, the other 409 at once and its status says rejected', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, finalityTimeoutMs: FINALITY_TIMEOUT_MS });
  try {
    claimed(h.chain, 'alice', alice);
    const a = signedPut('/wolk/alice/c/a', rnd.bytes(20_000), alice, 0n, h.chain.chainId);
    const firstSubmit = h.chain.nextSubmit();
    const answerA = fetch(`${h.url}/wolk/alice/c/a`, a.init).then(json);
    await firstSubmit;
    // The second upload, same nonce, answered at once (respond-async) and followed at its status URL.
    const b = signedPut('/wolk/alice/c/b', rnd.bytes(20_000), alice, 0n, h.chain.chainId, { respondAsync: true });
    const secondSubmit = h.chain.nextSubmit();
    const accepted = await json(await fetch(`${h.url}/wolk/alice/c/b`, b.init));
    t.is(accepted.status, 202);
    await secondSubmit;
    const started = Date.now();
    // Consensus orders A first: B's nonce is spent.
    h.chain.finalize([h.chain.submitted[0]!]);
    const finalA = await answerA;
    t.is(finalA.status, 201, JSON.stringify(finalA.body));
    const statusUrl = String(accepted.body['status']);
    const rejected = await pollUntil(async () => (await fetch(`${h.url}${statusUrl}`).then(json)).body, {
      what: "B's status to leave `submitted`",
      deadlineMs: 5000,
      until: (s) => s['state'] !== 'submitted' && s['state'] !== 'storing',
    });
    t.true(Date.now() - started < FINALITY_TIMEOUT_MS, 'known from the block, not after the finality timeout');
    t.is(rejected['state'], 'rejected');
    const p = rejected['problem'] as Record<string, unknown>;
    t.is(p['status'], 409);
    t.is(p['type'], '/problems/transaction-rejected');
    t.regex(String(p['detail']), /used nonce 0 first/);

    // A third upload with the spent nonce, synchronous: 409 with the reason, not 202 after the timeout.
    const c = signedPut('/wolk/alice/c/c', rnd.bytes(20_000), alice, 0n, h.chain.chainId);
    const t0 = Date.now();
    const answerC = await json(await fetch(`${h.url}/wolk/alice/c/c`, c.init));
    t.is(answerC.status, 409, JSON.stringify(answerC.body));
    t.is(answerC.type, 'application/problem+json');
    t.regex(String(answerC.body['detail']), /nonce 0 of this key was already used/);
    t.true(Date.now() - t0 < FINALITY_TIMEOUT_MS);
  } finally {
    await h.close();
  }
});

test("an upload is final when its block includes it, though the key's record already names a later upload", async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, finalityTimeoutMs: FINALITY_TIMEOUT_MS });
  try {
    claimed(h.chain, 'alice', alice);
    const puts = [0n, 1n].map((nonce) => signedPut('/wolk/alice/c/k', rnd.bytes(10_000), alice, nonce, h.chain.chainId));
    const answers = puts.map((p) => fetch(`${h.url}/wolk/alice/c/k`, p.init).then(json));
    await pollUntil(() => h.chain.submitted.length, { what: 'both uploads to be submitted', deadlineMs: 20_000, until: (n) => n === 2 });
    const ordered = [...h.chain.submitted].sort((x, y) => Number(x.tx!.nonce - y.tx!.nonce));
    const round = h.chain.finalize(ordered);
    // What the ledger then holds for the key: the later upload's record.
    const last = ordered[1]!;
    setRecord(h.chain, last, round);
    const results = await Promise.all(answers);
    t.deepEqual(
      results.map((r) => r.status),
      [201, 201],
      JSON.stringify(results.map((r) => r.body)),
    );
    t.deepEqual(
      results.map((r) => r.body['round']),
      [round.toString(), round.toString()],
    );
  } finally {
    await h.close();
  }
});

function setRecord(chain: { set(key: Uint8Array, value: Uint8Array): void }, stx: SignedTransaction, round: bigint): void {
  const sk = stx.tx!.body!.$case === 'setKey' ? stx.tx!.body!.value : undefined;
  if (!sk) throw new Error('not a SetKey');
  chain.set(
    pathStateKey(sk.owner, sk.collection, sk.key),
    KeyRecord.encode({ owner: sk.owner, collection: sk.collection, key: sk.key, file: sk.file, contentType: sk.contentType, commitments: sk.commitments, txId: Buffer.from(txId(stx)), round }).finish(),
  );
}

test('a synchronous upload answered 202 (its block came after the finality timeout) is final at its status URL once a block includes it', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  // Short on purpose: the answer must be 202 because the block is finalized only after it.
  const h = await startHarness({ storers: 3, finalityTimeoutMs: 1000 });
  try {
    claimed(h.chain, 'alice', alice);
    const a = signedPut('/wolk/alice/c/late', rnd.bytes(12_000), alice, 0n, h.chain.chainId);
    const submit = h.chain.nextSubmit();
    const answer = await json(await fetch(`${h.url}/wolk/alice/c/late`, a.init));
    await submit;
    t.is(answer.status, 202, JSON.stringify(answer.body));
    t.is(answer.body['state'], 'submitted');
    const statusUrl = String(answer.body['status']);
    h.chain.finalize([h.chain.submitted[0]!]);
    const final = await pollUntil(async () => (await fetch(`${h.url}${statusUrl}`).then(json)).body, {
      what: 'the status of the upload answered 202 to say final',
      deadlineMs: 10_000,
      until: (s) => s['state'] !== 'submitted',
    });
    t.is(final['state'], 'final');
    t.regex(String(final['round']), /^[0-9]+$/);
  } finally {
    await h.close();
  }
});
