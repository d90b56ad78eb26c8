// The gateway's consensus client (services/gateway/chain.ts) over an EndpointSet that follows a DNS SRV
// name (lib/net/endpoints.ts, WOLK_CONSENSUS_SRV), against a real DNS server on loopback
// (test/helpers/dns.ts) and real gRPC stand-in consensus nodes: a node added to DNS is used, a node
// removed from DNS is no longer called (though it still answers, and answered last), a DNS failure
// keeps the last good nodes, and a name with nothing behind it yet fails as unavailable naming it.
// The gateway's storers (WOLK_STORERS_SRV, services/gateway/registry.ts) follow DNS the same way.
import test, { type ExecutionContext } from 'ava';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { dnsResolver, endpointSet } from '../../../lib/net/endpoints.js';
import { ChainError, createChain } from '../../../services/gateway/chain.js';
import { createRegistry } from '../../../services/gateway/registry.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { startDnsServer, type SrvTarget } from '../../helpers/dns.js';
import { pollUntil } from '../../helpers/poll.js';
import { submitAnswering } from './fakes.js';

const NAME = '_grpc._tcp.consensus.wolk.test';
/** A DNS server serving `records`, an EndpointSet on `name` from it, and gateway clients; all closed at the test's end. */
async function fixture(t: ExecutionContext, records: Record<string, readonly SrvTarget[]>, o: { name: string; what: string; refreshMs: number; static?: readonly string[] }) {
  const dns = await startDnsServer(records);
  const set = endpointSet({ static: o.static ?? [], srv: o.name, resolver: dnsResolver([dns.address]), refreshMs: o.refreshMs, logger: silentLogger, what: o.what });
  const clients = new Clients();
  t.teardown(async () => {
    set.stop();
    clients.close();
    await dns.close();
  });
  await set.start();
  return { dns, set, clients };
}

const target = (endpoint: string) => ({ target: endpoint.split(':')[0]!, port: Number(endpoint.split(':')[1]) });

test('SubmitTx follows the SRV records: a new node is used, a removed one is not called again, a DNS failure changes nothing', async (t) => {
  const a = await submitAnswering(null);
  const b = await submitAnswering(null);
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const { dns, set, clients } = await fixture(t, { [NAME]: [target(a.endpoint)] }, { name: NAME, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV', refreshMs: 100 });
  const chain = createChain(clients, set, 5000);
  const tx = SignedTransaction.fromPartial({});
  t.deepEqual(chain.endpoints, [a.endpoint]);
  await chain.submit(tx);
  t.is(a.calls(), 1);

  // Node b joins, node a leaves DNS (it still answers, and it answered last).
  dns.set(NAME, [target(b.endpoint)]);
  await pollUntil(() => chain.endpoints, { what: 'the chain to see only node b', deadlineMs: 5000, intervalMs: 20, until: (e) => e.length === 1 && e[0] === b.endpoint });
  for (let i = 0; i < 3; i++) await chain.submit(tx);
  t.is(b.calls(), 3, 'the node added in DNS takes the calls');
  t.is(a.calls(), 1, 'the node removed from DNS is not called again');

  // DNS fails: the last good nodes stay in use.
  dns.mode('servfail');
  await set.refresh();
  t.deepEqual(chain.endpoints, [b.endpoint]);
  await chain.submit(tx);
  t.is(b.calls(), 4);

  // Both listed: a node that answers is used, in the order DNS gives.
  dns.mode('answer');
  dns.set(NAME, [target(a.endpoint), target(b.endpoint)]);
  await pollUntil(() => chain.endpoints, { what: 'both nodes', deadlineMs: 5000, intervalMs: 20, until: (e) => e.length === 2 });
  t.deepEqual(chain.endpoints, [a.endpoint, b.endpoint]);
});

test('a name with nothing behind it yet: calls fail as unavailable, naming the variable and the lookup error', async (t) => {
  const { set, clients } = await fixture(t, {}, { name: NAME, what: 'WOLK_CONSENSUS / WOLK_CONSENSUS_SRV', refreshMs: 60_000 });
  const chain = createChain(clients, set, 2000);
  for (const call of [() => chain.submit(SignedTransaction.fromPartial({})), () => chain.status()]) {
    const err = await t.throwsAsync(call(), { instanceOf: ChainError });
    t.is(err!.kind, 'unavailable');
    t.regex(err!.message, /no consensus node answered \(WOLK_CONSENSUS \/ WOLK_CONSENSUS_SRV: _grpc\._tcp\.consensus\.wolk\.test has not resolved to any endpoint yet \(last lookup: ENOTFOUND/);
  }
});

test('the gateway\'s storers follow WOLK_STORERS_SRV: the configured endpoints are the SRV targets now', async (t) => {
  const storers = '_grpc._tcp.storer.wolk.test';
  const records = { [storers]: [{ target: '127.0.0.1', port: 7101 }, { target: '127.0.0.1', port: 7102 }] };
  const { dns, set, clients } = await fixture(t, records, { name: storers, what: 'WOLK_STORERS / WOLK_STORERS_SRV', refreshMs: 100, static: ['127.0.0.1:7100'] });
  const registry = createRegistry(clients, undefined, set, 3);
  t.deepEqual(registry.endpoints, ['127.0.0.1:7100', '127.0.0.1:7101', '127.0.0.1:7102']);
  t.deepEqual((await registry.weightsAt(1n, new Uint8Array(32))).endpoints, registry.endpoints);
  dns.set(storers, [{ target: '127.0.0.1', port: 7103 }]);
  await pollUntil(() => registry.endpoints, { what: 'the new storer set', deadlineMs: 5000, intervalMs: 20, until: (e) => e.includes('127.0.0.1:7103') });
  t.deepEqual(registry.endpoints, ['127.0.0.1:7100', '127.0.0.1:7103']);
  t.deepEqual((await registry.weightsAt(1n, new Uint8Array(32))).endpoints, ['127.0.0.1:7100', '127.0.0.1:7103']);
});
