// The indexer's storer → chunk sets index (docs/repair.md §2, §9): after blocks whose storers committed
// to the block's own chunk set, ListStorerChunkSets(storer) lists exactly the rounds that storer
// committed to, oldest first, each with the block's commitments, paged; after a chunk-set Repair the
// replaced storer no longer lists the round, the new storer does, and the record carries repaired_round
// and repairs. This is what a repairer checks when it asks about a storer that is no longer live.
//
// Every block, the Repair's included, is assembled, validated and committed by the real ledger (with a
// real certificate of the genesis committee), whose block store answers CommitChunks in-process with
// commitments signed as a storer signs them (services/storer/chunk-commit.ts), which the ledger verifies
// (checkChunkCommitments); the ledger applies the chunk-set Repair (services/consensus/ledger/repair.ts
// applyChunkSetRepair) and the indexer follows the certified blocks as StreamBlocks sends them. The
// indexed record of the repaired set is the ledger's state ChunkSetRecord (chunkSetStateKey), byte for byte.
import test, { type ExecutionContext } from 'ava';
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { chunkSetShape } from '../../../lib/chain/commitment.js';
import { chunkSetFromBlock } from '../../../lib/chain/repair.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { chunkSetStateKey } from '../../../lib/chain/state-keys.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { BlockRejected } from '../../../services/indexer/core.js';
import { chunkSetKey } from '../../../services/indexer/keys.js';
import { indexerHandlers } from '../../../services/indexer/server.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { committeeOf, finalize } from '../consensus/block-storage-fixture.js';
import { chunkSetCommitment, makeNet, newUser, runNext, setName, txOf, type Net, type User } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Which storers commit to which block: seeded (test/helpers/seed.ts), the same on every run with one WOLK_TEST_SEED. */
const seeded = testRandom('unit/indexer/chunk-set-repair.test.ts');
logSeedOnFailure(test);

const STORERS = 5;
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });
const ids = (cs: readonly { storerId: Uint8Array }[]) => cs.map((c) => toHex(c.storerId));
const encoded = (r: ChunkSetRecord) => Buffer.from(ChunkSetRecord.encode(r).finish());

/** A storer's commitment to a chunk set (ledger-fixture.ts chunkSetCommitment), weighed against every storer's stake. */
const chunkCommitment = (net: Net, k: NodeKey, setHash: Uint8Array, shape: { size: bigint; chunkSize: number }, seed: Uint8Array, seedRound: number): StorageCommitment =>
  chunkSetCommitment(k, setHash, shape, seed, seedRound, nodesWithRole(net.genesis, 'storer').totalStake, net.genesis.params.storerCommitteeSize);

/**
 * A real ledger of 5 storers (sortition selects every one), 1 rewards node, whose block store has the
 * storers in `committers` commit to each block's chunk set (the ledger keeps the ones that verify).
 */
async function chainWithChunkSets() {
  const net = makeNet({ storers: STORERS, rewards: 1 });
  const committers = { next: [] as number[] };
  const ledger = await Ledger.open({
    kv: createMemoryKv(),
    genesis: net.genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    blockStore: {
      store: async (_round, chunks, set) => ({
        chunkCommitments: committers.next.map((i) => chunkCommitment(net, net.storers[i]!, set.newChunksHash, chunkSetShape(chunks.map((c) => c.data.length)), set.seed, set.seedRound)),
      }),
    },
  });
  const committee = committeeOf(net);
  const model = new ReadModel(createMemoryKv(), { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  const certified = async (round: number): Promise<CertifiedBlock> => {
    const b = (await ledger.certifiedBlock(round))!;
    return { block: b.block, certificate: b.certificate, blockHash: Buffer.alloc(0) };
  };
  /** A block of `txs` (each must be included) whose chunk set the storers `who` commit to. */
  const block = async (who: number[], txs: SignedTransaction[]) => {
    committers.next = who;
    const { included } = await finalize(ledger, committee, txs);
    committers.next = [];
    if (included.length !== txs.length) throw new Error(`test: ${txs.length - included.length} of the block's transactions were rejected`);
    return ledger.tip().round;
  };
  /** Applies the certified blocks after `m`'s cursor up to the ledger's tip. */
  const catchUp = async (m: ReadModel = model) => {
    for (let r = ((await m.cursor())?.round ?? -1) + 1; r <= ledger.tip().round; r++) await m.apply(await certified(r));
  };
  return { net, ledger, model, certified, block, catchUp };
}

/** Every page of a storer's chunk sets at `pageSize`: the pages and the rounds in listing order. */
async function allPages(t: ExecutionContext, model: ReadModel, storerId: Uint8Array, pageSize: number) {
  const pages: ChunkSetRecord[][] = [];
  let token = '';
  do {
    const p = await model.storerChunkSets(storerId, pageSize, token);
    pages.push(p.chunkSets);
    token = p.next;
  } while (token !== '' && pages.length < 100);
  t.is(token, '', 'the listing ends');
  return { pages, rounds: pages.flat().map((r) => Number(r.round)) };
}

test('ListStorerChunkSets lists the rounds each storer committed to, oldest first, paged; a chunk-set Repair moves a round from the replaced storer to the new one', async (t) => {
  const c = await chainWithChunkSets();
  const { net, ledger, model } = c;
  // The set to be repaired: storers 0, 1, 2 (4 is not in it and will replace 0).
  const target = await c.block([0, 1, 2], [setName(newUser(), 'first')]);
  // Then seeded random subsets (some empty: a block no storer committed to has no chunk set); storer 0
  // commits to every other block so that it has several pages at page size 2.
  for (let i = 0; i < 8; i++) {
    const who = [...Array(STORERS).keys()].filter((s) => (s === 0 && i % 2 === 0) || seeded.int(0, 1) === 1);
    await c.block(who, [setName(newUser(), `name${i}`)]);
  }
  await c.catchUp();

  // What the blocks say each storer committed to.
  const committedBy = new Map<string, number[]>();
  const fromBlock = new Map<number, ChunkSetRecord>();
  for (let r = 1; r <= ledger.tip().round; r++) {
    const b = (await c.certified(r)).block!;
    const nc = b.newChunks!;
    if (nc.chunkCommitments.length === 0) continue;
    fromBlock.set(r, chunkSetFromBlock(BigInt(r), b.header!.newChunksHash, nc));
    for (const id of ids(nc.chunkCommitments)) committedBy.set(id, [...(committedBy.get(id) ?? []), r]);
  }
  t.deepEqual(ids(fromBlock.get(target)!.commitments), [0, 1, 2].map((i) => net.storers[i]!.id).sort(), 'the ledger kept the three commitments of the target block');

  for (const s of net.storers) {
    const { chunkSets } = await model.storerChunkSets(s.signPublicKey, 0, '');
    t.deepEqual(chunkSets.map((r) => Number(r.round)), committedBy.get(s.id) ?? [], `storer ${s.id.slice(0, 8)}: exactly the rounds it committed to, oldest first`);
    for (const rec of chunkSets) {
      t.deepEqual(encoded(rec), encoded(fromBlock.get(Number(rec.round))!), `round ${rec.round}: the block's commitments and new_chunks_hash, never repaired`);
      t.is(rec.repairedRound, 0n);
      t.is(rec.repairs, 0);
    }
  }

  // Paging: the same rounds in the same order at every page size, no page over its size.
  const s0 = net.storers[0]!.signPublicKey;
  const all0 = committedBy.get(net.storers[0]!.id)!;
  t.true(all0.length >= 5, 'storer 0 committed to several blocks');
  for (const size of [1, 2, 3]) {
    const { pages, rounds } = await allPages(t, model, s0, size);
    t.deepEqual(rounds, all0, `page size ${size}`);
    t.true(pages.every((p) => p.length <= size && p.length > 0));
    t.is(pages.length, Math.ceil(all0.length / size));
  }

  // Through the RPC handler, with its checks.
  const h = indexerHandlers({ model, consensus: [], client: () => { throw new Error('not used'); } });
  const call = { signal: new AbortController().signal } as Parameters<NonNullable<typeof h.listStorerChunkSets>>[1];
  const list = (storerId: Uint8Array, pageSize = 0, pageToken = '') => h.listStorerChunkSets!({ storerId: Buffer.from(storerId), pageSize, pageToken }, call);
  const first = await list(s0, 2);
  t.deepEqual(first.chunkSets.map((r) => Number(r.round)), all0.slice(0, 2));
  t.is(first.round, BigInt(ledger.tip().round));
  t.deepEqual((await list(s0, 2, first.nextPageToken)).chunkSets.map((r) => Number(r.round)), all0.slice(2, 4));

  // Storer 0 leaves (a real UpdateNode); the repairer replaces its commitment to the target set with
  // storer 4's, on a seed after the set was written, in a block the ledger makes.
  await c.block([], [txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  await c.catchUp();
  const before = fromBlock.get(target)!;
  const replaced = before.commitments.find((x) => toHex(x.storerId) === net.storers[0]!.id)!;
  const at = ledger.tip().round;
  const replacement = chunkCommitment(net, net.storers[4]!, before.newChunksHash, replaced, ledger.seedAt(at)!, at);
  const repair = txOf(userOf(net.rewards[0]!), {
    $case: 'repair',
    value: { owner: '', collection: '', key: '', recordRound: BigInt(target), chunkSetRound: BigInt(target), replaced: [{ commitment: replaced, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] },
  });
  t.is(await ledger.latestState().get(chunkSetStateKey(BigInt(target))), null, 'never repaired: the state has no record of the set, the indexer has the block\'s');
  await t.notThrowsAsync(runNext(ledger, repair), 'the ledger accepts the Repair');
  const repairRound = await c.block([], [repair]);
  t.is(repairRound, at + 1);
  const repairBlock = await c.certified(repairRound);
  t.deepEqual(
    (repairBlock.block!.newChunks?.repairedChunkSets ?? []).map((x) => [Number(x.round), ids(x.commitments)]),
    [[target, [net.storers[4]!.id]]],
    'the ledger\'s repair block carries the restored set',
  );

  // A read model that lacks the repaired set (one indexed before this index existed, or not the chain's)
  // refuses the certified Repair block, and writes nothing of it.
  const staleKv = createMemoryKv();
  const stale = new ReadModel(staleKv, { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  for (let r = 0; r <= at; r++) await stale.apply(await c.certified(r));
  await staleKv.del(chunkSetKey(BigInt(target)));
  await t.throwsAsync(stale.apply(repairBlock), { instanceOf: BlockRejected, message: new RegExp(`block ${repairRound} repairs the chunk set of block ${target}, which is not indexed`) });
  t.is((await stale.cursor())!.round, at);
  t.false((await stale.storerChunkSets(net.storers[4]!.signPublicKey, 0, '')).chunkSets.some((r) => Number(r.round) === target));

  await c.catchUp();
  t.is((await model.cursor())!.round, repairRound);

  const roundsOf = async (i: number) => (await model.storerChunkSets(net.storers[i]!.signPublicKey, 0, '')).chunkSets.map((r) => Number(r.round));
  t.deepEqual(await roundsOf(0), all0.filter((r) => r !== target), 'the replaced storer no longer lists the repaired set; its others stay');
  const of4 = [...(committedBy.get(net.storers[4]!.id) ?? []), target].sort((a, b) => a - b);
  t.deepEqual(await roundsOf(4), of4, 'the new storer lists it, in round order among its own');
  t.deepEqual(await roundsOf(1), committedBy.get(net.storers[1]!.id)!, 'a storer kept in the set still lists it');

  const after = (await model.storerChunkSets(net.storers[4]!.signPublicKey, 0, '')).chunkSets.find((r) => Number(r.round) === target)!;
  t.is(after.round, BigInt(target));
  t.deepEqual(Buffer.from(after.newChunksHash), Buffer.from(before.newChunksHash));
  t.deepEqual(
    ids(after.commitments),
    ids(before.commitments).map((id) => (id === net.storers[0]!.id ? net.storers[4]!.id : id)),
    'the new commitment in the replaced one\'s place, order and count kept',
  );
  t.deepEqual(Buffer.from(after.commitments.find((x) => toHex(x.storerId) === net.storers[4]!.id)!.signature), Buffer.from(replacement.signature));
  t.is(after.repairedRound, BigInt(repairRound));
  t.is(after.repairs, 1);
  // The indexer's record is the ledger's: the state's ChunkSetRecord of the set, byte for byte.
  const inState = await ledger.latestState().get(chunkSetStateKey(BigInt(target)));
  t.truthy(inState, 'the ledger wrote the set\'s record');
  t.deepEqual(encoded(after), Buffer.from(inState!), 'indexer record = state record at chunkSetStateKey(R)');
  // Every listing of the set shows the repaired record.
  const via1 = (await model.storerChunkSets(net.storers[1]!.signPublicKey, 0, '')).chunkSets.find((r) => Number(r.round) === target)!;
  t.deepEqual(encoded(via1), encoded(after));
  t.is((await list(net.storers[4]!.signPublicKey)).round, BigInt(repairRound));
});

test('ListStorerChunkSets answers INVALID_ARGUMENT to a bad storer id, page size or page token', async (t) => {
  const c = await chainWithChunkSets();
  await c.block([0, 1], [setName(newUser(), 'only')]);
  await c.catchUp();
  const h = indexerHandlers({ model: c.model, consensus: [], client: () => { throw new Error('not used'); } });
  const call = { signal: new AbortController().signal } as Parameters<NonNullable<typeof h.listStorerChunkSets>>[1];
  const s0 = Buffer.from(c.net.storers[0]!.signPublicKey);
  const list = (storerId: Uint8Array, pageSize = 0, pageToken = '') => h.listStorerChunkSets!({ storerId: Buffer.from(storerId), pageSize, pageToken }, call);
  t.is((await list(s0)).chunkSets.length, 1);
  const invalid = async (p: Promise<unknown>, message: RegExp) => {
    const err = await t.throwsAsync(p, { message });
    t.is((err as { code?: string } | undefined)?.code, 'INVALID_ARGUMENT', String(message));
  };
  await invalid(list(Buffer.alloc(3)), /ListStorerChunkSets: storer_id must be 32 bytes, got 3/);
  await invalid(list(Buffer.alloc(0)), /storer_id must be 32 bytes, got 0/);
  await invalid(list(s0, 1001), /page_size must be 1 to 1000 \(0 = 100\), got 1001/);
  await invalid(list(s0, 0, 'not a token!'), /page_token is not one this indexer issued/);
  // A ListStorerKeys token (a 32-byte state key) is not a chunk-set token (an 8-byte round).
  await invalid(list(s0, 0, Buffer.alloc(32, 1).toString('base64url')), /page_token is not one this indexer issued/);
});
