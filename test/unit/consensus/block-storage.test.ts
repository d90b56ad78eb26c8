// A block's own chunks (services/consensus/block-data.ts): what a proposer puts in NewChunks.chunk_ids
// is the same on every node and is checked by validators; the chunks of all blocks (plus the genesis
// state) are enough to read any key of the latest state; a checkpoint is accepted only with a real
// certificate.
import test from 'ava';
import { sha256 } from '../../../lib/crypto/index.js';
import { verifySmtProof, type NodeSource } from '../../../lib/smt/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { decodeTxChunks, newChunksHash, txChunkCount, type BlockChunk } from '../../../services/consensus/block-data.js';
import { CheckpointError, verifyCheckpoint } from '../../../services/consensus/checkpoint.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { accountStateKey as accountKey, pathStateKey as pathKey } from '../../../lib/chain/state-keys.js';
import { encodeLedgerPart, headerOf } from '../../../services/consensus/wire.js';
import { blockOn, checkpointOf, committeeOf, finalize } from './block-storage-fixture.js';
import { makeNet, newUser, openLedger, setBucket, setName, type Net } from './ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hashFn = { hash: (...p: Uint8Array[]) => sha256(...p) };

/** A block store that keeps what it is given (id → bytes), as storers would. */
function recordingStore() {
  const chunks = new Map<string, Uint8Array>();
  const blocks: BlockChunk[][] = [];
  return {
    chunks,
    blocks,
    store: async (_round: number, cs: readonly BlockChunk[]) => {
      blocks.push([...cs]);
      for (const c of cs) chunks.set(hex(c.id), c.data);
    },
  };
}

function mapSource(chunks: Map<string, Uint8Array>): NodeSource & { asked: number } {
  const s = {
    asked: 0,
    async getNode(hash: Uint8Array) {
      s.asked++;
      return chunks.get(hex(hash)) ?? null;
    },
  };
  return s;
}

function openWith(net: Net, o: Partial<Parameters<typeof Ledger.open>[0]> = {}) {
  return Ledger.open({ kv: createMemoryKv(), genesis: net.genesis, crypto: hashFn, ...o });
}

test('chunk_ids: tx chunks then the state objects the block put in place; the same on another node; stored before proposing', async (t) => {
  const net = makeNet();
  const store = recordingStore();
  const a = await openWith(net, { blockStore: store });
  const b = await openLedger(net);
  const users = [newUser(), newUser(), newUser()];
  const txs = users.map((u, i) => setName(u, `user${i}`));
  const { body, payload } = await a.assemble(1, txs);
  t.is(payload.txs.length, 3);
  t.is(store.blocks.length, 1, 'the chunks were handed to the store during assembly');
  const chunks = store.blocks[0]!;
  t.deepEqual(payload.newChunks!.chunkIds.map(hex), chunks.map((c) => hex(c.id)));
  for (const c of chunks) t.is(hex(c.id), hex(sha256(c.data)), 'chunk id = SHA-256(chunk)');
  t.is(new Set(chunks.map((c) => hex(c.id))).size, chunks.length, 'each id once');
  // tx chunks first: their length prefix says how many, and they decode to the block's transactions
  const n = txChunkCount(chunks[0]!.data, net.genesis.params.chunkSize);
  t.deepEqual(decodeTxChunks(chunks.slice(0, n).map((c) => c.data)), payload.txs);
  // three SetNames change three name leaves and three accounts (nonce): ≥ 6 leaves with their values
  const state = chunks.slice(n);
  t.true(state.length >= 12, `state chunks: ${state.length}`);
  t.is(state[0]!.data[0], 0x11, 'the walk starts at the new root (an internal node)');
  t.is(hex(state[0]!.id), hex(headerOf(blockOn(a, committeeOf(net), body)).stateRoot));

  // another node recomputes the same ids: the block is valid there
  const block = blockOn(b, committeeOf(net), body);
  t.deepEqual(await b.validate(block, payload), { valid: true });
  t.deepEqual(await b.validate(block, { txs: payload.txs, newChunks: undefined }), { valid: true }, 'without NewChunks the ids are recomputed too');
  const ids = await b.chunksOf(payload.txs, new Uint8Array(b.tipHeader().stateRoot), new Uint8Array(headerOf(block).stateRoot));
  t.deepEqual(ids.map((c) => hex(c.id)), payload.newChunks!.chunkIds.map(hex));
});

test('a block whose chunk_ids are not its own data is refused, even when new_chunks_hash matches them', async (t) => {
  const net = makeNet();
  const a = await openLedger(net);
  const b = await openLedger(net);
  const c = committeeOf(net);
  const { body, payload } = await a.assemble(1, [setName(newUser(), 'alice'), setName(newUser(), 'bob')]);
  const h = headerOf(blockOn(a, c, body));
  const ids = payload.newChunks!.chunkIds;
  const variants: [string, Buffer[]][] = [
    ['one chunk left out', ids.slice(1)],
    ['a foreign chunk added', [...ids, Buffer.from(sha256(Uint8Array.of(1, 2, 3)))]],
    ['two chunks swapped', [ids[1]!, ids[0]!, ...ids.slice(2)]],
    ['no chunks at all', []],
  ];
  for (const [what, chunkIds] of variants) {
    const nc = { ...payload.newChunks!, chunkIds };
    // The proposer lies consistently: header, NewChunks and hash agree with each other.
    const forged = encodeLedgerPart({ ...h, newChunksHash: Buffer.from(newChunksHash(nc)) });
    const v = await b.validate(blockOn(b, c, forged), { txs: payload.txs, newChunks: nc });
    t.false(v.valid, what);
    t.regex(v.reason ?? '', /chunk_ids/, what);
  }
  // a NewChunks that does not match the header's hash
  const v = await b.validate(blockOn(b, c, body), { txs: payload.txs, newChunks: { ...payload.newChunks!, chunkIds: ids.slice(1) } });
  t.false(v.valid);
  t.regex(v.reason ?? '', /NewChunks does not match/);
  t.deepEqual(await b.validate(blockOn(b, c, body), payload), { valid: true }, 'the honest block passes');
});

test('a node with only the genesis file, a certified checkpoint and the block chunks reads and proves any key', async (t) => {
  const net = makeNet();
  const store = recordingStore();
  const a = await openWith(net, { blockStore: store });
  const c = committeeOf(net);
  const users = Array.from({ length: 6 }, newUser);
  // several blocks: names, then buckets under them, then more names (later blocks touch earlier paths)
  for (let i = 0; i < 3; i++) await finalize(a, c, [setName(users[2 * i]!, `n${i}a`), setName(users[2 * i + 1]!, `n${i}b`)]);
  for (let i = 0; i < 3; i++) await finalize(a, c, [setBucket(users[2 * i]!, `n${i}a`, 'photos')]);
  await finalize(a, c, []);
  t.is(a.tip().round, 7);

  const cp = verifyCheckpoint(await checkpointOf(a), { crypto: c.verifier, params: c.params, committee: a.committee() });
  const source = mapSource(store.chunks);
  const fresh = await openWith(net, { nodeSource: source, checkpoint: cp });
  t.is(fresh.tip().round, 7);
  t.deepEqual(fresh.tip().hash, a.tip().hash);
  t.is(fresh.checkpointRound(), 7);
  const root = (await fresh.tree.rootAt(7))!;
  t.deepEqual(hex(root), hex(new Uint8Array(a.tipHeader().stateRoot)));
  const keys = [
    ...users.map((u) => accountKey(u.publicKey)),
    ...[0, 1, 2].flatMap((i) => [pathKey(`n${i}a`), pathKey(`n${i}b`), pathKey(`n${i}a`, 'photos')]),
    ...net.consensus.map((k) => accountKey(k.signPublicKey)),
    pathKey('nobody'),
  ];
  for (const key of keys) {
    const [value, proof] = await Promise.all([fresh.tree.get(root, key), fresh.tree.prove(root, key)]);
    const expected = await a.tree.get(root, key);
    t.deepEqual(value === null ? null : hex(value), expected === null ? null : hex(expected));
    t.true(verifySmtProof(root, key, value, proof), `proof of ${hex(key).slice(0, 8)} verifies against the checkpoint's state root`);
  }
  t.true(source.asked > 0, 'objects came from the block chunks');

  // the fresh node follows: it validates and commits the next block with state it fetches
  const next = await a.assemble(8, [setName(users[0]!, 'later')]);
  const block = blockOn(a, c, next.body);
  t.deepEqual(await fresh.validate(block, next.payload), { valid: true });
});

test('a checkpoint needs a quorum certificate for exactly its header and hash-linked ancestors', async (t) => {
  const net = makeNet();
  const a = await openLedger(net);
  const c = committeeOf(net);
  for (let i = 0; i < 3; i++) await finalize(a, c, [setName(newUser(), `x${i}`)]);
  const ctx = { crypto: c.verifier, params: c.params, committee: a.committee() };
  const cp = await checkpointOf(a);
  t.is(verifyCheckpoint(cp, ctx).round, 3);
  const cert = cp.certificate;
  t.throws(() => verifyCheckpoint({ ...cp, certificate: { ...cert, votes: cert.votes.slice(0, 1) } }, ctx), { instanceOf: CheckpointError, message: /does not verify/ });
  t.throws(() => verifyCheckpoint({ ...cp, header: { ...cp.header, stateRoot: Buffer.alloc(32, 7) } }, ctx), { instanceOf: CheckpointError, message: /not for this block/ }, 'another state root: the certificate is for another hash');
  t.throws(() => verifyCheckpoint({ ...cp, ancestors: [cp.ancestors[1]!] }, ctx), { instanceOf: CheckpointError, message: /does not link/ });
  t.throws(() => verifyCheckpoint({ ...cp, ancestors: [] }, ctx), { instanceOf: CheckpointError, message: /parent/ });
  // a committee other than the genesis one does not recognise the voters
  const c2 = committeeOf(makeNet());
  t.throws(() => verifyCheckpoint(cp, { ...ctx, crypto: c2.verifier, committee: new Map([...c2.cryptos].map((x) => [x.self, 1000n])) }), { instanceOf: CheckpointError }, 'another committee');
});

test('an empty block has no tx chunks; one changing nothing has no state chunks', async (t) => {
  const net = makeNet();
  const store = recordingStore();
  const a = await openWith(net, { blockStore: store });
  const { payload } = await a.assemble(1, []);
  t.deepEqual(payload.newChunks!.chunkIds, []);
  t.deepEqual(store.blocks[0], []);
});
