// CommitChunks between a client and a real storer over a socket: a selected storer that holds every
// chunk of a block's set (some pushed with SetShares, some sent along) signs a commitment the shared
// verifier (lib/chain/commitment.ts verifyChunkCommitment) accepts; one lacking chunks says which and
// signs nothing; a not-selected one proves it and stores nothing; forged or malformed requests are refused.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import type { CommitChunksRequest, NotSelected, StorerServiceClient } from '../../../gen/wolk/storer/v1/storer.js';
import { chunkSetShape, commitChunksMessage, verifyChunkCommitment, verifyNotSelected, verifyShareProof } from '../../../lib/chain/commitment.js';
import { newChunksHashOf } from '../../../lib/chain/reward.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { SignDomain, sign } from '../../../lib/crypto/sign.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { startInProcess } from '../../helpers/service.js';
import { codeOf, storerClient, unary } from './client.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { unsignedWrite } from '../../../lib/chain/write-request.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/storer/commit-chunks.test.ts');
logSeedOnFailure(test);

async function start() {
  const node = await startInProcess('storer', createStorerNode, {});
  const client = storerClient(node.endpoints['grpc']!);
  const info = await unary(client.getInfo.bind(client), {});
  return {
    client,
    id: info.storerId,
    vrfPublicKey: info.vrfPublicKey,
    async stop() {
      client.close();
      await node.close();
    },
  };
}

/** A block-like chunk set: small "state nodes" and one chunk of 5000 bytes (chunk_size 8192). */
function chunkSet(n: number): { chunks: Buffer[]; nc: NewChunks } {
  const chunks = Array.from({ length: n }, (_, i) => seeded.bytes(i === 0 ? 5000 : 80 + (i % 40)));
  return { chunks, nc: { chunkIds: chunks.map((c) => Buffer.from(sha256(c))), files: [], chunkCommitments: [], repairedChunkSets: [] } };
}

function request(nc: NewChunks, over: Partial<CommitChunksRequest> = {}): CommitChunksRequest {
  return { newChunks: nc, seed: seeded.bytes(32), seedRound: 7n, expectedStorers: 1000, totalStake: 1000n, data: [], requesterId: Buffer.alloc(0), signature: Buffer.alloc(0), ...over };
}

const commit = (c: StorerServiceClient, req: CommitChunksRequest) => unary(c.commitChunks.bind(c), req, 30_000);

test('selected: missing chunks are named, then the commitment verifies against the set', async (t) => {
  const s = await start();
  try {
    const { chunks, nc } = chunkSet(300);
    // Half pushed beforehand with SetShares (what the proposer's block store does), a quarter sent along.
    await unary(s.client.setShares.bind(s.client), { data: chunks.slice(0, 150), ...unsignedWrite() });
    const req = request(nc, { data: chunks.slice(150, 225) });
    const first = await commit(s.client, req);
    t.is(first.result?.$case, 'missing');
    const missing = (first.result!.value as { chunkIds: Buffer[] }).chunkIds.map((b) => b.toString('hex'));
    t.deepEqual(missing, nc.chunkIds.slice(225).map((b) => b.toString('hex')), 'exactly the chunks neither pushed nor sent');

    const second = await commit(s.client, request(nc, { seed: req.seed, data: chunks.slice(225) }));
    t.is(second.result?.$case, 'selected');
    const c = second.result!.value as StorageCommitment;
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(s.id) ? { vrfPublicKey: s.vrfPublicKey, stake: 1000n } : undefined);
    const ctx = { lookupStorer: lookup, totalWeight: 1000n, expectedSize: 1000, seed: req.seed, seedRound: 7n, newChunksHash: newChunksHashOf(nc), chunkLengths: chunks.map((x) => x.length) };
    t.deepEqual(verifyChunkCommitment(c, ctx), { ok: true, weight: 1000 });
    t.deepEqual({ size: c.size, chunkSize: c.chunkSize }, chunkSetShape(chunks.map((x) => x.length)));
    t.is(c.chunkSize, 8192);
    t.false(verifyChunkCommitment(c, { ...ctx, chunkLengths: chunks.slice(1).map((x) => x.length) }).ok, 'size is checked when the chunks are known');
    t.false(verifyChunkCommitment(c, { ...ctx, newChunksHash: seeded.bytes(32) }).ok, 'another set');
    t.false(verifyChunkCommitment({ ...c, replicaRoot: seeded.bytes(32) }, ctx).ok, 'another replica root');

    // Every chunk is now durable here and answers VerifyShare.
    const nonce = seeded.bytes(32);
    const { proof } = await unary(s.client.verifyShare.bind(s.client), { chunkId: nc.chunkIds[299]!, nonce });
    t.true(Buffer.from(proof!.storerId).equals(s.id));
  } finally {
    await s.stop();
  }
});

test('the same set asked for again (another proposer, a later period) gets the same commitment; another seed a new draw (issue 17: draws kept)', async (t) => {
  const s = await start();
  try {
    const { chunks, nc } = chunkSet(4);
    const req = request(nc, { data: chunks, ...unsignedWrite() });
    const first = await commit(s.client, req);
    const second = await commit(s.client, request(nc, { seed: req.seed }));
    t.is(first.result?.$case, 'selected');
    t.deepEqual(second.result, first.result, 'identical commitment');
    const other = request(nc);
    const third = await commit(s.client, other);
    t.is(third.result?.$case, 'selected');
    const c = third.result!.value as StorageCommitment;
    t.false(Buffer.from(c.vrf!.proof).equals((first.result!.value as StorageCommitment).vrf!.proof), 'a new VRF proof for the new seed');
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(s.id) ? { vrfPublicKey: s.vrfPublicKey, stake: 1000n } : undefined);
    const ctx = { lookupStorer: lookup, totalWeight: 1000n, expectedSize: 1000, seed: other.seed, seedRound: 7n, newChunksHash: newChunksHashOf(nc), chunkLengths: chunks.map((x) => x.length) };
    t.deepEqual(verifyChunkCommitment(c, ctx), { ok: true, weight: 1000 });
    t.false(verifyChunkCommitment(c, { ...ctx, seed: req.seed }).ok, 'not valid for the first seed');
  } finally {
    await s.stop();
  }
});

test('not selected: a proof of weight 0, and chunks sent along are not stored', async (t) => {
  const s = await start();
  try {
    const { chunks, nc } = chunkSet(5);
    const req = request(nc, { totalStake: 10n ** 15n, expectedStorers: 1, data: chunks });
    const res = await commit(s.client, req);
    t.is(res.result?.$case, 'notSelected');
    const lookup = (id: Uint8Array) => (Buffer.from(id).equals(s.id) ? { vrfPublicKey: s.vrfPublicKey, stake: 1000n } : undefined);
    t.deepEqual(verifyNotSelected(res.result!.value as NotSelected, { lookupStorer: lookup, totalWeight: 10n ** 15n, expectedSize: 1, seed: req.seed, filehash: newChunksHashOf(nc) }), { ok: true });
    t.is(await codeOf(unary(s.client.getShare.bind(s.client), { chunkId: nc.chunkIds[0]! })), status.NOT_FOUND);
  } finally {
    await s.stop();
  }
});

test('signed requests: valid accepted; altered or forged UNAUTHENTICATED; malformed INVALID_ARGUMENT', async (t) => {
  const s = await start();
  try {
    const { chunks, nc } = chunkSet(3);
    const proposer = seeded.keyPair();
    const unsigned = request(nc, { requesterId: Buffer.from(proposer.publicKey) });
    const signed = { ...unsigned, data: chunks, signature: Buffer.from(sign(SignDomain.ChunkCommitRequest, proposer.secretKey, commitChunksMessage(unsigned))) };
    t.is((await commit(s.client, signed)).result?.$case, 'selected', 'data is not covered by the signature (chunks are checked by hash)');
    t.is(await codeOf(commit(s.client, { ...signed, seedRound: 8n })), status.UNAUTHENTICATED, 'a field changed after signing');
    const other = { ...nc, chunkIds: [...nc.chunkIds, Buffer.from(sha256(seeded.bytes(9)))] };
    t.is(await codeOf(commit(s.client, { ...signed, newChunks: other })), status.UNAUTHENTICATED, 'another chunk set under the same signature');
    const storeDomain = Buffer.from(sign(SignDomain.StoreRequest, proposer.secretKey, commitChunksMessage(unsigned)));
    t.is(await codeOf(commit(s.client, { ...signed, signature: storeDomain })), status.UNAUTHENTICATED, 'a signature in another domain');
    t.is(await codeOf(commit(s.client, { ...unsigned, signature: Buffer.alloc(0) })), status.UNAUTHENTICATED, 'requester without signature');
    t.is(await codeOf(commit(s.client, request(nc, { data: [seeded.bytes(50)] }))), status.INVALID_ARGUMENT, 'data that is not in the set');
    t.is(await codeOf(commit(s.client, request(nc, { seed: Buffer.alloc(5) }))), status.INVALID_ARGUMENT, 'short seed');
    t.is(await codeOf(commit(s.client, request({ ...nc, chunkIds: [Buffer.alloc(3)] }))), status.INVALID_ARGUMENT, 'malformed chunk id');
    t.is(await codeOf(commit(s.client, request(undefined as unknown as NewChunks))), status.INVALID_ARGUMENT, 'no new_chunks');
  } finally {
    await s.stop();
  }
});

test('VerifyShares: proofs in request order, a chunk not held answered not_found, over 1024 refused', async (t) => {
  const s = await start();
  try {
    const { chunks, nc } = chunkSet(4);
    await unary(s.client.setShares.bind(s.client), { data: chunks, ...unsignedWrite() });
    const absent = Buffer.from(sha256(seeded.bytes(20)));
    const ids = [nc.chunkIds[2]!, absent, nc.chunkIds[0]!];
    const nonces = ids.map(() => seeded.bytes(32));
    const res = await unary(s.client.verifyShares.bind(s.client), { challenges: ids.map((chunkId, i) => ({ chunkId, nonce: nonces[i]! })) });
    t.deepEqual(res.answers.map((a) => a.result?.$case), ['proof', 'notFound', 'proof']);
    const p0 = res.answers[0]!.result!.value as import('../../../gen/wolk/common/v1/storage.js').ShareProof;
    t.deepEqual(verifyShareProof(p0, { chunkId: ids[0]!, nonce: nonces[0]!, storerId: s.id, chunk: chunks[2]! }), { ok: true }, 'the digest proves the bytes');
    const many = Array.from({ length: 1025 }, () => ({ chunkId: absent, nonce: nonces[0]! }));
    t.is(await codeOf(unary(s.client.verifyShares.bind(s.client), { challenges: many })), status.INVALID_ARGUMENT);
    t.is(await codeOf(unary(s.client.verifyShares.bind(s.client), { challenges: [{ chunkId: absent, nonce: Buffer.alloc(3) }] })), status.INVALID_ARGUMENT);
  } finally {
    await s.stop();
  }
});
