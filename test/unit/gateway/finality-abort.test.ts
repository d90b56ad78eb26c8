// A client that hangs up while the gateway waits for its transaction to be final: the wait ends with
// the request (issue 16 point 4: it used to poll consensus for the whole finality timeout, a minute,
// for nobody).
import test from 'ava';
import { setNameTransaction } from '../../../lib/client/tx.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { signedTxRequest, startHarness } from './http-harness.js';

logSeedOnFailure(test);

test('a client that disconnects during the finality wait stops the gateway polling', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  // The chain accepts the SetName but never finalizes it; the gateway would wait 60 s.
  const h = await startHarness({ finalityTimeoutMs: 60_000 });
  try {
    const { body, headers } = signedTxRequest('/wolk/alice', setNameTransaction('alice', alice.publicKey, 0n, h.chain.chainId), alice);
    const client = new AbortController();
    const submitted = h.chain.nextSubmit();
    const answer = fetch(`${h.url}/wolk/alice`, { method: 'PUT', body, headers, signal: client.signal }).catch((err: unknown) => err);
    await submitted;
    // The gateway is polling for the name now.
    await pollUntil(() => h.chain.calls.state, { what: 'the gateway to poll the name record', deadlineMs: 5000, intervalMs: 20, until: (n) => n >= 3 });
    client.abort();
    t.true((await answer) instanceof Error, 'the client gave up');
    const handler = h.handled.find((x) => x.path === '/wolk/alice')!;
    let over = false;
    void handler.done.then(() => (over = true));
    // Well inside the 60 s finality timeout: the wait ended with the request.
    await pollUntil(() => over, { what: 'the PUT handler to end after its client left', deadlineMs: 5000, intervalMs: 20 });
    t.is(h.chain.submitted.length, 1);
  } finally {
    await h.close();
  }
});
