// Solicit between real storers over sockets: selected storers fetch from the source, commit and sign a
// commitment the shared verifier accepts; not-selected ones prove it; concurrent requests fetch once;
// broken sources, bad signatures and registry mismatches are refused; the fault switches misbehave.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FileInfo } from '../../../gen/wolk/common/v1/storage.js';
import { SolicitRequest, StorerServiceService, type GetFileResponse, type StorerServiceClient } from '../../../gen/wolk/storer/v1/storer.js';
import { verifyFileAudit, verifyNotSelected, verifyStorageCommitment } from '../../../lib/chain/commitment.js';
import { nodesWithRole, validateGenesis } from '../../../lib/chain/genesis.js';
import { fromHex } from '../../../lib/crypto/hash.js';
import { SignDomain, sign } from '../../../lib/crypto/sign.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { WolkError } from '../../../lib/grpc/errors.js';
import { createLogger, silentLogger } from '../../../lib/log/logger.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { startInProcess } from '../../helpers/service.js';
import { codeOf, getFile, infoOf, pattern, setFile, storerClient, unary } from './client.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { pollUntil } from '../../helpers/poll.js';
import { signSolicit, unsignedWrite } from '../../../lib/chain/write-request.js';
import { signerOf } from '../../../lib/identity/node-key.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/storer/solicit.test.ts');
logSeedOnFailure(test);

async function start(env: Record<string, string> = {}) {
  const node = await startInProcess('storer', createStorerNode, env);
  const client = storerClient(node.endpoints['grpc']!);
  const info = await unary(client.getInfo.bind(client), {});
  return {
    node,
    client,
    endpoint: node.endpoints['grpc']!,
    id: info.storerId,
    vrfPublicKey: info.vrfPublicKey,
    async stop() {
      client.close();
      await node.close();
    },
  };
}

/** A source that serves one file by GetFile, counting calls, optionally serving other bytes. */
async function fakeSource(data: Buffer, info: FileInfo, opts: { delayMs?: number; lie?: boolean } = {}) {
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  let calls = 0;
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async *getFile(): AsyncIterable<GetFileResponse> {
      calls++;
      const bytes = opts.lie ? Buffer.from(data).fill(7, 1000, 1001) : data;
      for (let o = 0; o < bytes.length; o += 65536) {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        yield { offset: BigInt(o), data: bytes.subarray(o, o + 65536), info: o === 0 ? info : undefined, treeRoot: undefined, proof: undefined };
      }
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  return { endpoint: `127.0.0.1:${port}`, calls: () => calls, stop: () => server.shutdown(0) };
}

function request(file: FileInfo, source: string, over: Partial<SolicitRequest> = {}): SolicitRequest {
  return {
    file,
    seed: seeded.bytes(32),
    seedRound: 3n,
    sourceEndpoint: source,
    expectedStorers: 0,
    totalStake: 0n,
    requesterId: Buffer.alloc(0),
    signature: Buffer.alloc(0),
    ...over,
  };
}

const solicit = (c: StorerServiceClient, req: SolicitRequest) => unary(c.solicit.bind(c), req, 60_000);

test('selected: fetches from the source, commits, and the commitment and audits verify', async (t) => {
  const src = await start();
  const dst = await start();
  try {
    const data = pattern(3 * 1024 * 1024 + 17, 21);
    const info = infoOf(data);
    await setFile(src.client, info, data);
    // One storer with all the stake and τ = total: sortition selects all of it.
    const req = request(info, src.endpoint, { totalStake: 1000n, expectedStorers: 1000 });
    const res = await solicit(dst.client, req);
    t.is(res.result?.$case, 'selected');
    const c = res.result!.value as import('../../../gen/wolk/common/v1/storage.js').StorageCommitment;
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(dst.id) ? { vrfPublicKey: dst.vrfPublicKey, stake: 1000n } : undefined);
    const v = verifyStorageCommitment(c, { lookupStorer: lookup, totalWeight: 1000n, expectedSize: 1000, seed: req.seed, filehash: info.filehash, seedRound: 3n, size: info.size, chunkSize: 4096 });
    t.deepEqual(v, { ok: true, weight: 1000 });
    t.true((await getFile(dst.client, { filehash: info.filehash })).bytes.equals(data), 'the replica is readable');
    const challenge = seeded.bytes(32);
    const { audit } = await unary(dst.client.verifyFile.bind(dst.client), { filehash: info.filehash, challenge, k: 12 });
    t.deepEqual(verifyFileAudit(audit!, c, challenge, 12), { ok: true }, 'audit against the commitment');
    const stats = (await unary(dst.client.getInfo.bind(dst.client), {})).stats!;
    t.is(stats.solicitsSelected, 1n);
    t.is(stats.files, 1n);
  } finally {
    await dst.stop();
    await src.stop();
  }
});

test('not selected: answers at once with a proof of weight 0 that verifies', async (t) => {
  const s = await start();
  try {
    const data = pattern(1000, 1);
    const info = infoOf(data);
    // Stake 1000 of 10^15 with τ = 1: selected with probability 1e-12.
    const req = request(info, '127.0.0.1:1', { totalStake: 10n ** 15n, expectedStorers: 1 });
    const res = await solicit(s.client, req);
    t.is(res.result?.$case, 'notSelected');
    const ns = res.result!.value as import('../../../gen/wolk/storer/v1/storer.js').NotSelected;
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(s.id) ? { vrfPublicKey: s.vrfPublicKey, stake: 1000n } : undefined);
    t.deepEqual(verifyNotSelected(ns, { lookupStorer: lookup, totalWeight: 10n ** 15n, expectedSize: 1, seed: req.seed, filehash: info.filehash }), { ok: true });
    t.is(await codeOf(getFile(s.client, { filehash: info.filehash })), status.NOT_FOUND, 'nothing fetched');
  } finally {
    await s.stop();
  }
});

test('concurrent Solicits for one file fetch it once', async (t) => {
  const s = await start();
  const data = pattern(2 * 1024 * 1024, 5);
  const info = infoOf(data);
  const source = await fakeSource(data, info, { delayMs: 5 });
  try {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => solicit(s.client, request(info, source.endpoint, { totalStake: 1000n, expectedStorers: 1000 }))),
    );
    t.true(answers.every((a) => a.result?.$case === 'selected'));
    t.is(source.calls(), 1, 'one fetch for six requests');
    const roots = new Set(answers.map((a) => Buffer.from((a.result!.value as { replicaRoot: Buffer }).replicaRoot).toString('hex')));
    t.is(roots.size, 1);
    await solicit(s.client, request(info, source.endpoint, { totalStake: 1000n, expectedStorers: 1000 }));
    t.is(source.calls(), 1, 'a file already held is not fetched again');
  } finally {
    await source.stop();
    await s.stop();
  }
});

test('a Solicit that joined another\'s fetch, which then failed (its upload\'s body did), fetches once more on its own and commits', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const node = await startInProcess('storer', createStorerNode, {}, logger);
  const client = storerClient(node.endpoints['grpc']!);
  const data = pattern(300_000, 9);
  const info = infoOf(data);
  // The source's first GetFile sends a piece, then fails when the test says (a gateway whose first
  // upload of the file had a bad body); every later one serves the file.
  let calls = 0;
  let failFirst!: () => void;
  const firstFails = new Promise<void>((r) => (failFirst = r));
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async *getFile(): AsyncIterable<GetFileResponse> {
      const call = ++calls;
      for (let o = 0; o < data.length; o += 65536) {
        yield { offset: BigInt(o), data: data.subarray(o, o + 65536), info: o === 0 ? info : undefined, treeRoot: undefined, proof: undefined };
        if (call === 1) {
          await firstFails;
          throw new WolkError('UNAVAILABLE', 'the upload stopped while it was being fetched');
        }
      }
    },
  });
  const source = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  try {
    const all = { totalStake: 1000n, expectedStorers: 1000 };
    const first = codeOf(solicit(client, request(info, source, all)));
    await pollUntil(() => calls, { what: 'the first fetch to start', deadlineMs: 30_000, until: (n) => n === 1 });
    const second = solicit(client, request(info, source, all));
    await pollUntil(() => lines.filter((l) => l['msg'] === 'joined a fetch in flight for another Solicit').length, { what: 'the second Solicit to join the fetch in flight', deadlineMs: 30_000, until: (n) => n === 1 });
    failFirst();
    t.is(await first, status.UNAVAILABLE, 'the Solicit whose fetch failed fails');
    const answer = await second;
    t.is(answer.result?.$case, 'selected', 'the one that had joined it fetched again and committed');
    t.is(calls, 2);
    t.truthy(await getFile(client, { filehash: info.filehash }));
  } finally {
    client.close();
    await server.shutdown(0);
    await node.close();
  }
});

test('a broken source: unreachable is UNAVAILABLE, wrong bytes are INVALID_ARGUMENT, nothing kept', async (t) => {
  const s = await start();
  const data = pattern(500_000, 8);
  const info = infoOf(data);
  const liar = await fakeSource(data, info, { lie: true });
  try {
    const all = { totalStake: 1000n, expectedStorers: 1000 };
    t.is(await codeOf(solicit(s.client, request(info, '127.0.0.1:1', all))), status.UNAVAILABLE);
    t.is(await codeOf(solicit(s.client, request(info, liar.endpoint, all))), status.INVALID_ARGUMENT);
    t.is(await codeOf(getFile(s.client, { filehash: info.filehash })), status.NOT_FOUND);
    t.is(await codeOf(solicit(s.client, request(info, 'no port', all))), status.INVALID_ARGUMENT, 'malformed endpoint');
    t.is(await codeOf(solicit(s.client, request(info, liar.endpoint, { ...all, seed: Buffer.alloc(4) }))), status.INVALID_ARGUMENT, 'short seed');
  } finally {
    await liar.stop();
    await s.stop();
  }
});

test('signed store requests: a valid signature is accepted, a bad one is UNAUTHENTICATED', async (t) => {
  const s = await start();
  const data = pattern(10_000, 2);
  const info = infoOf(data);
  const source = await fakeSource(data, info);
  try {
    const gw = seeded.keyPair();
    const unsigned = request(info, source.endpoint, { totalStake: 1000n, expectedStorers: 1000, requesterId: Buffer.from(gw.publicKey) });
    const signed = { ...unsigned, signature: Buffer.from(sign(SignDomain.StoreRequest, gw.secretKey, SolicitRequest.encode(unsigned).finish())) };
    t.is((await solicit(s.client, signed)).result?.$case, 'selected');
    t.is(await codeOf(solicit(s.client, { ...signed, seedRound: 4n })), status.UNAUTHENTICATED, 'a field changed after signing');
    t.is(await codeOf(solicit(s.client, { ...unsigned, signature: Buffer.alloc(0) })), status.UNAUTHENTICATED, 'requester without signature');
  } finally {
    await source.stop();
    await s.stop();
  }
});

test('with a genesis: sortition against the registry; contradicting requests and unlisted storers refused', async (t) => {
  // Make the storer's keys first so the genesis can list it.
  const dataDir = mkdtempSync(join(tmpdir(), 'wolk-storer-genesis-'));
  const key = seeded.provisionNodeKey(dataDir);
  const other = seeded.nodeKey();
  // The requester: a gateway the genesis registers at the source's endpoint (write admission).
  const gateway = seeded.nodeKey();
  const data = pattern(50_000, 3);
  const info = infoOf(data);
  const source = await fakeSource(data, info);
  const genesisPath = join(dataDir, 'genesis.json');
  const node = (id: string, vrf: Uint8Array, endpoint: string, role = 'storer') => ({ id, vrfPublicKey: Buffer.from(vrf).toString('hex'), endpoint, roles: [role], stake: '1000' });
  const genesis = validateGenesis({
    network: 'test',
    seed: '00'.repeat(32),
    timestampMs: 0,
    params: { replication: 1, storerCommitteeSize: 2000, chunkSize: 4096, lambdaMs: 50, auditDepth: 4 },
    nodes: [node(key.id, key.vrfPublicKey, '127.0.0.1:1'), node(other.id, other.vrfPublicKey, '127.0.0.1:2'), node(gateway.id, gateway.vrfPublicKey, source.endpoint, 'gateway')],
  });
  writeFileSync(genesisPath, JSON.stringify(genesis));
  const s = await start({ WOLK_DATA_DIR: dataDir, WOLK_GENESIS: genesisPath });
  const signed = (over: Partial<SolicitRequest> = {}) => signSolicit(signerOf(gateway), request(info, source.endpoint, over));
  try {
    // τ = total stake: everyone is selected, with weight = stake.
    const req = signed();
    const res = await solicit(s.client, req);
    t.is(res.result?.$case, 'selected');
    const { nodes, totalStake } = nodesWithRole(genesis, 'storer');
    const reg = new Map(nodes.map((n) => [n.id, { vrfPublicKey: fromHex(n.vrfPublicKey), stake: BigInt(n.stake) }]));
    const v = verifyStorageCommitment(res.result!.value as import('../../../gen/wolk/common/v1/storage.js').StorageCommitment, {
      lookupStorer: (id) => reg.get(Buffer.from(id).toString('hex')),
      totalWeight: totalStake,
      expectedSize: genesis.params.storerCommitteeSize,
      seed: req.seed,
      filehash: info.filehash,
    });
    t.true(v.ok, JSON.stringify(v));
    t.is(await codeOf(solicit(s.client, signed({ totalStake: 5000n }))), status.FAILED_PRECONDITION, 'another total stake');
    t.is(await codeOf(solicit(s.client, signed({ expectedStorers: 3 }))), status.FAILED_PRECONDITION, 'another committee size');
  } finally {
    await s.stop();
  }
  // A storer the genesis does not list cannot be selected.
  const stranger = await start({ WOLK_GENESIS: genesisPath });
  try {
    t.is(await codeOf(solicit(stranger.client, signed())), status.FAILED_PRECONDITION);
  } finally {
    await stranger.stop();
    await source.stop();
  }
});

test('fault switches: drop-after-commit keeps the record but not the bytes; corrupt-reads flips bytes', async (t) => {
  const data = pattern(200_000, 4);
  const info = infoOf(data);
  const source = await fakeSource(data, info);
  const lazy = await start({ WOLK_FAULTS: 'drop-after-commit' });
  const liar = await start({ WOLK_FAULTS: 'corrupt-reads' });
  try {
    const res = await solicit(lazy.client, request(info, source.endpoint, { totalStake: 1000n, expectedStorers: 1000 }));
    t.is(res.result?.$case, 'selected', 'the lazy storer still commits');
    // The bytes are dropped after the commitment is answered: wait for that, then check the record.
    await pollUntil(() => codeOf(getFile(lazy.client, { filehash: info.filehash })), { what: 'the lazy storer to drop the bytes (GetFile INTERNAL)', deadlineMs: 10_000, intervalMs: 50, until: (code) => code === status.INTERNAL });
    t.is((await unary(lazy.client.getInfo.bind(lazy.client), {})).stats!.files, 1n, 'the record stays');
    t.is(await codeOf(getFile(lazy.client, { filehash: info.filehash })), status.INTERNAL, 'the bytes are gone');
    t.is(await codeOf(unary(lazy.client.verifyFile.bind(lazy.client), { filehash: info.filehash, challenge: seeded.bytes(32), k: 4 })), status.INTERNAL, 'audits fail');

    await setFile(liar.client, info, data);
    const got = await getFile(liar.client, { filehash: info.filehash });
    t.is(got.bytes.length, data.length);
    t.false(got.bytes.equals(data), 'served bytes differ');
    const chunk = pattern(4096, 9);
    const { chunkId } = await unary(liar.client.setShare.bind(liar.client), { data: chunk, chunkId: Buffer.alloc(0), ...unsignedWrite() });
    t.false((await unary(liar.client.getShare.bind(liar.client), { chunkId })).data.equals(chunk));
  } finally {
    await lazy.stop();
    await liar.stop();
    await source.stop();
  }
});

test('an unknown fault name stops the start with a message', async (t) => {
  await t.throwsAsync(start({ WOLK_FAULTS: 'drop-everything' }), { message: /WOLK_FAULTS: unknown fault "drop-everything"/ });
});
