// A storer's self-registration (services/storer/register.ts) against stand-in consensus nodes on
// loopback: an outage (a node down, a node busy) sends it to the next node and it registers; a verdict
// (the chain refuses the RegisterNode) ends it as 'refused' without asking another node; stopping
// ends it as 'stopped'. Keys come from the seeded test PRNG.
import test, { type ExecutionContext } from 'ava';
import { deadEndpoint } from '../../helpers/ports.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { ConsensusServiceService, GetAccountResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { WolkError, type ErrorCode } from '../../../lib/grpc/errors.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { createLogger } from '../../../lib/log/logger.js';
import { registerSelf } from '../../../services/storer/register.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

logSeedOnFailure(test);

const quiet = createLogger({ level: 'error', write: () => undefined });

interface StandIn {
  readonly endpoint: string;
  readonly submits: () => number;
  close(): Promise<void>;
}

/** The chain the stand-ins share: the node record once a RegisterNode was accepted. */
interface Chain {
  registered: { endpoint: string; stake: bigint } | null;
}

/**
 * A consensus node that answers SubmitTx with `refuse` (a status) or records the RegisterNode on the
 * shared chain, after which GetAccount (on every stand-in) shows the node record.
 */
async function standIn(chain: Chain, refuse: ErrorCode | null): Promise<StandIn> {
  const server = createGrpcServer({ logger: quiet, maxMessageBytes: 1024 * 1024 });
  let submits = 0;
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    getAccount: async (req) => {
      const registered = chain.registered;
      return GetAccountResponse.fromPartial({
        account: { publicKey: req.publicKey, nonce: registered ? 1n : 0n, balance: 100n, ...(registered ? { node: { id: req.publicKey, endpoint: registered.endpoint, stake: registered.stake, roles: [NodeRole.NODE_ROLE_STORER] } } : {}) },
        round: 1n,
      });
    },
    submitTx: async (req) => {
      submits++;
      if (refuse !== null) throw new WolkError(refuse, refuse === 'RESOURCE_EXHAUSTED' ? 'the mempool is full; retry later' : 'the stake exceeds the balance');
      const body = req.tx?.tx?.body;
      if (body?.$case !== 'registerNode') throw new WolkError('INVALID_ARGUMENT', 'expected a RegisterNode');
      chain.registered = { endpoint: body.value.endpoint, stake: body.value.stake };
      return { txId: Buffer.alloc(32, 1) };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, submits: () => submits, close: () => server.shutdown(100) };
}

const base = (t: ExecutionContext, consensus: string[], signal: AbortSignal) => ({
  key: testRandom(`register:${t.title}`).nodeKey(),
  chainId: 'test',
  endpoint: () => '127.0.0.1:7001',
  stake: 10n,
  consensus,
  logger: quiet,
  signal,
  pollMs: 50,
});

test('a node down and a node busy are outages: the next node takes the registration', async (t) => {
  const dead = await deadEndpoint();
  const chain: Chain = { registered: null };
  const busy = await standIn(chain, 'RESOURCE_EXHAUSTED');
  const ok = await standIn(chain, null);
  t.teardown(() => Promise.all([busy.close(), ok.close()]));
  const outcome = await registerSelf(base(t, [dead, busy.endpoint, ok.endpoint], new AbortController().signal));
  t.is(outcome, 'registered');
  t.true(busy.submits() >= 1, 'the busy node was asked');
  t.is(ok.submits(), 1);
  t.deepEqual(chain.registered, { endpoint: '127.0.0.1:7001', stake: 10n });
});

test('a refusal is a verdict: logged once as refused, no other node is asked', async (t) => {
  const chain: Chain = { registered: null };
  const refusing = await standIn(chain, 'FAILED_PRECONDITION');
  const ok = await standIn(chain, null);
  t.teardown(() => Promise.all([refusing.close(), ok.close()]));
  const outcome = await registerSelf(base(t, [refusing.endpoint, ok.endpoint], new AbortController().signal));
  t.is(outcome, 'refused');
  t.is(refusing.submits(), 1);
  t.is(ok.submits(), 0);
});

test('stopping ends a registration that waits for consensus', async (t) => {
  const dead = await deadEndpoint();
  const stop = new AbortController();
  const running = registerSelf(base(t, [dead], stop.signal));
  stop.abort();
  t.is(await running, 'stopped');
});
