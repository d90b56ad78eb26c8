// Outbound gossip (services/consensus/gossip.ts) to stand-in peers on loopback: a message reaches every
// peer; a peer whose call fails with an outage (down, busy) is reported not connected, one that
// answers (even with a refusal) connected. GetStatus reports these flags.
import test from 'ava';
import { deadEndpoint } from '../../helpers/ports.js';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { ConsensusServiceService } from '../../../gen/wolk/consensus/v1/consensus.js';
import { WolkError, type ErrorCode } from '../../../lib/grpc/errors.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { Gossip } from '../../../services/consensus/gossip.js';
import { Peers } from '../../../services/consensus/peers.js';
import { pollUntil } from '../../helpers/poll.js';

/** A peer whose SubmitTx answers `answer.code` (null: accepts); counts the transactions it got. */
async function peer(answer: { code: ErrorCode | null }) {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 1024 * 1024 });
  let got = 0;
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    submitTx: async () => {
      got++;
      if (answer.code !== null) throw new WolkError(answer.code, answer.code);
      return { txId: Buffer.alloc(32) };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, got: () => got, close: () => server.shutdown(100) };
}

test('peers that answer are connected, even with a refusal; a peer down or busy is not', async (t) => {
  const flaky = { code: null as ErrorCode | null };
  const accepting = await peer(flaky);
  const refusing = await peer({ code: 'INVALID_ARGUMENT' });
  const dead = await deadEndpoint();
  const peers = new Peers({ static: [accepting.endpoint, refusing.endpoint, dead], self: '127.0.0.1:1', logger: silentLogger, maxMessageBytes: 1024 * 1024 });
  t.teardown(async () => {
    peers.stop();
    await Promise.all([accepting.close(), refusing.close()]);
  });
  const gossip = new Gossip(peers, silentLogger, 10_000);
  const connected = () => Object.fromEntries(peers.status().map((p) => [p.endpoint, p.connected]));

  gossip.tx(SignedTransaction.fromPartial({}));
  await pollUntil(() => accepting.got() === 1 && refusing.got() === 1 && connected()[accepting.endpoint] && connected()[refusing.endpoint], {
    what: 'the transaction to reach both live peers',
    deadlineMs: 15_000,
    intervalMs: 20,
  });
  t.deepEqual(connected(), { [accepting.endpoint]: true, [refusing.endpoint]: true, [dead]: false });

  // The accepting peer becomes busy (RESOURCE_EXHAUSTED: an outage): it is reported not connected.
  flaky.code = 'RESOURCE_EXHAUSTED';
  gossip.tx(SignedTransaction.fromPartial({ signature: Buffer.alloc(64, 1) }));
  await pollUntil(() => accepting.got() === 2 && !connected()[accepting.endpoint], { what: 'the busy peer to be marked not connected', deadlineMs: 15_000, intervalMs: 20 });
  t.deepEqual(connected(), { [accepting.endpoint]: false, [refusing.endpoint]: true, [dead]: false });
});
