// A collection's settings on chain (SetBucket) decide a PUT at the gateway: its N, its chunk size and
// its size limit; a collection without settings takes the network's. In-process over real HTTP and
// gRPC against the contract stand-ins (fakes.ts); the devnet version is test/e2e/gateway-faults.test.ts.
import test from 'ava';
import { createHash } from 'node:crypto';
import { SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { WolkClient } from '../../../lib/client/client.js';
import { signWolkRequest } from '../../../lib/client/signing.js';
import { setKeyTransaction, signTransaction } from '../../../lib/client/tx.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { credentials } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../../gen/wolk/consensus/v1/consensus.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { startInProcess } from '../../helpers/service.js';
import { startFakeConsensus, startFakeStorer } from './fakes.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/gateway/bucket.test.ts');
logSeedOnFailure(test);

const alice = keyFromSeed(new Uint8Array(32).fill(21));

async function nonce(url: string): Promise<bigint> {
  const a = (await (await fetch(`${url}/accounts/${Buffer.from(alice.publicKey).toString('hex')}`)).json()) as { nonce: string };
  return BigInt(a.nonce);
}

async function put(url: string, chainId: string, path: string, body: Buffer, chunkSize: number) {
  const d = hashFile(body, chunkSize);
  const [owner, collection, key] = path.slice('/wolk/'.length).split('/') as [string, string, string];
  const stx = signTransaction(setKeyTransaction({ owner, collection, key, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize }, contentType: '' }, alice.publicKey, await nonce(url), chainId), alice);
  const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key: alice });
  const res = await fetch(`${url}${path}`, { method: 'PUT', body, headers: { ...auth, 'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64') } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('SetBucket: the gateway uses the collection N, chunk size and limit; other collections the network defaults', async (t) => {
  t.timeout(120_000);
  const consensus = await startFakeConsensus();
  const storers = await Promise.all([1, 2, 3, 4, 5].map(() => startFakeStorer()));
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '2',
  });
  const url = gateway.endpoints['http']!;
  try {
    await new WolkClient(url, alice).claim('alice');
    const tx: Transaction = {
      sender: Buffer.from(alice.publicKey),
      nonce: await nonce(url),
      fee: 0n,
      chainId: consensus.chainId,
      body: { $case: 'setBucket', value: { owner: 'alice', collection: 'wide', settings: { replication: 4, chunkSize: 8192, maxFileSize: 100_000n } } },
    };
    const blocks = consensus.blocks.length;
    const c = new ConsensusServiceClient(consensus.endpoint, credentials.createInsecure());
    await new Promise<void>((resolve, reject) => c.submitTx({ tx: signTransaction(tx, alice) }, (err) => (err ? reject(err) : resolve())));
    c.close();
    // The stand-in "finalizes" a moment later, in a new block.
    const end = Date.now() + 10_000;
    while (consensus.blocks.length === blocks && Date.now() < end) await new Promise((r) => setTimeout(r, 20));

    const body = seeded.bytes(50_000);
    const wrongChunk = await put(url, consensus.chainId, '/wolk/alice/wide/a', body, 4096);
    t.is(wrongChunk.status, 400);
    t.is(wrongChunk.body['type'], '/problems/wrong-chunk-size');
    t.is(wrongChunk.body['chunkSize'], 8192);
    const tooBig = await put(url, consensus.chainId, '/wolk/alice/wide/b', seeded.bytes(100_001), 8192);
    t.is(tooBig.status, 413);
    t.is(tooBig.body['maxBytes'], 100_000);
    t.is(storers.reduce((n, s) => n + s.solicits, 0), 0, 'no storer was asked to store a refused upload');

    const wide = await put(url, consensus.chainId, '/wolk/alice/wide/a', body, 8192);
    t.is(wide.status, 201, JSON.stringify(wide.body));
    t.is((wide.body['storers'] as string[]).length, 4, "the bucket's N");
    const phases = wide.body['phasesMs'] as { spool: number; commit: number; finality: number };
    t.true([phases.spool, phases.commit, phases.finality].every((ms) => Number.isInteger(ms) && ms >= 0), `phase timings: ${JSON.stringify(phases)}`);
    const plain = await put(url, consensus.chainId, '/wolk/alice/plain/a', body, 4096);
    t.is(plain.status, 201, JSON.stringify(plain.body));
    t.is((plain.body['storers'] as string[]).length, 2, "a collection without settings: the gateway's N");
    const got = await fetch(`${url}/wolk/alice/wide/a`);
    const bytes = Buffer.from(await got.arrayBuffer());
    t.is(got.status, 200, bytes.toString('utf8').slice(0, 300));
    t.true(bytes.equals(body));
  } finally {
    await gateway.close();
    await Promise.all(storers.map((s) => s.close()));
    await consensus.close();
  }
});
