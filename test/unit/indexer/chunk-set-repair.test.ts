// The indexer's storer → chunk sets index (docs/repair.md §2, §9): after blocks whose storers committed
// to the block's own chunk set, ListStorerChunkSets(storer) lists exactly the rounds that storer
// committed to, oldest first, each with the block's commitments, paged; after a chunk-set Repair the
// replaced storer no longer lists the round, the new storer does, and the record carries repaired_round
// and repairs. This is what a repairer checks when it asks about a storer that is no longer live.
//
// The blocks are assembled, validated and committed by the real ledger, whose block store answers
// CommitChunks in-process with commitments signed as a storer signs them (services/storer/chunk-commit.ts),
// which the ledger verifies (checkChunkCommitments). The chunk-set Repair itself cannot go through the
// real ledger yet: its validation of chunk-set Repairs (Repair.chunk_set_round) is being written
// separately, and today's checkRepairStateless refuses a Repair without a key. So the Repair's block is
// built here outside the ledger, with a real certificate of the genesis committee, and applied at the
// indexer's own level (ReadModel.apply: the same certificate, tx_root and NewChunks checks as for any
// block). Its state_root is its parent's (the indexer does not read it) and its NewChunks carries no
// repaired_chunk_sets. Once the ledger applies chunk-set Repairs, this test should build that block
// through the ledger and also compare the indexed record with the state's ChunkSetRecord byte for byte.
import test, { type ExecutionContext } from 'ava';
import type { CertifiedBlock, NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { chunkCommitmentsHash, chunkSetReplicaRoot, chunkSetShape, signStorageCommitment, storerAlpha } from '../../../lib/chain/commitment.js';
import { chunkSetFromBlock } from '../../../lib/chain/repair.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { proveSortition } from '../../../lib/crypto/sortition.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger, newChunksHash, txRootOf } from '../../../services/consensus/ledger/ledger.js';
import { blockToProto, certificateToProto, encodeLedgerPart } from '../../../services/consensus/wire.js';
import { BlockRejected } from '../../../services/indexer/core.js';
import { indexerHandlers } from '../../../services/indexer/server.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { blockOn, certify, committeeOf, finalize } from '../consensus/block-storage-fixture.js';
import { makeNet, newUser, setName, txOf, type Net, type User } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Which storers commit to which block: seeded (test/helpers/seed.ts), the same on every run with one WOLK_TEST_SEED. */
const seeded = testRandom('unit/indexer/chunk-set-repair.test.ts');
logSeedOnFailure(test);

const STORERS = 5;
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });
const ids = (cs: readonly { storerId: Uint8Array }[]) => cs.map((c) => toHex(c.storerId));
const encoded = (r: ChunkSetRecord) => Buffer.from(ChunkSetRecord.encode(r).finish());

/** A storer's commitment to a chunk set, made as services/storer/chunk-commit.ts makes it. */
function chunkCommitment(net: Net, k: NodeKey, setHash: Uint8Array, shape: { size: bigint; chunkSize: number }, seed: Uint8Array, seedRound: number): StorageCommitment {
  const draw = proveSortition(k.vrfSecretKey, storerAlpha(seed, setHash), 1000n, nodesWithRole(net.genesis, 'storer').totalStake, net.genesis.params.storerCommitteeSize);
  if (draw.j === 0) throw new Error('test: sortition did not select the storer (the committee size is the total storer stake)');
  return signStorageCommitment(
    {
      storerId: Buffer.from(k.signPublicKey),
      vrfPublicKey: Buffer.from(k.vrfPublicKey),
      vrf: { proof: Buffer.from(draw.proof), output: Buffer.from(draw.beta) },
      weight: draw.j,
      replicaRoot: Buffer.from(chunkSetReplicaRoot(k.signPublicKey, setHash)),
      filehash: Buffer.from(setHash),
      size: shape.size,
      chunkSize: shape.chunkSize,
      seed: Buffer.from(seed),
      seedRound: BigInt(seedRound),
    },
    k.signSecretKey,
  );
}

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
  /** A block of `txs` whose chunk set the storers `who` commit to. */
  const block = async (who: number[], txs: SignedTransaction[]) => {
    committers.next = who;
    await finalize(ledger, committee, txs);
    committers.next = [];
    return ledger.tip().round;
  };
  /**
   * A certified block of `txs` on the ledger's tip built outside the ledger (see the header: the ledger
   * does not apply chunk-set Repairs yet); the ledger's tip does not move.
   */
  const outsideLedger = async (txs: SignedTransaction[]): Promise<CertifiedBlock> => {
    const parent = (await ledger.certifiedBlock(ledger.tip().round))!.block.header!;
    const nc: NewChunks = { chunkIds: [], files: [], chunkCommitments: [], repairedChunkSets: [] };
    const body = encodeLedgerPart({ stateRoot: parent.stateRoot, txRoot: Buffer.from(txRootOf(txs)), newChunksHash: Buffer.from(newChunksHash(nc)), timestampMs: parent.timestampMs + 1n, chunkCommitmentsHash: Buffer.from(chunkCommitmentsHash([])) });
    const b = blockOn(ledger, committee, body);
    return { block: blockToProto(b, { txs, newChunks: nc }), certificate: certificateToProto(certify(ledger, committee, b)), blockHash: Buffer.alloc(0) };
  };
  const catchUp = async () => {
    for (let r = ((await model.cursor())?.round ?? -1) + 1; r <= ledger.tip().round; r++) await model.apply(await certified(r));
  };
  return { net, ledger, model, certified, block, outsideLedger, catchUp };
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
  // storer 4's, on a seed after the set was written (the Repair's block is built outside the ledger).
  await c.block([], [txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  await c.catchUp();
  const before = fromBlock.get(target)!;
  const replaced = before.commitments.find((x) => toHex(x.storerId) === net.storers[0]!.id)!;
  const at = ledger.tip().round;
  const replacement = chunkCommitment(net, net.storers[4]!, before.newChunksHash, replaced, ledger.seedAt(at)!, at);
  const repairer = userOf(net.rewards[0]!);
  const repairTx = (chunkSetRound: bigint) =>
    txOf(repairer, {
      $case: 'repair',
      value: { owner: '', collection: '', key: '', recordRound: chunkSetRound, chunkSetRound, replaced: [{ commitment: replaced, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] },
    });

  // A Repair of a chunk set the indexer does not hold means its read model is not the chain's: refused,
  // and nothing of that block is written.
  const future = BigInt(at + 50);
  await t.throwsAsync(model.apply(await c.outsideLedger([repairTx(future)])), { instanceOf: BlockRejected, message: new RegExp(`chunk set of block ${future}, which is not indexed`) });
  t.is((await model.cursor())!.round, at);
  repairer.nonce = 0n;

  const repairBlock = await c.outsideLedger([repairTx(BigInt(target))]);
  await model.apply(repairBlock);
  const repairRound = at + 1;
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
