// Every service starts on an ephemeral port and answers gRPC health and server reflection (listing
// exactly its own services), and `buf curl` can call it with no .proto files at hand.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkHealth } from '../../../lib/grpc/health-client.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { createConsensusNode } from '../../../services/consensus/node.js';
import { createRewardsNode } from '../../../services/rewards/node.js';
import { createIndexerNode } from '../../../services/indexer/node.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import type { ServiceName } from '../../../lib/config/env.js';
import { BUF, startInProcess } from '../../helpers/service.js';

const run = promisify(execFile);

const CASES: [ServiceName, () => ReturnType<typeof startInProcess>, string][] = [
  ['storer', () => startInProcess('storer', createStorerNode), 'wolk.storer.v1.StorerService'],
  ['consensus', () => startInProcess('consensus', createConsensusNode), 'wolk.consensus.v1.ConsensusService'],
  ['rewards', () => startInProcess('rewards', createRewardsNode), 'wolk.rewards.v1.RewardsService'],
  ['indexer', () => startInProcess('indexer', createIndexerNode), 'wolk.indexer.v1.IndexerService'],
];

for (const [name, start, fullName] of CASES) {
  test(`${name}: health is SERVING and reflection lists exactly its services`, async (t) => {
    const node = await start();
    try {
      const endpoint = node.endpoints['grpc']!;
      t.is(await checkHealth(endpoint, '', 10_000), 'SERVING');
      t.is(await checkHealth(endpoint, fullName, 10_000), 'SERVING');
      const { stdout } = await run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-services', `http://${endpoint}`]);
      t.deepEqual(stdout.trim().split('\n').sort(), ['grpc.health.v1.Health', fullName].sort());
      const health = await run(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', `http://${endpoint}/grpc.health.v1.Health/Check`]);
      t.deepEqual(JSON.parse(health.stdout), { status: 'SERVING' });
    } finally {
      await node.close();
    }
    t.is(await checkHealth(node.endpoints['grpc']!, '', 500), 'UNREACHABLE');
  });
}

test('gateway: /healthz answers, /status reports the processes it knows, gRPC health serves', async (t) => {
  const storer = await startInProcess('storer', createStorerNode);
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    // One live storer and one address where nothing listens: /status must tell them apart.
    WOLK_STORERS: `${storer.endpoints['grpc']},127.0.0.1:1`,
  });
  try {
    const base = gateway.endpoints['http']!;
    const health = await fetch(`${base}/healthz`);
    t.is(health.status, 200);
    const status = (await (await fetch(`${base}/status`)).json()) as { processes: { endpoint: string; health: string }[] };
    t.deepEqual(
      status.processes.map((p) => [p.endpoint, p.health]),
      [
        [storer.endpoints['grpc'], 'SERVING'],
        ['127.0.0.1:1', 'UNREACHABLE'],
      ],
    );
    const missing = await fetch(`${base}/nope`);
    t.is(missing.status, 404);
    t.is(missing.headers.get('content-type'), 'application/problem+json');
    t.is(await checkHealth(gateway.endpoints['grpc']!), 'SERVING');
  } finally {
    await gateway.close();
    await storer.close();
  }
});
