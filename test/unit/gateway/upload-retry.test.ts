// Sortition may select fewer than N storers on one seed (issue 17: a benchmark crashed on
// NotEnoughStorers, "4 not selected"). The gateway asks again on the next finalized round's seed, only
// the storers that have not committed yet, and the SetKey carries commitments from both seeds.
import test from 'ava';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';

logSeedOnFailure(test);

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a storer not selected on the first seed is asked again on the next round\'s; the others keep their commitments', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, replication: 3, commitDeadlineMs: 30_000 });
  try {
    claimed(h.chain, 'alice', alice);
    h.chain.autoFinalize = true;
    const [s0, s1, s2] = h.storers as [(typeof h.storers)[0], (typeof h.storers)[0], (typeof h.storers)[0]];
    s0.fault = 'refuse';
    const put = signedPut('/wolk/alice/c/k', rnd.bytes(20_000), alice, 0n, h.chain.chainId);
    const answer = fetch(`${h.url}/wolk/alice/c/k`, put.init);
    // Once every storer has answered on round 0's seed, the chain finalizes round 1 and storer 0 is
    // selected on its seed.
    await until('every storer answered the first request', () => s0.solicits === 1 && s1.files.size === 1 && s2.files.size === 1);
    s0.fault = 'none';
    h.chain.finalize([]);
    const res = await answer;
    t.is(res.status, 201, await res.clone().text());
    t.is(h.chain.submitted.length, 1);
    const setKey = h.chain.submitted[0]!.tx!.body!;
    t.is(setKey.$case, 'setKey');
    const commitments = setKey.$case === 'setKey' ? setKey.value.commitments : [];
    t.is(commitments.length, 3);
    const byStorer = new Map(commitments.map((c) => [Buffer.from(c.storerId).toString('hex'), c.seedRound]));
    t.deepEqual(
      [s0, s1, s2].map((s) => byStorer.get(Buffer.from(s.id).toString('hex'))),
      [1n, 0n, 0n],
      'storer 0 committed on round 1, the others on round 0',
    );
    t.deepEqual([s0.solicits, s1.solicits, s2.solicits], [2, 1, 1], 'storers that had committed were not asked again');
  } finally {
    await h.close();
  }
});
