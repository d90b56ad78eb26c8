// Repairs of a block's chunk set against the real ledger (docs/repair.md §9): block R's chunk set was
// committed to by storers 0-3; storers 0 and 1 leave, so 2 of its commitments are live, below N = 3.
// A Repair with chunk_set_round = R replaces one of them with a chunk-set commitment of a live storer on
// a fresh seed: the state gets R's ChunkSetRecord with the new storer in the replaced one's place, and
// the repair block's NewChunks carries the restored set (R's chunk ids, the new commitment), which is
// what its audit challenges. Refused: more than brings the set back to N, a set with N live, forged
// evidence, a stale version, a replacement already in the set / not a chunk-set commitment of R / on a
// seed before R, a later block's round, a sender that is not a rewards node, a malformed body.
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { chunkSetShape } from '../../../lib/chain/commitment.js';
import { auditObjects } from '../../../lib/chain/reward.js';
import { chunkSetStateKey } from '../../../lib/chain/state-keys.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { chunkSetCommitment, finalizeBlock, makeNet, newUser, runNext, setName, txOf, type User } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/ledger-repair-chunk-set.test.ts');
logSeedOnFailure(test);

const STAKE = 1000n;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });
const dereg = (c: StorageCommitment) => ({ commitment: c, reason: RepairReason.REPAIR_REASON_DEREGISTERED });

/** 6 storers, N = 3, every storer selected (τ = total stake); block R's chunk set committed by storers 0-3, then storers 0 and 1 leave. */
async function scene(opts: { leaving?: number[] } = {}) {
  const net = makeNet({ storers: 6, replication: 3, rewards: 2 });
  const expectedSize = net.genesis.params.storerCommitteeSize;
  /** Which storers commit to the next block's chunk set (the test's stand-in for CommitChunks answers). */
  let committers: NodeKey[] = [];
  let storerTotal = STAKE * 6n;
  const ledger = await Ledger.open({
    kv: createMemoryKv(),
    genesis: net.genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    blockStore: {
      store: async (_round, chunks, set) => {
        const shape = chunkSetShape(chunks.map((c) => c.data.length));
        return { chunkCommitments: committers.map((s) => chunkSetCommitment(s, set.newChunksHash, shape, set.seed, set.seedRound, storerTotal, expectedSize)) };
      },
    },
  });
  const fin = (txs: SignedTransaction[]) => finalizeBlock(ledger, txs, new Uint8Array(seeded.bytes(32)));
  committers = net.storers.slice(0, 4);
  await fin([setName(newUser(), 'alice')]);
  committers = [];
  const R = ledger.tip().round;
  const blockR = (await ledger.certifiedBlock(R))!.block;
  const original = blockR.newChunks!.chunkCommitments;
  if (original.length !== 4) throw new Error(`setup: block ${R} has ${original.length} chunk commitments, not 4`);
  const leaving = opts.leaving ?? [0, 1];
  for (const i of leaving) {
    const left = await fin([txOf(userOf(net.storers[i]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
    if (left.included.length !== 1) throw new Error(`setup: ${left.rejected.map((r) => r.error.message).join('; ')}`);
  }
  storerTotal = STAKE * BigInt(6 - leaving.length);
  const setHash = new Uint8Array(blockR.header!.newChunksHash);
  const first = original[0]!;
  /** A chunk-set commitment of `storer` to R's set on the seed of `at` (the tip by default). */
  const fresh = (storer: NodeKey, at = ledger.tip().round, over: Partial<StorageCommitment> = {}) =>
    chunkSetCommitment(storer, setHash, first, ledger.seedAt(at)!, at, storerTotal, expectedSize, over);
  const repairers = net.rewards.map(userOf);
  // Signed by a copy of `from`: every refused try is at the account's next nonce.
  const repairTx = (from: User, r: Partial<Repair> & Pick<Repair, 'replaced' | 'commitments'>) =>
    txOf({ ...from }, { $case: 'repair', value: { owner: '', collection: '', key: '', recordRound: BigInt(R), chunkSetRound: BigInt(R), ...r } });
  /** Block R's commitment of `storer` (the block orders them by storer id). */
  const of = (storer: NodeKey) => original.find((c) => hex(c.storerId) === storer.id)!;
  return { net, ledger, fin, R, blockR, original, of, setHash, fresh, repairers, repairTx };
}

async function refused(t: import('ava').ExecutionContext, ledger: Ledger, stx: SignedTransaction, re: RegExp, code: TxError['code'] = 'FAILED_PRECONDITION'): Promise<void> {
  const err = await t.throwsAsync(runNext(ledger, stx), { instanceOf: TxError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', re);
}

test('a chunk set below N is repaired back to N: its record names the new storer in place, and the repair block carries the set for its audit', async (t) => {
  const s = await scene();
  const [s0, s1, , , s4] = s.net.storers;
  t.is(await s.ledger.latestState().get(chunkSetStateKey(s.R)), null, 'no record before a repair: the set is the block\'s');
  const c4 = s.fresh(s4!);
  const { included, rejected } = await s.fin([s.repairTx(s.repairers[0]!, { replaced: [dereg(s.of(s0!))], commitments: [c4] })]);
  t.deepEqual(rejected.map((r) => r.error.message), []);
  t.is(included.length, 1);
  const round = s.ledger.tip().round;
  const raw = await s.ledger.latestState().get(chunkSetStateKey(s.R));
  t.truthy(raw, 'the repair writes the set\'s record');
  const rec = ChunkSetRecord.decode(raw!);
  t.is(rec.round, BigInt(s.R));
  t.is(hex(rec.newChunksHash), hex(s.setHash));
  t.deepEqual(rec.commitments.map((c) => hex(c.storerId)), s.original.map((c) => (hex(c.storerId) === s0!.id ? s4!.id : hex(c.storerId))), 'storer 0 replaced in place; order and the others kept');
  t.is(rec.repairedRound, BigInt(round));
  t.is(rec.repairs, 1);
  const block = (await s.ledger.certifiedBlock(round))!.block;
  const sets = block.newChunks?.repairedChunkSets ?? [];
  t.is(sets.length, 1);
  t.is(sets[0]!.round, BigInt(s.R));
  t.deepEqual(sets[0]!.chunkIds.map(hex), s.blockR.newChunks!.chunkIds.map(hex), 'the restored set\'s chunk ids are block R\'s');
  t.deepEqual(sets[0]!.commitments.map((c) => hex(c.storerId)), [s4!.id]);
  // Its audit (Q rounds later) challenges the new storer on every chunk of R's set.
  const objects = auditObjects(block.newChunks!).get(s4!.id)?.objects ?? [];
  const ofR = objects.filter((o) => o.kind === 'chunk' && hex(o.commitment.filehash) === hex(s.setHash));
  t.is(ofR.length, s.blockR.newChunks!.chunkIds.length);
  // Back at N: a second repair of the set is refused (storer 1 is still gone, but 3 are live).
  const c5 = s.fresh(s.net.storers[5]!);
  await refused(t, s.ledger, s.repairTx(s.repairers[1]!, { recordRound: BigInt(round), replaced: [dereg(s.of(s1!))], commitments: [c5] }), /still has N = 3 live commitments or more/);
});

test('a repair replaces at most what brings the set back to N, and none while N are live', async (t) => {
  const s = await scene();
  const [s0, s1, , , s4, s5] = s.net.storers;
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { replaced: [dereg(s.of(s0!)), dereg(s.of(s1!))], commitments: [s.fresh(s4!), s.fresh(s5!)] }), /2 live commitments; a repair brings it back to N = 3, so replaces at most 1, not 2/);
  const one = await scene({ leaving: [0] });
  await refused(t, one.ledger, one.repairTx(one.repairers[0]!, { replaced: [dereg(one.of(one.net.storers[0]!))], commitments: [one.fresh(one.net.storers[4]!)] }), /still has N = 3 live commitments or more: nothing to repair/);
});

test('forged evidence, a stale version, a still-live storer and a non-rewards sender are refused', async (t) => {
  const s = await scene();
  const [s0, , s2, , s4] = s.net.storers;
  const c4 = s.fresh(s4!);
  const altered = { ...s.of(s0!), weight: s.of(s0!).weight + 1 };
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { replaced: [dereg(altered)], commitments: [c4] }), /forged evidence: replaced\[0\] .* is not a commitment of the chunk set of block/);
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { replaced: [{ commitment: s.of(s0!), reason: RepairReason.REPAIR_REASON_LOW_REPUTATION }], commitments: [c4] }), /claims low reputation, the state says deregistered/);
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { replaced: [dereg(s.of(s2!))], commitments: [c4] }), new RegExp(`storer ${s2!.id.slice(0, 16)} is still live`));
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { recordRound: BigInt(s.R - 1), replaced: [dereg(s.of(s0!))], commitments: [c4] }), /stale: the chunk set of block \d+ was last written in round \d+/);
  await refused(t, s.ledger, s.repairTx(userOf(s.net.gateway), { replaced: [dereg(s.of(s0!))], commitments: [c4] }), /not a registered rewards node/);
});

test('a replacement must be a live storer new to the set, with a chunk-set commitment to this set on a seed at or after its last write', async (t) => {
  const s = await scene();
  const [s0, , s2, , s4] = s.net.storers;
  const r = s.repairTx.bind(null, s.repairers[0]!);
  const go = (c: StorageCommitment, re: RegExp) => refused(t, s.ledger, r({ replaced: [dereg(s.of(s0!))], commitments: [c] }), re);
  await go(s.fresh(s2!), /duplicate replacement: storer .* already holds a commitment for the chunk set/);
  await go(s.fresh(s.net.gateway), /new storer .* is not a registered storer/);
  await go(s.fresh(s4!, s.R - 1), /seed_round \d+ is before the record's last write .*not a fresh seed/);
  await go(s.fresh(s4!, s.ledger.tip().round, { replicaRoot: Buffer.from(seeded.bytes(32)) }), /replica_root is not the chunk-set root/);
  const otherSet = new Uint8Array(seeded.bytes(32));
  await go(
    chunkSetCommitment(s4!, otherSet, s.original[0]!, s.ledger.seedAt(s.ledger.tip().round)!, s.ledger.tip().round, STAKE * 4n, Number(STAKE * 4n)),
    /commits to another file/,
  );
  await go(s.fresh(s4!, s.ledger.tip().round, { size: s.original[0]!.size + 1n }), /size/);
});

test('a malformed chunk-set repair is refused before state: a key named beside the round, a round not before the block, a block without a chunk set', async (t) => {
  const s = await scene();
  const c4 = s.fresh(s.net.storers[4]!);
  const d0 = dereg(s.of(s.net.storers[0]!));
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { owner: 'alice', replaced: [d0], commitments: [c4] }), /names no owner, collection or key/, 'INVALID_ARGUMENT');
  const next = BigInt(s.ledger.tip().round + 1);
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { chunkSetRound: next, recordRound: next, replaced: [d0], commitments: [c4] }), /is not of an earlier block/);
  // The blocks after R were made with no committers.
  const later = BigInt(s.R + 1);
  await refused(t, s.ledger, s.repairTx(s.repairers[0]!, { chunkSetRound: later, recordRound: later, replaced: [d0], commitments: [c4] }), /has no chunk-set commitments to repair/);
});
