// Write admission (issue 20.1; docs/storer.md "Write admission") with real strangers: a storer started
// on a genesis keeps bytes only for nodes the genesis registers, in their role, fetched only from
// registered endpoints, within each writer's byte budget. Every refusal is made by a real client over a
// socket, and the storer's counts show nothing was kept.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import { StorerServiceService, type CommitChunksRequest, type GetFileResponse, type SolicitRequest, type StorerServiceClient } from '../../../gen/wolk/storer/v1/storer.js';
import { commitChunksMessage } from '../../../lib/chain/commitment.js';
import { validateGenesis } from '../../../lib/chain/genesis.js';
import { signShareWrite, signSolicit, unsignedWrite } from '../../../lib/chain/write-request.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { SignDomain, sign } from '../../../lib/crypto/sign.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { signerOf, type NodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { startInProcess } from '../../helpers/service.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { codeOf, infoOf, pattern, setFile, storerClient, unary } from './client.js';

const seeded = testRandom('unit/storer/admission.test.ts');
logSeedOnFailure(test);

/** A GetFile source serving one file, counting the connections made to it. */
async function source(data: Buffer, info: FileInfo) {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  let calls = 0;
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async *getFile(): AsyncIterable<GetFileResponse> {
      calls++;
      for (let o = 0; o < data.length; o += 65536) yield { offset: BigInt(o), data: data.subarray(o, o + 65536), info: o === 0 ? info : undefined, treeRoot: undefined, proof: undefined };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { port, endpoint: `127.0.0.1:${port}`, calls: () => calls, stop: () => server.shutdown(0) };
}

interface Net {
  readonly storer: NodeKey;
  readonly client: StorerServiceClient;
  readonly gateway: NodeKey;
  readonly consensus: NodeKey;
  readonly rewards: NodeKey;
  readonly stranger: NodeKey;
  readonly data: Buffer;
  readonly info: FileInfo;
  /** Serves `data`: the gateway's registered endpoint. */
  readonly gatewaySource: Awaited<ReturnType<typeof source>>;
  /** Serves `data`: a registered storer's endpoint. */
  readonly peerSource: Awaited<ReturnType<typeof source>>;
  /** Serves `data`: nobody's registered endpoint. */
  readonly unregisteredSource: Awaited<ReturnType<typeof source>>;
  stats(): Promise<{ files: bigint; chunks: bigint }>;
}

/** A storer on a genesis that registers it, a peer storer, a gateway, a consensus node and a rewards node. */
async function network(t: import('ava').ExecutionContext, env: Record<string, string> = {}, gatewayHost = '127.0.0.1'): Promise<Net> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-admission-'));
  const storer = seeded.provisionNodeKey(dataDir);
  const [peer, gateway, consensus, rewards, stranger] = [seeded.nodeKey(), seeded.nodeKey(), seeded.nodeKey(), seeded.nodeKey(), seeded.nodeKey()];
  const data = pattern(seeded.int(40_000, 90_000), seeded.int(1, 1000));
  const info = infoOf(data);
  const [gatewaySource, peerSource, unregisteredSource] = [await source(data, info), await source(data, info), await source(data, info)];
  const node = (k: NodeKey, endpoint: string, role: string) => ({ id: k.id, vrfPublicKey: Buffer.from(k.vrfPublicKey).toString('hex'), endpoint, roles: [role], stake: '1000' });
  const genesis = validateGenesis({
    network: 'admission-test',
    seed: '00'.repeat(32),
    timestampMs: 0,
    // τ = the storers' total stake: every Solicit selects this storer.
    params: { replication: 1, storerCommitteeSize: 2000, chunkSize: 4096, lambdaMs: 50, auditDepth: 4 },
    nodes: [
      node(storer, '127.0.0.1:1', 'storer'),
      node(peer, peerSource.endpoint, 'storer'),
      node(gateway, `${gatewayHost}:${gatewaySource.port}`, 'gateway'),
      node(consensus, '127.0.0.1:3', 'consensus'),
      node(rewards, '127.0.0.1:4', 'rewards'),
    ],
  });
  const genesisPath = join(dataDir, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(genesis));
  const running = await startInProcess('storer', createStorerNode, { WOLK_DATA_DIR: dataDir, WOLK_GENESIS: genesisPath, ...env });
  const client = storerClient(running.endpoints['grpc']!);
  t.teardown(async () => {
    client.close();
    await running.close();
    await Promise.all([gatewaySource.stop(), peerSource.stop(), unregisteredSource.stop()]);
  });
  return {
    storer,
    client,
    gateway,
    consensus,
    rewards,
    stranger,
    data,
    info,
    gatewaySource,
    peerSource,
    unregisteredSource,
    async stats() {
      const s = (await unary(client.getInfo.bind(client), {})).stats!;
      return { files: s.files, chunks: s.chunks };
    },
  };
}

const solicitOf = (net: Net, sourceEndpoint: string, seed: Buffer): Omit<SolicitRequest, 'requesterId' | 'signature'> => ({
  file: net.info,
  seed,
  seedRound: 1n,
  sourceEndpoint,
  expectedStorers: 0,
  totalStake: 0n,
});

/** The status code and message of a rejected call. */
async function refusal(p: Promise<unknown>): Promise<{ code: number | undefined; details: string }> {
  try {
    await p;
    return { code: undefined, details: 'the call succeeded' };
  } catch (err) {
    return { code: (err as { code?: number }).code, details: (err as { details?: string }).details ?? String(err) };
  }
}

test('chain admission: unsigned, forged and stranger writes are refused on every write RPC, and nothing is kept', async (t) => {
  const net = await network(t);
  const chunk = pattern(4096, 7);
  const chunkId = sha256(chunk);
  const c = net.client;
  const storerId = net.storer.signPublicKey;
  const cases: [string, () => Promise<unknown>, number, RegExp][] = [
    ['unsigned SetShare', () => unary(c.setShare.bind(c), { data: chunk, chunkId: Buffer.alloc(0), ...unsignedWrite() }), status.UNAUTHENTICATED, /SetShare: an unsigned write is refused/],
    ['unsigned SetShares', () => unary(c.setShares.bind(c), { data: [chunk], ...unsignedWrite() }), status.UNAUTHENTICATED, /SetShares: an unsigned write is refused/],
    ['unsigned SetFile', () => setFile(c, net.info, net.data), status.UNAUTHENTICATED, /SetFile: an unsigned write is refused.*gateway or the rewards node/],
    ['unsigned Solicit', () => unary(c.solicit.bind(c), { ...solicitOf(net, net.gatewaySource.endpoint, seeded.bytes(32)), ...unsignedWrite() }), status.UNAUTHENTICATED, /Solicit: an unsigned write is refused/],
    [
      'stranger SetShares',
      () => unary(c.setShares.bind(c), { data: [chunk], ...signShareWrite(signerOf(net.stranger), storerId, [chunkId]) }),
      status.PERMISSION_DENIED,
      new RegExp(`requester ${net.stranger.id} is not a node the chain registers`),
    ],
    ['stranger SetFile', () => setFile(c, net.info, net.data, undefined, undefined, { signer: signerOf(net.stranger), storerId }), status.PERMISSION_DENIED, /is not a node the chain registers/],
    ['stranger Solicit', () => unary(c.solicit.bind(c), signSolicit(signerOf(net.stranger), solicitOf(net, net.gatewaySource.endpoint, seeded.bytes(32)))), status.PERMISSION_DENIED, /is not a node the chain registers/],
    ['gateway SetShares (wrong role)', () => unary(c.setShares.bind(c), { data: [chunk], ...signShareWrite(signerOf(net.gateway), storerId, [chunkId]) }), status.PERMISSION_DENIED, /roles gateway; chunks are written for consensus nodes/],
    // The repairer pushes a chunk set's missing chunks inside CommitChunks: its key writes no SetShare(s).
    ['rewards SetShares (wrong role)', () => unary(c.setShares.bind(c), { data: [chunk], ...signShareWrite(signerOf(net.rewards), storerId, [chunkId]) }), status.PERMISSION_DENIED, /roles rewards; chunks are written for consensus nodes \(consensus\)/],
    ['consensus SetFile (wrong role)', () => setFile(c, net.info, net.data, undefined, undefined, { signer: signerOf(net.consensus), storerId }), status.PERMISSION_DENIED, /roles consensus; files are written for gateways and the rewards node/],
    [
      'a gateway id with a stranger signature',
      () => unary(c.solicit.bind(c), { ...signSolicit(signerOf(net.stranger), solicitOf(net, net.gatewaySource.endpoint, seeded.bytes(32))), requesterId: Buffer.from(net.gateway.signPublicKey) }),
      status.UNAUTHENTICATED,
      /signature does not verify/,
    ],
    [
      'a consensus write signed for another storer (a replay)',
      () => unary(c.setShares.bind(c), { data: [chunk], ...signShareWrite(signerOf(net.consensus), net.stranger.signPublicKey, [chunkId]) }),
      status.UNAUTHENTICATED,
      /signature does not verify/,
    ],
  ];
  for (const [what, call, code, message] of cases) {
    const r = await refusal(call());
    t.is(r.code, code, `${what}: ${r.details}`);
    t.regex(r.details, message, what);
  }
  t.deepEqual(await net.stats(), { files: 0n, chunks: 0n }, 'nothing was kept');
  t.is(net.gatewaySource.calls() + net.peerSource.calls() + net.unregisteredSource.calls(), 0, 'no source was contacted');

  // CommitChunks: unsigned and by a gateway refused; by the consensus node (a proposer) and by the
  // rewards node (its repairer re-committing an older block's set, docs/repair.md §9) accepted.
  const setOf = (data: Buffer): CommitChunksRequest => ({ newChunks: { chunkIds: [Buffer.from(sha256(data))], chunkCommitments: [], files: [], repairedChunkSets: [] }, seed: seeded.bytes(32), seedRound: 1n, expectedStorers: 0, totalStake: 0n, data: [data], ...unsignedWrite() });
  const base = setOf(chunk);
  const signedBy = (k: NodeKey, unsigned = base): CommitChunksRequest => {
    const req = { ...unsigned, requesterId: Buffer.from(k.signPublicKey) };
    return { ...req, signature: Buffer.from(sign(SignDomain.ChunkCommitRequest, k.signSecretKey, commitChunksMessage(req))) };
  };
  t.is(await codeOf(unary(c.commitChunks.bind(c), base)), status.UNAUTHENTICATED, 'unsigned CommitChunks');
  const byGateway = await refusal(unary(c.commitChunks.bind(c), signedBy(net.gateway)));
  t.is(byGateway.code, status.PERMISSION_DENIED, `CommitChunks by a gateway: ${byGateway.details}`);
  t.regex(byGateway.details, /roles gateway; chunk sets are committed for consensus nodes and the rewards node \(consensus, rewards\)/);
  t.deepEqual(await net.stats(), { files: 0n, chunks: 0n }, 'the refused CommitChunks kept nothing it carried');
  t.is((await unary(c.commitChunks.bind(c), signedBy(net.consensus))).result?.$case, 'selected', 'CommitChunks by a consensus node');
  t.deepEqual(await net.stats(), { files: 0n, chunks: 1n });
  const repairSet = setOf(pattern(3000, 8));
  t.is((await unary(c.commitChunks.bind(c), signedBy(net.rewards, repairSet))).result?.$case, 'selected', 'CommitChunks by the rewards node (a repair)');
  t.deepEqual(await net.stats(), { files: 0n, chunks: 2n }, 'the chunk the repairer pushed inside CommitChunks is kept');
});

test('chain admission: registered nodes write in their roles, from registered sources only', async (t) => {
  const net = await network(t);
  const c = net.client;
  const storerId = net.storer.signPublicKey;
  // An arbitrary source (no node registers it): refused before the storer connects to it.
  const arbitrary = await refusal(unary(c.solicit.bind(c), signSolicit(signerOf(net.gateway), solicitOf(net, net.unregisteredSource.endpoint, seeded.bytes(32)))));
  t.is(arbitrary.code, status.PERMISSION_DENIED, arbitrary.details);
  t.regex(arbitrary.details, new RegExp(`source_endpoint ${net.unregisteredSource.endpoint} is neither the requester's registered endpoint`));
  t.is(net.unregisteredSource.calls(), 0, 'the storer never connected to the arbitrary address');
  // An internal address that nothing serves is refused the same way, without a connection attempt.
  t.is(await codeOf(unary(c.solicit.bind(c), signSolicit(signerOf(net.gateway), solicitOf(net, '10.255.255.1:22', seeded.bytes(32))))), status.PERMISSION_DENIED);

  // The gateway, from its own registered endpoint: selected and fetched.
  const fromGateway = await unary(c.solicit.bind(c), signSolicit(signerOf(net.gateway), solicitOf(net, net.gatewaySource.endpoint, seeded.bytes(32))), 60_000);
  t.is(fromGateway.result?.$case, 'selected');
  t.is(net.gatewaySource.calls(), 1);

  // The rewards node (a repair), from a registered storer that holds the file.
  const other = pattern(30_000, 99);
  const otherInfo = infoOf(other);
  t.is(await codeOf(setFile(c, otherInfo, other, undefined, undefined, { signer: signerOf(net.gateway), storerId })), undefined, 'SetFile by the gateway');
  const repair = await unary(c.solicit.bind(c), signSolicit(signerOf(net.rewards), solicitOf(net, net.peerSource.endpoint, seeded.bytes(32))), 60_000);
  t.is(repair.result?.$case, 'selected', 'a repair Solicit naming a registered storer as its source');
  // SetShares by the consensus node.
  const chunks = [pattern(4096, 5), pattern(1000, 6)];
  const ids = chunks.map((d) => sha256(d));
  const res = await unary(c.setShares.bind(c), { data: chunks, ...signShareWrite(signerOf(net.consensus), storerId, ids) });
  t.deepEqual(res.chunkIds.map((b) => Buffer.from(b).toString('hex')), ids.map((b) => Buffer.from(b).toString('hex')));
  t.deepEqual(await net.stats(), { files: 2n, chunks: 2n });
});

test('chain admission: a source that the registered host name resolves to (a headless Service) is accepted', async (t) => {
  // The gateway is registered as localhost:PORT (a name), and names 127.0.0.1:PORT (one of its addresses).
  const net = await network(t, {}, 'localhost');
  const res = await unary(net.client.solicit.bind(net.client), signSolicit(signerOf(net.gateway), solicitOf(net, net.gatewaySource.endpoint, seeded.bytes(32))), 60_000);
  t.is(res.result?.$case, 'selected');
  // Another port on the same host is not the registered endpoint.
  const r = await refusal(unary(net.client.solicit.bind(net.client), signSolicit(signerOf(net.gateway), solicitOf(net, net.unregisteredSource.endpoint, seeded.bytes(32)))));
  t.is(r.code, status.PERMISSION_DENIED, r.details);
});

test('each writer has a byte budget: past it RESOURCE_EXHAUSTED naming the limits, while other writers still write', async (t) => {
  // 1 KiB a second after a burst of 128 KiB: one file of 40–90 kB passes, a second does not.
  const net = await network(t, { WOLK_WRITE_BYTES_PER_S: '1KiB', WOLK_WRITE_BURST_BYTES: '128KiB' });
  const c = net.client;
  const storerId = net.storer.signPublicKey;
  const gw = { signer: signerOf(net.gateway), storerId };
  t.is(await codeOf(setFile(c, net.info, net.data, undefined, undefined, gw)), undefined, 'the first file fits the burst');
  const second = pattern(100_000, 2);
  const secondInfo = infoOf(second);
  const r = await refusal(setFile(c, secondInfo, second, undefined, undefined, gw));
  t.is(r.code, status.RESOURCE_EXHAUSTED, r.details);
  t.regex(r.details, /SetFile: requester [0-9a-f]{16}… wrote more than this storer takes from one writer \(131072 bytes at once, 1024 bytes a second: WOLK_WRITE_BURST_BYTES, WOLK_WRITE_BYTES_PER_S\); 100000 bytes fit in \d+ s/);
  // The rewards node has its own budget.
  t.is(await codeOf(setFile(c, secondInfo, second, undefined, undefined, { signer: signerOf(net.rewards), storerId })), undefined, 'another writer is not limited by the first');
  // A file already held costs nothing: the gateway may send it again.
  t.is(await codeOf(setFile(c, net.info, net.data, undefined, undefined, gw)), undefined, 'a file already held is not charged');
  t.deepEqual(await net.stats(), { files: 2n, chunks: 0n });
});

test('open admission (no genesis): unsigned writes are kept, signed ones must verify', async (t) => {
  const running = await startInProcess('storer', createStorerNode, {});
  const c = storerClient(running.endpoints['grpc']!);
  t.teardown(async () => {
    c.close();
    await running.close();
  });
  const chunk = pattern(2000, 3);
  t.is(await codeOf(unary(c.setShare.bind(c), { data: chunk, chunkId: Buffer.alloc(0), ...unsignedWrite() })), undefined);
  const key = seeded.nodeKey();
  const forged = { data: chunk, chunkId: Buffer.alloc(0), requesterId: Buffer.from(key.signPublicKey), signature: Buffer.alloc(64, 1) };
  t.is(await codeOf(unary(c.setShare.bind(c), forged)), status.UNAUTHENTICATED);
});
