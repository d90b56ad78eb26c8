// The gateway's chain view picks the most advanced consensus node (services/gateway/chain.ts status):
// a node that fell behind must not hand out an old seed round, and the seed block is then read from
// the node that reported it. Real gRPC over loopback to two stand-in consensus nodes and a dead port.
import test from 'ava';
import { createServer } from 'node:net';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { ChainError, createChain } from '../../../services/gateway/chain.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { startFakeConsensus, submitAnswering, type FakeConsensus } from './fakes.js';

let behind: FakeConsensus;
let ahead: FakeConsensus;
let dead: string;

test.before(async () => {
  behind = await startFakeConsensus();
  ahead = await startFakeConsensus();
  // The node ahead has finalized rounds 1..5; the one behind only genesis.
  for (let r = 1; r <= 5; r++) {
    const g = ahead.blocks[0]!;
    ahead.blocks.push({ ...g, header: { ...g.header!, round: BigInt(r), seed: Buffer.alloc(32, 100 + r) } });
  }
  // A port nobody listens on.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  dead = `127.0.0.1:${(s.address() as { port: number }).port}`;
  await new Promise((r) => s.close(r));
});

test.after.always(async () => {
  await behind?.close();
  await ahead?.close();
});

test('status is the most advanced node\'s, whichever order the nodes are listed in', async (t) => {
  for (const order of [[behind.endpoint, ahead.endpoint], [ahead.endpoint, behind.endpoint]]) {
    const clients = new Clients();
    const chain = createChain(clients, order, 2000);
    const s = await chain.status();
    t.is(s.finalizedRound, 5n);
    // The seed block of that round is read from the node that has it.
    const b = await chain.block(s.finalizedRound);
    t.is(b.block!.header!.round, 5n);
    t.deepEqual(Buffer.from(b.block!.header!.seed), Buffer.alloc(32, 105));
    clients.close();
  }
});

test('an unreachable node is skipped; with none reachable the error says so', async (t) => {
  const clients = new Clients();
  t.teardown(() => clients.close());
  const chain = createChain(clients, [dead, behind.endpoint], 2000);
  t.is((await chain.status()).finalizedRound, 0n);
  const none = createChain(clients, [dead], 2000);
  const err = await t.throwsAsync(none.status());
  t.regex(err!.message, /no consensus node answered/);
});

test('a node that is busy (RESOURCE_EXHAUSTED) is an outage: the transaction goes to the next node; a refusal is final', async (t) => {
  const busy = await submitAnswering('RESOURCE_EXHAUSTED');
  const refusing = await submitAnswering('FAILED_PRECONDITION');
  const accepting = await submitAnswering(null);
  const clients = new Clients();
  t.teardown(async () => {
    clients.close();
    await Promise.all([busy.close(), refusing.close(), accepting.close()]);
  });
  const tx = SignedTransaction.fromPartial({});
  // Before: a full mempool on the first node was answered as a rejected transaction (HTTP 409).
  const id = await createChain(clients, [busy.endpoint, accepting.endpoint], 10_000).submit(tx);
  t.deepEqual(Buffer.from(id), Buffer.alloc(32, 7));
  t.is(accepting.calls(), 1);

  const err = await t.throwsAsync(createChain(clients, [refusing.endpoint, accepting.endpoint], 10_000).submit(tx), { instanceOf: ChainError });
  t.is(err.kind, 'rejected');
  t.is(accepting.calls(), 1, 'a verdict is not taken to the next node');

  const full = await t.throwsAsync(createChain(clients, [busy.endpoint], 10_000).submit(tx), { instanceOf: ChainError });
  t.is(full.kind, 'unavailable', 'every node busy: unavailable (503), not rejected');
});
