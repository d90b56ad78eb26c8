// The storer through its gRPC API on a real socket, with real RocksDB and blob files on disk: chunk and
// file round trips, hash and length checks, range edges, limits, malformed input, audits.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { verifyFileAudit, verifyShareProof } from '../../../lib/chain/commitment.js';
import { fileHashOf, leafHash, verifyMultiproof } from '../../../lib/merkle/index.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { startInProcess } from '../../helpers/service.js';
import { codeOf, getFile, infoOf, pattern, setFile, storerClient, unary } from './client.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { pollUntil } from '../../helpers/poll.js';
import { setFileData, setFileStart, unsignedWrite } from '../../../lib/chain/write-request.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/storer/storer.test.ts');
logSeedOnFailure(test);

async function start(env: Record<string, string> = {}) {
  const node = await startInProcess('storer', createStorerNode, env);
  const client = storerClient(node.endpoints['grpc']!);
  return {
    node,
    client,
    async stop() {
      client.close();
      await node.close();
    },
  };
}

/** Files under a directory, recursively (to see that nothing of a failed upload stays). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) (e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name)));
  };
  walk(dir);
  return out;
}

test('chunks: round trip, idempotent, wrong hash and oversize refused, possession proof', async (t) => {
  const s = await start();
  try {
    const c = s.client;
    const data = pattern(4096, 3);
    const id = sha256(data);
    const put = await unary(c.setShare.bind(c), { data, chunkId: Buffer.from(id), ...unsignedWrite() });
    t.deepEqual(new Uint8Array(put.chunkId), id);
    const again = await unary(c.setShare.bind(c), { data, chunkId: Buffer.alloc(0), ...unsignedWrite() });
    t.deepEqual(new Uint8Array(again.chunkId), id, 'idempotent, chunk_id optional');
    t.deepEqual((await unary(c.getShare.bind(c), { chunkId: Buffer.from(id), ...unsignedWrite() })).data, data);

    const other = pattern(100, 4);
    t.is(await codeOf(unary(c.setShare.bind(c), { data: other, chunkId: Buffer.from(id), ...unsignedWrite() })), status.INVALID_ARGUMENT, 'wrong chunk id');
    t.is(await codeOf(unary(c.getShare.bind(c), { chunkId: Buffer.from(sha256(other)) })), status.NOT_FOUND, 'nothing stored on a mismatch');
    t.is(await codeOf(unary(c.setShare.bind(c), { data: Buffer.alloc(32769), chunkId: Buffer.alloc(0), ...unsignedWrite() })), status.INVALID_ARGUMENT, 'oversized');
    t.is(await codeOf(unary(c.setShare.bind(c), { data, chunkId: Buffer.alloc(31), ...unsignedWrite() })), status.INVALID_ARGUMENT, 'short chunk id');
    t.is(await codeOf(unary(c.getShare.bind(c), { chunkId: Buffer.alloc(5) })), status.INVALID_ARGUMENT, 'malformed id');

    const nonce = seeded.bytes(32);
    const { proof } = await unary(c.verifyShare.bind(c), { chunkId: Buffer.from(id), nonce });
    const info = await unary(c.getInfo.bind(c), {});
    t.deepEqual(verifyShareProof(proof!, { chunkId: id, nonce, storerId: info.storerId, chunk: data }), { ok: true });
    t.false(verifyShareProof(proof!, { chunkId: id, nonce: seeded.bytes(32), chunk: data }).ok, 'another nonce');
    t.false(verifyShareProof(proof!, { chunkId: id, nonce, chunk: Buffer.from(other) }).ok, 'another chunk');
    t.is(await codeOf(unary(c.verifyShare.bind(c), { chunkId: Buffer.from(id), nonce: Buffer.alloc(3) })), status.INVALID_ARGUMENT);
    t.is(info.stats?.chunks, 1n);
  } finally {
    await s.stop();
  }
});

test('files: round trip across segments, ranges at the edges, verified streaming, audits', async (t) => {
  const s = await start();
  try {
    const c = s.client;
    // 9 MiB + 123: three 4 MiB segments, a short last chunk, pieces that do not align with anything.
    const data = pattern(9 * 1024 * 1024 + 123, 7);
    const info = infoOf(data);
    const res = await setFile(c, info, data, 100_003);
    t.deepEqual(res.info, info);
    t.is(res.replicaRoot.length, 32);

    const whole = await getFile(c, { filehash: info.filehash });
    t.true(whole.bytes.equals(data), 'whole file');
    t.deepEqual(whole.messages[0]!.info, info, 'first message carries info');
    t.true(whole.messages.every((m) => m.data.length <= 1024 * 1024), 'pieces of at most 1 MiB');
    t.true(whole.messages.slice(0, -1).every((m) => (Number(m.offset) + m.data.length) % 4096 === 0), 'chunk-aligned messages');

    const size = data.length;
    const range = async (offset: number, length?: number) => (await getFile(c, { filehash: info.filehash, offset: BigInt(offset), ...(length === undefined ? {} : { length: BigInt(length) }) })).bytes;
    t.true((await range(0, 1)).equals(data.subarray(0, 1)), 'first byte');
    t.true((await range(size - 1, 1)).equals(data.subarray(size - 1)), 'last byte');
    t.true((await range(size - 1)).equals(data.subarray(size - 1)), 'last byte to the end');
    t.true((await range(4 * 1024 * 1024 - 10, 20)).equals(data.subarray(4 * 1024 * 1024 - 10, 4 * 1024 * 1024 + 10)), 'across a segment edge');
    t.true((await range(5000, 10 * 1024 * 1024)).equals(data.subarray(5000)), 'length past the end is clipped');
    t.true((await range(12345, 0)).equals(data.subarray(12345)), 'length 0 = to the end');
    t.is((await range(size)).length, 0, 'offset at the end: empty');
    t.is(await codeOf(range(size + 1)), status.OUT_OF_RANGE, 'past the end');
    t.is(await codeOf(getFile(c, { filehash: seeded.bytes(32) })), status.NOT_FOUND);
    t.is(await codeOf(getFile(c, { filehash: seeded.bytes(31) })), status.INVALID_ARGUMENT);

    // Verified streaming as a reader that trusts nothing does it (services/gateway/read.ts).
    const v = await getFile(c, { filehash: info.filehash, offset: 10_000n, length: 3_000_000n, withProofs: true });
    const root = v.messages[0]!.treeRoot!;
    t.deepEqual(Buffer.from(fileHashOf(size, 4096, root)), info.filehash, 'tree_root gives the filehash');
    const leafCount = Math.ceil(size / 4096);
    t.is(Number(v.messages[0]!.offset), 8192, 'widened to a chunk boundary');
    for (const m of v.messages) {
      const first = Number(m.offset) / 4096;
      const n = Math.ceil(m.data.length / 4096);
      const indices = Array.from({ length: n }, (_, i) => first + i);
      const leaves = indices.map((_, i) => leafHash(m.data.subarray(i * 4096, (i + 1) * 4096)));
      t.true(verifyMultiproof(root, leafCount, indices, leaves, m.proof!.nodes), `proof of piece at ${m.offset}`);
    }
    t.true(v.bytes.equals(data.subarray(8192, 8192 + v.bytes.length)));
    t.true(8192 + v.bytes.length >= 3_010_000);

    const challenge = seeded.bytes(32);
    const { audit } = await unary(c.verifyFile.bind(c), { filehash: info.filehash, challenge, k: 16 });
    const target = { storerId: audit!.storerId, replicaRoot: res.replicaRoot, filehash: info.filehash, size: info.size, chunkSize: 4096 };
    t.deepEqual(verifyFileAudit(audit!, target, challenge, 16), { ok: true });
    t.is(audit!.leaves.length, 16);
    t.false(verifyFileAudit(audit!, target, seeded.bytes(32), 16).ok, 'answers only its own challenge');
    t.false(verifyFileAudit(audit!, { ...target, replicaRoot: seeded.bytes(32) }, challenge, 16).ok, 'bound to the replica root');
    t.is(await codeOf(unary(c.verifyFile.bind(c), { filehash: info.filehash, challenge, k: 0 })), status.INVALID_ARGUMENT, 'k = 0');
    t.is(await codeOf(unary(c.verifyFile.bind(c), { filehash: info.filehash, challenge, k: 65 })), status.INVALID_ARGUMENT, 'k = 65');
    t.is(await codeOf(unary(c.verifyFile.bind(c), { filehash: info.filehash, challenge: Buffer.alloc(8), k: 4 })), status.INVALID_ARGUMENT, 'short challenge');

    // Storing it again is idempotent and answers the same replica root.
    t.deepEqual((await setFile(c, info, data)).replicaRoot, res.replicaRoot);
    const stats = (await unary(c.getInfo.bind(c), {})).stats!;
    t.is(stats.files, 1n);
    t.is(stats.bytesUsed, BigInt(size));
  } finally {
    await s.stop();
  }
});

test('files: small, empty and one-chunk files; every chunk size', async (t) => {
  const s = await start();
  try {
    const c = s.client;
    for (const [len, cs] of [[0, 4096], [1, 4096], [4096, 4096], [4097, 8192], [100_000, 32768], [65536, 16384]] as const) {
      const data = pattern(len, len + 1);
      const info = infoOf(data, cs);
      await setFile(c, info, data, 777);
      const got = await getFile(c, { filehash: info.filehash });
      t.true(got.bytes.equals(data), `${len} bytes, C=${cs}`);
      const challenge = seeded.bytes(32);
      const { audit } = await unary(c.verifyFile.bind(c), { filehash: info.filehash, challenge, k: 3 });
      t.is(audit!.leaves.length, Math.min(3, Math.ceil(len / cs)));
    }
  } finally {
    await s.stop();
  }
});

test('files: wrong hash, short or long stream, malformed first message: refused and nothing kept', async (t) => {
  const s = await start();
  try {
    const c = s.client;
    const data = pattern(5 * 1024 * 1024, 9);
    const info = infoOf(data);
    const tampered = Buffer.from(data);
    tampered[4 * 1024 * 1024 + 5]! ^= 1;
    t.is(await codeOf(setFile(c, info, tampered)), status.INVALID_ARGUMENT, 'a flipped byte');
    t.is(await codeOf(setFile(c, info, data.subarray(0, data.length - 1))), status.INVALID_ARGUMENT, 'one byte short');
    t.is(await codeOf(setFile(c, info, Buffer.concat([data, Buffer.of(0)]))), status.INVALID_ARGUMENT, 'one byte long');
    t.is(await codeOf(setFile(c, { ...info, chunkSize: 5000 }, data)), status.INVALID_ARGUMENT, 'chunk size not a power of two');
    t.is(await codeOf(setFile(c, { ...info, filehash: Buffer.alloc(31) }, data)), status.INVALID_ARGUMENT, 'filehash of 31 bytes');
    t.is(await codeOf(setFile(c, { ...info, chunkSize: 8192 }, data)), status.INVALID_ARGUMENT, 'another chunk size than the hash was made with');
    const dataFirst = new Promise((resolve, reject) => {
      const call = c.setFile((err, res) => (err ? reject(err) : resolve(res)));
      call.write(setFileData(Buffer.from('x')));
      call.end();
    });
    t.is(await codeOf(dataFirst), status.INVALID_ARGUMENT, 'data before info');
    const empty = new Promise((resolve, reject) => c.setFile((err, res) => (err ? reject(err) : resolve(res))).end());
    t.is(await codeOf(empty), status.INVALID_ARGUMENT, 'empty stream');
    t.is(await codeOf(getFile(c, { filehash: info.filehash })), status.NOT_FOUND, 'nothing visible');
    t.deepEqual(filesUnder(join(s.node.dataDir, 'blobs', 'objects')), [], 'no segment left behind');
    t.is((await unary(c.getInfo.bind(c), {})).stats!.files, 0n);
  } finally {
    await s.stop();
  }
});

test('files: a cancelled upload leaves nothing', async (t) => {
  const s = await start();
  try {
    const c = s.client;
    const data = pattern(6 * 1024 * 1024, 11);
    const info = infoOf(data);
    const done = new Promise((resolve, reject) => {
      const call = c.setFile((err, res) => (err ? reject(err) : resolve(res)));
      call.write(setFileStart(info));
      call.write(setFileData(data.subarray(0, 5 * 1024 * 1024)), () => setTimeout(() => call.cancel(), 200));
    });
    t.is(await codeOf(done), status.CANCELLED);
    // The server sees the cancel asynchronously: wait until its clean-up is done.
    await pollUntil(() => filesUnder(join(s.node.dataDir, 'blobs', 'objects')), { what: 'the cancelled upload\'s segments to be removed', deadlineMs: 5_000, intervalMs: 100, until: (files) => files.length === 0 });
    t.deepEqual(filesUnder(join(s.node.dataDir, 'blobs', 'objects')), []);
    t.is(await codeOf(getFile(c, { filehash: info.filehash })), status.NOT_FOUND);
    await setFile(c, info, data);
    t.true((await getFile(c, { filehash: info.filehash })).bytes.equals(data), 'the same file uploads fine afterwards');
  } finally {
    await s.stop();
  }
});

test('limits: file size and concurrent uploads answer RESOURCE_EXHAUSTED with a message', async (t) => {
  const s = await start({ WOLK_MAX_FILE_BYTES: '1MiB', WOLK_MAX_CONCURRENT_UPLOADS: '1' });
  try {
    const c = s.client;
    const big = pattern(1024 * 1024 + 1, 1);
    const err = await setFile(c, infoOf(big), big).catch((e: { code: number; details: string }) => e);
    t.is((err as { code: number }).code, status.RESOURCE_EXHAUSTED);
    t.regex((err as { details: string }).details, /WOLK_MAX_FILE_BYTES/);

    // Hold one upload open (info sent, no end), then try a second.
    const data = pattern(100_000, 2);
    const info = infoOf(data);
    const hold = () => {
      const h = { call: undefined as unknown as import('@grpc/grpc-js').ClientWritableStream<import('../../../gen/wolk/storer/v1/storer.js').SetFileRequest>, refused: false, done: Promise.resolve() as Promise<unknown> };
      h.done = new Promise((resolve, reject) => {
        h.call = c.setFile((e, r) => (e ? reject(e) : resolve(r)));
        h.call.write(setFileStart(info));
      });
      h.done.catch(() => {
        h.refused = true;
      });
      return h;
    };
    let first = hold();
    // The first holds the one slot once the storer has read its info; until then a second may still get
    // through (and is simply stored), so it is tried until the storer refuses it. A second that got the
    // slot first makes the storer refuse the first instead (its info came while the slot was taken): the
    // first is then opened again.
    const other = pattern(1000, 3);
    const trySecond = async () => {
      const outcome = await setFile(c, infoOf(other), other).then(() => null, (e: { code: number; details: string }) => e);
      if (first.refused) first = hold();
      return outcome;
    };
    const second = await pollUntil(trySecond, {
      what: 'a second upload refused while the first holds the only slot',
      deadlineMs: 10_000,
      intervalMs: 50,
      until: (e) => e !== null && e.code === status.RESOURCE_EXHAUSTED,
      describe: (e) => (e === null ? 'accepted' : `${e.code} ${e.details}`),
    });
    t.is(second!.code, status.RESOURCE_EXHAUSTED);
    t.regex(second!.details, /WOLK_MAX_CONCURRENT_UPLOADS/);
    first.call.write(setFileData(data));
    first.call.end();
    await first.done;
    await t.notThrowsAsync(setFile(c, infoOf(other), other), 'a slot is free again');
  } finally {
    await s.stop();
  }
});

test('a message above WOLK_MAX_MESSAGE_BYTES is refused with RESOURCE_EXHAUSTED', async (t) => {
  const s = await start({ WOLK_MAX_MESSAGE_BYTES: '256KiB' });
  try {
    const data = pattern(600_000, 5);
    t.is(await codeOf(setFile(s.client, infoOf(data), data, 600_000)), status.RESOURCE_EXHAUSTED);
    await setFile(s.client, infoOf(data), data, 100_000);
    const got = await getFile(s.client, { filehash: infoOf(data).filehash, withProofs: true });
    t.true(got.bytes.equals(data), 'pieces shrink to fit the message limit');
  } finally {
    await s.stop();
  }
});

test('files survive a restart on the same data directory; the id stays', async (t) => {
  const s = await start();
  const dataDir = s.node.dataDir;
  const data = pattern(300_000, 13);
  const info = infoOf(data);
  const res = await setFile(s.client, info, data);
  const id = (await unary(s.client.getInfo.bind(s.client), {})).storerId;
  await s.stop();
  const again = await start({ WOLK_DATA_DIR: dataDir });
  try {
    t.true((await getFile(again.client, { filehash: info.filehash })).bytes.equals(data));
    const info2 = await unary(again.client.getInfo.bind(again.client), {});
    t.deepEqual(info2.storerId, id);
    t.is(info2.stats!.files, 1n);
    const challenge = seeded.bytes(32);
    const { audit } = await unary(again.client.verifyFile.bind(again.client), { filehash: info.filehash, challenge, k: 8 });
    t.deepEqual(audit!.replicaRoot, res.replicaRoot);
  } finally {
    await again.stop();
  }
});
