// The gateway's storer registry with WOLK_STORERS set (services/gateway/registry.ts weightsAt): the
// configured endpoints, plus the record endpoint of each storer registered after genesis, on every
// request. A storer learned from the chain once was then taken for one behind a configured endpoint
// and left out of every later upload (gateway-devnet e2e: the joiner solicited once, then never).
import test from 'ava';
import type { Genesis } from '../../../lib/chain/genesis.js';
import type { ChainRegistry } from '../../../lib/chain/registry-client.js';
import type { RegistryEntry, StorerRegistry } from '../../../lib/chain/storer-registry.js';
import { createRegistry } from '../../../services/gateway/registry.js';
import { Clients } from '../../../services/gateway/rpc.js';

const id = (b: number) => new Uint8Array(32).fill(b);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const entry = (b: number, endpoint: string): RegistryEntry => ({ id: id(b), vrfPublicKey: new Uint8Array(32).fill(100 + b), stake: 1000n, endpoint });

test('a storer registered after genesis is solicited at its record endpoint on every request, beside the configured ones', async (t) => {
  const genesisStorers = [entry(1, '127.0.0.1:7001'), entry(2, '127.0.0.1:7002')];
  const joiner = entry(3, '127.0.0.1:7003');
  const genesis = {
    params: { storerCommitteeSize: 3 },
    nodes: genesisStorers.map((e) => ({ id: hex(e.id), vrfPublicKey: hex(e.vrfPublicKey), endpoint: e.endpoint, roles: ['storer'], stake: '1000' })),
  } as unknown as Genesis;
  const storers = [...genesisStorers, joiner];
  const chain: ChainRegistry = {
    at: async (round): Promise<StorerRegistry> => ({ round, totalWeight: 3000n, storers, lookup: (sid) => storers.find((s) => hex(s.id) === hex(sid)) }),
    node: async () => undefined,
    close: () => undefined,
  };
  const clients = new Clients();
  t.teardown(() => clients.close());
  const registry = createRegistry(clients, genesis, ['127.0.0.1:7001', '127.0.0.1:7002'], 3, chain);
  for (const round of [5n, 6n, 7n]) {
    const w = await registry.weightsAt(round, new Uint8Array(32));
    t.deepEqual([...w.endpoints].sort(), ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'], `round ${round}`);
    t.is(w.lookup(hex(joiner.id))?.stake, 1000n);
  }
});
