// SRV bootstrap (lib/net/endpoints.ts) with real processes and a real DNS server on loopback
// (test/helpers/dns.ts): four consensus processes that know their peers only through WOLK_PEERS_SRV,
// and an indexer process that knows consensus only through WOLK_CONSENSUS_SRV (no WOLK_PEERS, no
// WOLK_CONSENSUS), both pointed at the DNS server by WOLK_DNS_SERVERS. As in a Kubernetes rollout the
// processes start before DNS lists anything: they must start anyway (a warning, retries), find each
// other once the records appear, and the indexer must follow the chain. Then the indexer's record set
// changes while it runs: node 0 leaves it (and is killed), node 1 takes its place, and the indexer
// keeps following through node 1 without a restart and without going back to node 0.
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexerServiceClient, type ListKeysResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns.js';
import { pollUntil } from '../helpers/poll.js';
import { freePort } from '../helpers/ports.js';
import { spawnService, stopChild } from '../helpers/process.js';
import { logSeedOnFailure } from '../helpers/seed.js';
import { startCluster, statusOrNull, type Cluster } from './consensus-cluster.js';

logSeedOnFailure(test);

const PEERS_SRV = '_grpc._tcp.consensus.wolk.test';
// The indexer's own name, so its records can change without changing the peers' (in Kubernetes both
// are the headless Service's one name).
const CLIENTS_SRV = '_grpc._tcp.consensus-clients.wolk.test';
const LAMBDA_MS = 400;

let dns: TestDnsServer | undefined;
let cluster: Cluster | undefined;
let indexer: ChildProcess | undefined;

test.after.always(async () => {
  await stopChild(indexer);
  await cluster?.stop();
  await dns?.close();
});

const target = (endpoint: string) => ({ target: endpoint.split(':')[0]!, port: Number(endpoint.split(':')[1]) });

/** The round the indexer has applied (ListKeys answers as of it); -1 while it has none. */
function indexerRound(client: IndexerServiceClient): Promise<number> {
  return new Promise((resolve) =>
    client.listKeys({ owner: 'nobody', collection: 'docs', prefix: '', pageSize: 1, pageToken: '' }, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null, res: ListKeysResponse) =>
      resolve(err ? -1 : Number(res.round)),
    ),
  );
}

test.serial('consensus peers and an indexer find each other only through SRV records that appear late and then change', async (t) => {
  t.timeout(600_000);
  dns = await startDnsServer({});
  const d = dns;
  const discovery = { WOLK_DNS_SERVERS: d.address, WOLK_SRV_REFRESH_MS: '500' };
  cluster = await startCluster({ lambdaMs: LAMBDA_MS, env: () => ({ WOLK_PEERS: '', WOLK_PEERS_SRV: PEERS_SRV, ...discovery }) });
  const c = cluster;
  const nodes = c.nodes;

  const indexerPort = await freePort();
  const logs: Record<string, unknown>[] = [];
  indexer = spawnService('indexer', {
    WOLK_LISTEN: `127.0.0.1:${indexerPort}`,
    WOLK_DATA_DIR: mkdtempSync(join(tmpdir(), 'wolk-srv-indexer-')),
    WOLK_GENESIS: c.genesisPath,
    WOLK_CONSENSUS: '',
    WOLK_CONSENSUS_SRV: CLIENTS_SRV,
    WOLK_PARENT_PID: String(process.pid),
    WOLK_SHUTDOWN_GRACE_MS: '500',
    WOLK_LOG_LEVEL: 'info',
    ...discovery,
  });
  let pending = '';
  indexer.stderr!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const client = new IndexerServiceClient(`127.0.0.1:${indexerPort}`, credentials.createInsecure());
  t.teardown(() => client.close());

  // Nothing in DNS yet: the indexer starts and says what it waits for.
  await pollUntil(() => logs.find((l) => String(l['msg']).startsWith('no endpoints yet from WOLK_CONSENSUS / WOLK_CONSENSUS_SRV')), { what: 'the indexer to warn that its SRV name has no endpoints yet', deadlineMs: 60_000, intervalMs: 200 });
  await pollUntil(() => logs.find((l) => l['msg'] === 'started'), { what: 'the indexer to start serving', deadlineMs: 60_000 });
  t.is(indexer.exitCode, null, 'an SRV name with nothing behind it does not stop the indexer');

  // The records appear: every consensus node for the peers, node 0 for the indexer.
  d.set(PEERS_SRV, nodes.map((n) => target(n.endpoint)));
  d.set(CLIENTS_SRV, [target(nodes[0]!.endpoint)]);
  await pollUntil(async () => Math.min(...(await Promise.all(nodes.map(async (n) => Number((await statusOrNull(n))?.finalizedRound ?? -1))))), {
    what: 'all four consensus nodes, which know each other only from DNS, to finalize round 3',
    deadlineMs: 240_000,
    intervalMs: 500,
    until: (r) => r >= 3,
  });
  await pollUntil(() => indexerRound(client), { what: 'the indexer to follow the chain through node 0 (found in DNS)', deadlineMs: 120_000, intervalMs: 500, until: (r) => r >= 3 });

  // The indexer's record set changes while it runs: node 0 leaves, node 1 comes in; then node 0 dies.
  d.set(CLIENTS_SRV, [target(nodes[1]!.endpoint)]);
  const changed = await pollUntil(
    () => logs.find((l) => l['msg'] === 'endpoints changed' && Array.isArray(l['removed']) && (l['removed'] as string[]).includes(nodes[0]!.endpoint)),
    { what: 'the indexer to log that node 0 left its endpoints', deadlineMs: 30_000, intervalMs: 100 },
  );
  t.deepEqual(changed['added'], [nodes[1]!.endpoint]);
  const sinceChange = logs.indexOf(changed);
  await c.kill(0);
  const atKill = Math.max(...(await Promise.all(nodes.slice(1).map(async (n) => Number((await statusOrNull(n))?.finalizedRound ?? -1)))));
  await pollUntil(() => indexerRound(client), {
    what: `the indexer to follow through node 1 past round ${atKill + 3} (node 0 killed at round ${atKill})`,
    deadlineMs: 240_000,
    intervalMs: 500,
    until: (r) => r >= atKill + 3,
  });
  // At most the one stream that node 0's death broke names it; no attempt on node 0 follows.
  const toNode0 = logs.slice(sinceChange).filter((l) => l['msg'] === 'following stopped; trying the next consensus node' && l['endpoint'] === nodes[0]!.endpoint);
  t.true(toNode0.length <= 1, `after the change the indexer went back to node 0 ${toNode0.length} times: ${JSON.stringify(toNode0)}`);
  t.is(indexer.exitCode, null);
});
