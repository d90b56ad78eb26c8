// Proof of replication on the storer (docs/porep.md "Sectors"): sectors labelled ahead in a worker thread,
// kept across a restart, half-labelled ones discarded; a Solicit seals the file into a labelled sector and
// the commitment carries the sealed replica; ProveSeal and ProveReplica answers verify with the checkers
// consensus and rewards use, and a proof for another storer or a tampered one is refused. The first seal
// proof of a sector opens the column tree its labelling built; after a restart the tree is built again.
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorerServiceService, type CommitChunksRequest, type GetFileResponse, type SolicitRequest } from '../../../gen/wolk/storer/v1/storer.js';
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import { verifyChunkCommitment } from '../../../lib/chain/commitment.js';
import { newChunksHashOf } from '../../../lib/chain/reward.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import type { FileInfo, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { validateGenesis } from '../../../lib/chain/genesis.js';
import { sealedShape, verifyChunkSetSealAnswer, verifyReplicaAudit, verifySealAnswer, type PorepNetworkParams } from '../../../lib/chain/sealed.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { createLogger, silentLogger } from '../../../lib/log/logger.js';
import { NODE_SIZE, chunkSetDataBytes } from '../../../lib/porep/index.js';
import { spotCheckSeal } from '../../../lib/chain/seal-spot-check.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { workerLabeller } from '../../../services/storer/porep/labeller.js';
import { SectorStore } from '../../../services/storer/porep/sectors.js';
import { startInProcess } from '../../helpers/service.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { infoOf, pattern, storerClient, unary } from './client.js';

const seeded = testRandom('unit/storer/porep.test.ts');
logSeedOnFailure(test);

const PARAMS: PorepNetworkParams = { sectorBytes: 64 * 1024, layers: 4, sealChallenges: 64, auditChallenges: 16 };

test('sector store: labels ahead, places disjoint ranges, keeps them across a restart, discards a half-labelled sector', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-sectors-'));
  const storerId = seeded.bytes(32);
  const random = (n: number) => seeded.bytes(n);
  const store = new SectorStore({ dir, storerId, params: PARAMS, labeller: workerLabeller, logger: silentLogger, random });
  t.deepEqual(store.init(), { sectors: 0, removed: 0 });
  store.start();
  await pollUntil(() => store.labelledSectors >= 1, { what: 'a sector labelled ahead', deadlineMs: 60_000 });
  const nodes = PARAMS.sectorBytes / NODE_SIZE;
  const a = await store.place(100, AbortSignal.timeout(60_000));
  const b = await store.place(nodes - 100, AbortSignal.timeout(60_000));
  t.is(a.sector.idHex, b.sector.idHex, 'the second file fills the same sector');
  t.deepEqual([a.first, b.first], [0, 100], 'disjoint ranges, in order');
  const c = await store.place(10, AbortSignal.timeout(60_000));
  t.not(c.sector.idHex, a.sector.idHex, 'a full sector is not used again: the next labelled one is');
  await store.stop();

  // a crash mid-labelling leaves a directory without sector.json: removed at start, never used
  mkdirSync(join(dir, 'ab'.repeat(32)));
  writeFileSync(join(dir, 'ab'.repeat(32), 'layer-1'), new Uint8Array(1000));
  const reopened = new SectorStore({ dir, storerId, params: PARAMS, labeller: workerLabeller, logger: silentLogger, random });
  const found = reopened.init();
  t.is(found.removed, 1, 'the half-labelled sector was removed');
  t.false(readdirSync(dir).includes('ab'.repeat(32)));
  t.is(reopened.get(a.sector.idHex)?.used, nodes, 'the filled sector is still full after the restart');
  const d = await reopened.place(10, AbortSignal.timeout(60_000));
  t.is(d.sector.idHex, c.sector.idHex, 'placement continues where it stopped');
  t.is(d.first, 10, 'after the range taken before the restart');
  await reopened.stop();
});

test('sector store: a file larger than the free room of a sector that still counts as open gets a newly labelled sector', async (t) => {
  const store = new SectorStore({ dir: mkdtempSync(join(tmpdir(), 'wolk-sectors-')), storerId: seeded.bytes(32), params: PARAMS, labeller: workerLabeller, logger: silentLogger, random: (n) => seeded.bytes(n) });
  store.init();
  store.start();
  try {
    const nodes = PARAMS.sectorBytes / NODE_SIZE;
    const a = await store.place(100, AbortSignal.timeout(60_000));
    const b = await store.place(nodes / 2, AbortSignal.timeout(60_000));
    t.is(b.sector.idHex, a.sector.idHex);
    // nodes/2 − 100 free: more than the quarter that keeps a sector "open", less than the next file
    const c = await store.place(nodes / 2, AbortSignal.timeout(60_000));
    t.not(c.sector.idHex, a.sector.idHex, 'placed in a new sector (before the fix it waited for a labelling nobody started)');
    t.is(c.first, 0);
  } finally {
    await store.stop();
  }
});

test('sector store with a spare (WOLK_SPARE_SECTORS): an empty labelled sector is kept beside the one being filled, a file that fits no partly used sector goes into it at once, and the next spare is labelled in the background', async (t) => {
  const store = new SectorStore({ dir: mkdtempSync(join(tmpdir(), 'wolk-sectors-')), storerId: seeded.bytes(32), params: PARAMS, labeller: workerLabeller, logger: silentLogger, random: (n) => seeded.bytes(n), spares: 1 });
  store.init();
  store.start();
  try {
    const nodes = PARAMS.sectorBytes / NODE_SIZE;
    await pollUntil(() => store.labelledSectors >= 2, { what: 'a sector to fill and a spare', deadlineMs: 60_000 });
    const a = await store.place(Math.floor(nodes * 0.8), AbortSignal.timeout(60_000));
    // A keeps less than a quarter free: one open sector (the spare) is short of one besides the spare.
    await pollUntil(() => store.labelledSectors >= 3, { what: 'the labeller to keep a spare beside the open sector', deadlineMs: 60_000 });
    const labelled = store.labelledSectors;
    const b = await store.place(Math.floor(nodes * 0.5), AbortSignal.timeout(10_000));
    t.not(b.sector.idHex, a.sector.idHex, 'half a sector does not fit the one being filled');
    t.is(b.first, 0, 'it goes into an empty labelled sector, at once');
    // Another spare is still there (the open sector and the spare): nothing to label yet.
    const c = await store.place(Math.floor(nodes * 0.6), AbortSignal.timeout(10_000));
    t.is(c.first, 0, 'a file that fits no partly used sector takes the spare at once');
    t.not(c.sector.idHex, b.sector.idHex);
    t.is(store.labelledSectors, labelled, 'neither placement waited for a labelling');
    await pollUntil(() => store.labelledSectors > labelled, { what: 'the next spare, labelled in the background', deadlineMs: 60_000 });
  } finally {
    await store.stop();
  }
});

async function fakeSource(data: Buffer, info: FileInfo) {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async *getFile(): AsyncIterable<GetFileResponse> {
      for (let o = 0; o < data.length; o += 65536) yield { offset: BigInt(o), data: data.subarray(o, o + 65536), info: o === 0 ? info : undefined, treeRoot: undefined, proof: undefined };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, stop: () => server.shutdown(0) };
}

/** A data directory with a node key and a one-storer genesis with params.porep; its storer's environment. */
function sealedStorerDir(): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-storer-porep-'));
  const key = seeded.provisionNodeKey(dataDir);
  const genesisPath = join(dataDir, 'genesis.json');
  const genesis = validateGenesis({
    network: 'test',
    seed: '00'.repeat(32),
    timestampMs: 0,
    params: { replication: 1, storerCommitteeSize: 1000, chunkSize: 4096, lambdaMs: 50, auditDepth: 4, porep: PARAMS },
    nodes: [{ id: key.id, vrfPublicKey: Buffer.from(key.vrfPublicKey).toString('hex'), endpoint: '127.0.0.1:1', roles: ['storer'], stake: '1000' }],
  });
  writeFileSync(genesisPath, JSON.stringify(genesis));
  // Sealing is tested here, not who may write (admission.test.ts): the fake sources are no registered nodes.
  return { WOLK_DATA_DIR: dataDir, WOLK_GENESIS: genesisPath, WOLK_WRITE_ADMISSION: 'open' };
}

test('a sealed Solicit: the commitment carries the sealed replica; ProveSeal and ProveReplica verify; wrong answers are refused', async (t) => {
  const node = await startInProcess('storer', createStorerNode, sealedStorerDir());
  const client = storerClient(node.endpoints['grpc']!);
  const small = pattern(20_000, 5);
  const large = pattern(100_000, 6); // larger than the 64 KiB sector: a sector of its own
  const sources = [];
  try {
    for (const [what, data] of [['20 kB in a shared sector', small], ['100 kB in its own sector', large]] as const) {
      const info = infoOf(data);
      const src = await fakeSource(data, info);
      sources.push(src);
      const req: SolicitRequest = { file: info, seed: seeded.bytes(32), seedRound: 3n, sourceEndpoint: src.endpoint, expectedStorers: 0, totalStake: 0n, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
      const res = await unary(client.solicit.bind(client), req, 120_000);
      t.is(res.result?.$case, 'selected', what);
      const c = res.result!.value as StorageCommitment;
      t.true(sealedShape(c, PARAMS).ok, `${what}: ${JSON.stringify(sealedShape(c, PARAMS))}`);

      const challenge = seeded.bytes(32);
      const answer = await unary(client.proveSeal.bind(client), { filehash: info.filehash, challenge, k: PARAMS.sealChallenges }, 60_000);
      t.deepEqual(verifySealAnswer(c, PARAMS, challenge, PARAMS.sealChallenges, answer), { ok: true }, what);
      // the same proof for another challenge, another storer's commitment, or tampered: refused
      t.false(verifySealAnswer(c, PARAMS, seeded.bytes(32), PARAMS.sealChallenges, answer).ok, `${what}: another challenge`);
      t.false(verifySealAnswer({ ...c, storerId: Buffer.from(seeded.bytes(32)) }, PARAMS, challenge, PARAMS.sealChallenges, answer).ok, `${what}: another storer's replica id`);
      const bad = { ...answer, proof: { ...answer.proof!, replicaNodes: answer.proof!.replicaNodes.map((r, i) => (i === 0 ? Buffer.from(r.map((x) => x ^ 1)) : r)) } };
      t.false(verifySealAnswer(c, PARAMS, challenge, PARAMS.sealChallenges, bad).ok, `${what}: tampered replica node`);

      const audit = await unary(client.proveReplica.bind(client), { filehash: info.filehash, challenge, k: PARAMS.auditChallenges }, 60_000);
      t.deepEqual(verifyReplicaAudit(audit.audit!, c, challenge, PARAMS.auditChallenges), { ok: true }, `${what}: audit`);
      const forged = { ...audit.audit!, proof: { ...audit.audit!.proof!, nodes: audit.audit!.proof!.nodes.map((r, i) => (i === 1 ? Buffer.alloc(32) : r)) } };
      t.false(verifyReplicaAudit(forged, c, challenge, PARAMS.auditChallenges).ok, `${what}: forged audit node`);
    }
  } finally {
    client.close();
    await node.close();
    for (const s of sources) await s.stop();
  }
});

test('the seal spot check gateways and the repairer run before they submit (lib/chain/seal-spot-check.ts): an honest sealed storer passes, a wrong sealer is refused as a verdict, a storer that does not answer is not', async (t) => {
  t.timeout(180_000);
  const honest = await startInProcess('storer', createStorerNode, sealedStorerDir());
  const wrong = await startInProcess('storer', createStorerNode, { ...sealedStorerDir(), WOLK_FAULTS: 'wrong-sealer' });
  const data = pattern(30_000, 9);
  const info = infoOf(data);
  const src = await fakeSource(data, info);
  const clients = [honest, wrong].map((n) => storerClient(n.endpoints['grpc']!));
  try {
    const [ch, cw] = await Promise.all(clients.map(async (client) => {
      const req: SolicitRequest = { file: info, seed: seeded.bytes(32), seedRound: 3n, sourceEndpoint: src.endpoint, expectedStorers: 0, totalStake: 0n, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
      const res = await unary(client.solicit.bind(client), req, 120_000);
      t.is(res.result?.$case, 'selected');
      return res.result!.value as StorageCommitment;
    }));
    t.true(sealedShape(cw!, PARAMS).ok, 'the wrong sealer\'s commitment is well formed: only a seal proof tells');
    const ask = (client: (typeof clients)[number]) => (req: Parameters<typeof client.proveSeal>[0]) => unary(client.proveSeal.bind(client), req, 60_000);
    t.deepEqual(await spotCheckSeal(ch!, PARAMS, ask(clients[0]!), () => seeded.bytes(32)), { ok: true }, 'the honest storer');
    const w = await spotCheckSeal(cw!, PARAMS, ask(clients[1]!), () => seeded.bytes(32));
    t.false(w.ok);
    t.true(!w.ok && w.refused, 'the wrong sealer answered: a verdict');
    t.regex(!w.ok ? w.reason : '', /^seal proof refused: /);
    await wrong.close();
    const down = await spotCheckSeal(cw!, PARAMS, ask(clients[1]!), () => seeded.bytes(32));
    t.true(!down.ok && !down.refused, `a storer that is down is not a verdict (${!down.ok ? down.reason : ''})`);
  } finally {
    for (const c of clients) c.close();
    await honest.close();
    await wrong.close().catch(() => undefined);
    await src.stop();
  }
});

test('the first ProveSeal of a sector opens the column tree its labelling built; after a restart the tree is built from the layers', async (t) => {
  const env = sealedStorerDir();
  // The sealer logs each column tree it builds from a sector's layer files (sealer.ts columnTree).
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const builds = () => lines.filter((l) => l['msg'] === "building a sector's column tree from its layers");
  const data = pattern(20_000, 7);
  const info = infoOf(data);
  const src = await fakeSource(data, info);
  const prove = async (endpoint: string, c: StorageCommitment) => {
    const client = storerClient(endpoint);
    try {
      const challenge = seeded.bytes(32);
      const answer = await unary(client.proveSeal.bind(client), { filehash: info.filehash, challenge, k: PARAMS.sealChallenges }, 60_000);
      return verifySealAnswer(c, PARAMS, challenge, PARAMS.sealChallenges, answer);
    } finally {
      client.close();
    }
  };
  try {
    let node = await startInProcess('storer', createStorerNode, env, logger);
    let c: StorageCommitment;
    try {
      const client = storerClient(node.endpoints['grpc']!);
      const req: SolicitRequest = { file: info, seed: seeded.bytes(32), seedRound: 3n, sourceEndpoint: src.endpoint, expectedStorers: 0, totalStake: 0n, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
      const res = await unary(client.solicit.bind(client), req, 120_000);
      client.close();
      t.is(res.result?.$case, 'selected');
      c = res.result!.value as StorageCommitment;
      t.deepEqual(await prove(node.endpoints['grpc']!, c), { ok: true }, 'the first seal proof verifies');
      t.deepEqual(await prove(node.endpoints['grpc']!, c), { ok: true }, 'and the next one');
      t.deepEqual(builds(), [], 'no column tree was built from layer files: the labelling\'s tree was used');
    } finally {
      await node.close();
    }
    node = await startInProcess('storer', createStorerNode, env, logger);
    try {
      t.deepEqual(await prove(node.endpoints['grpc']!, c), { ok: true }, 'after a restart the seal proof verifies');
      t.is(builds().length, 1, 'after a restart the column tree is built once from the layer files');
    } finally {
      await node.close();
    }
  } finally {
    await src.stop();
  }
});

test('the column-tree cache is bounded (WOLK_COLUMN_TREE_CACHE_BYTES): a tree it dropped is built again from the layers and the seal proof verifies', async (t) => {
  // 256 KiB holds one of the two sectors' column trees, not both: the shared 64 KiB sector's (2048 nodes,
  // 128 KiB) or the 100 kB file's own sector's (3125 nodes, 195 KiB).
  const env = { ...sealedStorerDir(), WOLK_COLUMN_TREE_CACHE_BYTES: '256KiB' };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const builds = () => lines.filter((l) => l['msg'] === "building a sector's column tree from its layers").map((l) => l['sector']);
  const node = await startInProcess('storer', createStorerNode, env, logger);
  const client = storerClient(node.endpoints['grpc']!);
  const sources: { stop(): Promise<void> | void }[] = [];
  try {
    const seal = async (data: Buffer) => {
      const info = infoOf(data);
      const src = await fakeSource(data, info);
      sources.push(src);
      const req: SolicitRequest = { file: info, seed: seeded.bytes(32), seedRound: 3n, sourceEndpoint: src.endpoint, expectedStorers: 0, totalStake: 0n, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
      const res = await unary(client.solicit.bind(client), req, 120_000);
      t.is(res.result?.$case, 'selected');
      return { info, c: res.result!.value as StorageCommitment };
    };
    const prove = async (f: { info: FileInfo; c: StorageCommitment }) => {
      const challenge = seeded.bytes(32);
      const answer = await unary(client.proveSeal.bind(client), { filehash: f.info.filehash, challenge, k: PARAMS.sealChallenges }, 60_000);
      return verifySealAnswer(f.c, PARAMS, challenge, PARAMS.sealChallenges, answer);
    };
    const small = await seal(pattern(20_000, 8));
    const large = await seal(pattern(100_000, 9)); // larger than a sector: a sector of its own
    const smallSector = Buffer.from(small.c.sealed!.sectorId).toString('hex').slice(0, 16);
    t.not(Buffer.from(large.c.sealed!.sectorId).toString('hex').slice(0, 16), smallSector, 'two sectors');

    t.deepEqual(await prove(small), { ok: true }, 'the small file\'s seal proof verifies');
    const before = builds().length;
    t.deepEqual(await prove(small), { ok: true }, 'and again');
    t.is(builds().length, before, 'its sector\'s column tree is cached');
    t.deepEqual(await prove(large), { ok: true }, 'the large file\'s seal proof verifies (its tree drops the other from the cache)');
    const afterLarge = builds().length;
    t.deepEqual(await prove(small), { ok: true }, 'the small file\'s seal proof verifies after its tree was dropped');
    t.deepEqual(builds().slice(afterLarge), [smallSector], 'its sector\'s column tree was built again from the layers, once');
    t.deepEqual(await prove(small), { ok: true });
    t.is(builds().length, afterLarge + 1, 'and is cached again');
  } finally {
    client.close();
    await node.close();
    for (const s of sources) await s.stop();
  }
});

test('a sealed CommitChunks: the chunk-set commitment carries a sealed replica of the set\'s slots; ProveSeal opens chunks against the block\'s ids, ProveReplica verifies, both after a restart; wrong sets and tampered chunks are refused', async (t) => {
  const env = sealedStorerDir();
  // A block-like set: small state nodes and one 5000-byte chunk (slots of 8192 bytes).
  const chunks = Array.from({ length: 5 }, (_, i) => Buffer.from(seeded.bytes(i === 2 ? 5000 : 90 + i)));
  const nc: NewChunks = { chunkIds: chunks.map((c) => Buffer.from(sha256(c))), files: [], chunkCommitments: [], repairedChunkSets: [] };
  const setHash = Buffer.from(newChunksHashOf(nc));
  const lengths = chunks.map((c) => c.length);
  const req: CommitChunksRequest = { newChunks: nc, seed: Buffer.from(seeded.bytes(32)), seedRound: 7n, expectedStorers: 1000, totalStake: 1000n, data: chunks, requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
  const proveAndCheck = async (endpoint: string, c: StorageCommitment, what: string) => {
    const client = storerClient(endpoint);
    try {
      const challenge = seeded.bytes(32);
      const answer = await unary(client.proveSeal.bind(client), { filehash: setHash, challenge, k: PARAMS.sealChallenges }, 60_000);
      t.deepEqual(verifyChunkSetSealAnswer(c, PARAMS, nc.chunkIds, challenge, PARAMS.sealChallenges, answer), { ok: true }, `${what}: seal proof`);
      t.false(verifyChunkSetSealAnswer(c, PARAMS, [...nc.chunkIds].reverse(), challenge, PARAMS.sealChallenges, answer).ok, `${what}: against another order of the ids`);
      t.false(verifyChunkSetSealAnswer(c, PARAMS, nc.chunkIds.slice(1), challenge, PARAMS.sealChallenges, answer).ok, `${what}: against another set`);
      const tampered = { ...answer, proof: { ...answer.proof!, chunks: answer.proof!.chunks.map((x, i) => (i === 0 ? Buffer.from(x.map((b) => b ^ 1)) : x)) } };
      t.true(answer.proof!.chunks.length > 0, `${what}: the proof opens data chunks`);
      t.false(verifyChunkSetSealAnswer(c, PARAMS, nc.chunkIds, challenge, PARAMS.sealChallenges, tampered).ok, `${what}: a tampered chunk`);
      t.false(verifySealAnswer(c, PARAMS, challenge, PARAMS.sealChallenges, answer).ok, `${what}: not a file's proof`);
      const audit = await unary(client.proveReplica.bind(client), { filehash: setHash, challenge, k: PARAMS.auditChallenges }, 60_000);
      t.deepEqual(verifyReplicaAudit(audit.audit!, c, challenge, PARAMS.auditChallenges, chunkSetDataBytes(chunks.length, c.chunkSize)), { ok: true }, `${what}: replica audit`);
    } finally {
      client.close();
    }
  };
  let node = await startInProcess('storer', createStorerNode, env);
  let c: StorageCommitment;
  try {
    const client = storerClient(node.endpoints['grpc']!);
    const res = await unary(client.commitChunks.bind(client), req, 120_000);
    client.close();
    t.is(res.result?.$case, 'selected');
    c = res.result!.value as StorageCommitment;
    t.truthy(c.sealed, 'the commitment carries a sealed replica');
    t.is(c.chunkSize, 8192);
    const slots = chunkSetDataBytes(chunks.length, c.chunkSize);
    t.deepEqual(sealedShape(c, PARAMS, slots), { ok: true, range: { sectorNodes: PARAMS.sectorBytes / NODE_SIZE, first: Number(c.sealed!.firstNode), count: slots / NODE_SIZE } });
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(c.storerId) ? { vrfPublicKey: c.vrfPublicKey, stake: 1000n } : undefined);
    const ctx = { lookupStorer: lookup, totalWeight: 1000n, expectedSize: 1000, seed: req.seed, seedRound: 7n, newChunksHash: setHash, chunkLengths: lengths };
    t.deepEqual(verifyChunkCommitment(c, { ...ctx, porep: PARAMS }), { ok: true, weight: 1000 }, 'valid on the sealed network');
    t.false(verifyChunkCommitment(c, ctx).ok, 'a sealed replica on a network that does not seal is refused');
    const { sealed: _, ...unsealed } = c;
    t.false(verifyChunkCommitment(unsealed as StorageCommitment, { ...ctx, porep: PARAMS }).ok, 'the commitment without its sealed replica is refused');
    await proveAndCheck(node.endpoints['grpc']!, c, 'sealed');
  } finally {
    await node.close();
  }
  node = await startInProcess('storer', createStorerNode, env);
  try {
    await proveAndCheck(node.endpoints['grpc']!, c, 'after a restart');
    const client = storerClient(node.endpoints['grpc']!);
    const again = await unary(client.commitChunks.bind(client), { ...req, data: [] }, 60_000);
    client.close();
    t.deepEqual((again.result!.value as StorageCommitment).sealed, c.sealed, 'the set asked for again keeps its sealed place');
  } finally {
    await node.close();
  }
});

test('a sealed storer commits to an empty chunk set (a block without new chunks) without a sealed replica, which the sealed network\'s rule expects', async (t) => {
  const node = await startInProcess('storer', createStorerNode, sealedStorerDir());
  try {
    const client = storerClient(node.endpoints['grpc']!);
    const nc: NewChunks = { chunkIds: [], files: [], chunkCommitments: [], repairedChunkSets: [] };
    const req: CommitChunksRequest = { newChunks: nc, seed: Buffer.from(seeded.bytes(32)), seedRound: 7n, expectedStorers: 1000, totalStake: 1000n, data: [], requesterId: Buffer.alloc(0), signature: Buffer.alloc(0) };
    const res = await unary(client.commitChunks.bind(client), req, 60_000);
    client.close();
    t.is(res.result?.$case, 'selected');
    const c = res.result!.value as StorageCommitment;
    t.is(c.sealed, undefined, 'nothing to seal');
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(c.storerId) ? { vrfPublicKey: c.vrfPublicKey, stake: 1000n } : undefined);
    const ctx = { lookupStorer: lookup, totalWeight: 1000n, expectedSize: 1000, seed: req.seed, seedRound: 7n, newChunksHash: newChunksHashOf(nc), chunkLengths: [], porep: PARAMS };
    t.deepEqual(verifyChunkCommitment(c, ctx), { ok: true, weight: 1000 });
  } finally {
    await node.close();
  }
});
