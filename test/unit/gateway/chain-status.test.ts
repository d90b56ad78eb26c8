// The gateway's chain view picks the most advanced consensus node (services/gateway/chain.ts status):
// a node that fell behind must not hand out an old seed round, and the seed block is then read from
// the node that reported it. Real gRPC over loopback to two stand-in consensus nodes and a dead port.
import test from 'ava';
import { createServer } from 'node:net';
import { createChain } from '../../../services/gateway/chain.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { startFakeConsensus, type FakeConsensus } from './fakes.js';

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
