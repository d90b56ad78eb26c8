// GET /wolk/{owner}/{collection}/ over real processes' code in one test process: a chain made by the
// real ledger with real certificates (test/unit/indexer/chain.ts) is served by StreamBlocks/GetStatus
// over real gRPC, the real indexer node follows it into RocksDB, and real gateway nodes list through
// HTTP — from the indexer when WOLK_INDEXER is set, by scanning consensus blocks otherwise. What a user
// checks: every key once, in byte order, the records the chain holds, pages that chain with `next`,
// the same answer and tokens from either source, a fresh write listed at once, a dead indexer not
// noticed, and a readable 503 when nothing can answer.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsensusServiceService, type StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { WolkError } from '../../../lib/grpc/errors.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { readKey } from '../../../services/consensus/ledger/state-view.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { createIndexerNode } from '../../../services/indexer/node.js';
import { createIndexerView } from '../../../services/gateway/indexer.js';
import { storerOrder } from '../../../services/gateway/read.js';
import { startInProcess } from '../../helpers/service.js';
import { makeChain, putKey, userWithBucket, type TestChain } from '../indexer/chain.js';

async function serveChain(chain: TestChain) {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    async getStatus() {
      const tip = chain.ledger.tip();
      return { nodeId: Buffer.alloc(32), chainId: chain.net.genesis.network, finalizedRound: BigInt(tip.round), finalizedHash: Buffer.from(tip.hash), currentRound: BigInt(tip.round + 1), currentPeriod: 0n, peers: [], mempoolSize: 0 };
    },
    async *streamBlocks(req, ctx): AsyncIterable<StreamBlocksResponse> {
      let round = Number(req.fromRound);
      while (!ctx.signal.aborted) {
        while (round <= chain.ledger.tip().round) yield { block: await chain.certified(round++) };
        if (!req.follow) return;
        await new Promise<void>((resolve) => {
          const off = chain.ledger.onCommit(() => (off(), resolve()));
          ctx.signal.addEventListener('abort', () => (off(), resolve()), { once: true });
        });
      }
    },
    async getBlock() {
      throw new WolkError('UNIMPLEMENTED', 'not needed by listings');
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, close: () => server.shutdown(0) };
}

interface Page {
  owner: string;
  collection: string;
  keys: { key: string; filehash: string; size: string; contentType: string; round: string }[];
  next?: string;
  round: string;
  source: 'indexer' | 'consensus';
}

async function getJson(url: string): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
}

async function pages(base: string, query = ''): Promise<Page[]> {
  const out: Page[] = [];
  let next: string | undefined;
  do {
    const sep = query ? `&${query}` : '';
    const r = await getJson(`${base}/wolk/alice/photos/?limit=3${sep}${next ? `&page=${next}` : ''}`);
    if (r.status !== 200) throw new Error(`listing answered ${r.status}: ${JSON.stringify(r.body)}`);
    out.push(r.body as unknown as Page);
    next = (r.body as unknown as Page).next;
  } while (next && out.length < 100);
  return out;
}

const KEYS = ['img/003.jpg', 'doc/b.txt', 'img/000.jpg', 'img/001.jpg', 'doc/a.txt', 'img/002.jpg', 'zz/é.txt', 'zz/z.txt'];
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

test('listings: indexer pages, consensus pages with the same tokens, read-your-writes, fallback, 503', async (t) => {
  t.timeout(180_000);
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'photos');
  const bob = await userWithBucket(chain, 'bob', 'photos');
  for (const k of KEYS) await chain.finalize([putKey(chain, alice, 'alice', 'photos', k)]);
  await chain.finalize([putKey(chain, bob, 'bob', 'photos', 'img/000.jpg')]);
  await chain.finalize([putKey(chain, alice, 'alice', 'photos', 'img/001.jpg')]); // overwritten: listed once, newest record

  const dir = mkdtempSync(join(tmpdir(), 'wolk-list-'));
  const genesisPath = join(dir, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(chain.net.genesis));
  const consensus = await serveChain(chain);
  const indexer = await startInProcess('indexer', createIndexerNode, { WOLK_GENESIS: genesisPath, WOLK_CONSENSUS: consensus.endpoint });
  const viaIndexer = await startInProcess('gateway', createGatewayNode, { WOLK_HTTP_LISTEN: '127.0.0.1:0', WOLK_CONSENSUS: consensus.endpoint, WOLK_INDEXER: indexer.endpoints['grpc']! });
  const viaConsensus = await startInProcess('gateway', createGatewayNode, { WOLK_HTTP_LISTEN: '127.0.0.1:0', WOLK_CONSENSUS: consensus.endpoint });
  let indexerClosed = false;
  try {
    const expected = [...KEYS].sort(byteOrder);
    // The indexer first catches up from genesis (until then the gateway answers from consensus).
    for (const end = Date.now() + 60_000; ; ) {
      const r = await getJson(`${viaIndexer.endpoints['http']}/wolk/alice/photos/?limit=1`);
      if (r.body['source'] === 'indexer') break;
      if (Date.now() > end) return t.fail(`the indexer never caught up: ${JSON.stringify(r.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const fromIndexer = await pages(viaIndexer.endpoints['http']!);
    t.true(fromIndexer.every((p) => p.source === 'indexer' && p.keys.length <= 3));
    t.deepEqual(fromIndexer.flatMap((p) => p.keys.map((k) => k.key)), expected, 'every key once, in byte order, across pages');
    t.is(fromIndexer.length, Math.ceil(expected.length / 3));
    t.is(fromIndexer[0]!.round, String(chain.ledger.tip().round), 'as of the tip');
    for (const k of fromIndexer.flatMap((p) => p.keys)) {
      const rec = (await readKey(chain.ledger.latestState(), 'alice', 'photos', k.key))!;
      t.deepEqual(k, { key: k.key, filehash: Buffer.from(rec.file!.filehash).toString('hex'), size: rec.file!.size.toString(), contentType: rec.contentType, round: rec.round.toString() }, `record of ${k.key}`);
    }

    const fromConsensus = await pages(viaConsensus.endpoints['http']!);
    t.true(fromConsensus.every((p) => p.source === 'consensus'));
    t.deepEqual(
      fromConsensus.map((p) => ({ keys: p.keys, next: p.next })),
      fromIndexer.map((p) => ({ keys: p.keys, next: p.next })),
      'the consensus scan gives the same pages and the same tokens',
    );

    const img = await pages(viaIndexer.endpoints['http']!, 'prefix=img%2F');
    t.deepEqual(img.flatMap((p) => p.keys.map((k) => k.key)), ['img/000.jpg', 'img/001.jpg', 'img/002.jpg', 'img/003.jpg']);
    for (const gw of [viaIndexer, viaConsensus]) {
      const bad = await getJson(`${gw.endpoints['http']}/wolk/alice/photos/?limit=2&prefix=doc%2F&page=${img[0]!.next}`);
      t.is(bad.status, 400, 'a token of another prefix is refused');
      t.regex(bad.type, /application\/problem\+json/);
      const zero = await getJson(`${gw.endpoints['http']}/wolk/alice/photos/?limit=0`);
      t.is(zero.status, 400);
      t.regex(String(zero.body['detail']), /limit must be an integer from 1 to 1000/);
    }

    // Read-your-writes: a key finalized just now is in the very next listing.
    await chain.finalize([putKey(chain, alice, 'alice', 'photos', 'new/fresh.bin')]);
    const fresh = await getJson(`${viaIndexer.endpoints['http']}/wolk/alice/photos/?prefix=new%2F`);
    t.deepEqual((fresh.body['keys'] as { key: string }[]).map((k) => k.key), ['new/fresh.bin']);
    t.is(fresh.body['source'], 'indexer');

    // The gateway's ranking of a file's storers comes from the real indexer: every committed storer,
    // with its registry endpoint, best reputation first (all full here: ties by id).
    const view = createIndexerView(indexer.endpoints['grpc']!);
    const rec = (await readKey(chain.ledger.latestState(), 'alice', 'photos', 'img/000.jpg'))!;
    const committed = rec.commitments.map((c) => Buffer.from(c.storerId).toString('hex'));
    const ranked = (await view.fileLocations(rec.file!.filehash))!;
    const endpointOf = new Map(chain.net.genesis.nodes.map((n) => [n.id, n.endpoint]));
    t.deepEqual(ranked.map((r) => [r.id, r.endpoint]), [...committed].sort().map((id) => [id, endpointOf.get(id)]));
    t.deepEqual(storerOrder(committed, ranked).map((c) => c.id), [...committed].sort());
    t.is(await view.fileLocations(new Uint8Array(32)), null, 'a file no key points to: no ranking');
    view.close();

    // The indexer goes away: the same gateway answers from consensus.
    await indexer.close();
    indexerClosed = true;
    const after = await pages(viaIndexer.endpoints['http']!);
    t.true(after.every((p) => p.source === 'consensus'));
    t.deepEqual(after.flatMap((p) => p.keys.map((k) => k.key)), [...expected, 'new/fresh.bin'].sort(byteOrder));

    // Nothing can answer: 503 problem+json saying why.
    await consensus.close();
    const down = await getJson(`${viaIndexer.endpoints['http']}/wolk/alice/photos/`);
    t.is(down.status, 503);
    t.regex(down.type, /application\/problem\+json/);
    t.is(down.body['type'], '/problems/listing-unavailable');
    t.regex(String(down.body['detail']), /indexer: .*consensus: /);
  } finally {
    await viaIndexer.close();
    await viaConsensus.close();
    if (!indexerClosed) await indexer.close();
    await consensus.close().catch(() => undefined);
  }
});
