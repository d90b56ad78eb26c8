// The repairer's plan (services/rewards/repair-plan.ts, docs/repair.md §2, §3): which keys need repair and
// in what order, which offered commitments may replace which, and a Repair built from the plan that the
// real ledger accepts (the plan and the ledger share lib/chain/repair.ts's liveness rule).
import test from 'ava';
import { NodeRole, type NodeRecord } from '../../../gen/wolk/common/v1/node.js';
import type { ChunkSetRecord, KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason } from '../../../gen/wolk/common/v1/tx.js';
import { DEFAULT_REPAIR_PARAMS } from '../../../lib/chain/repair.js';
import { toHex } from '../../../lib/crypto/index.js';
import { readAccount, readKey } from '../../../services/consensus/ledger/state-view.js';
import { assessChunkSet, assessKey, chooseChunkSetReplacements, chooseReplacements, chunkSetRepairBody, planChunkSetRepairs, planRepairs, repairBody, type NodeLookup } from '../../../services/rewards/repair-plan.js';
import { commitment, fileInfo, finalizeBlock, makeNet, newUser, openLedger, setBucket, setKey, setName, txOf, type User } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/rewards/repair-plan.test.ts');
logSeedOnFailure(test);

const P = DEFAULT_REPAIR_PARAMS;
const id = () => Buffer.from(seeded.bytes(32));
const storerNode = (nid: Uint8Array, reputationPpm = 1_000_000, roles = [NodeRole.NODE_ROLE_STORER]): NodeRecord => ({ id: Buffer.from(nid), vrfPublicKey: Buffer.alloc(32), endpoint: 'h:1', stake: 1000n, roles, reputationPpm, balance: 0n });
const c = (storerId: Buffer, seedRound = 10n): StorageCommitment => ({
  storerId,
  vrfPublicKey: Buffer.alloc(32),
  vrf: undefined,
  weight: 1,
  replicaRoot: id(),
  filehash: Buffer.alloc(32),
  size: 1n,
  chunkSize: 4096,
  seed: Buffer.alloc(32),
  seedRound,
  signature: id(),
  sealed: undefined,
});
const rec = (key: string, commitments: StorageCommitment[], round: bigint): KeyRecord => ({ owner: 'o', collection: 'c', key, file: { filehash: Buffer.alloc(32), size: 1n, chunkSize: 4096 }, contentType: '', commitments, txId: id(), round, repairedRound: undefined, repairs: undefined });

function world() {
  const [a, b, d, e, f] = [id(), id(), id(), id(), id()];
  const nodes = new Map<string, NodeRecord>([
    [toHex(a), storerNode(a)],
    [toHex(b), storerNode(b)],
    [toHex(d), storerNode(d, 875_000)], // low reputation
    [toHex(e), storerNode(e, 1_000_000, [NodeRole.NODE_ROLE_GATEWAY])], // left
    [toHex(f), storerNode(f)],
  ]);
  const nodeOf: NodeLookup = (x) => nodes.get(x);
  return { a, b, d, e, f, nodeOf };
}

test('a key is assessed by the ledger\'s rule: deregistered and low-reputation storers are not live, deregistered listed first', (t) => {
  const w = world();
  t.is(assessKey(rec('k', [c(w.a), c(w.b)], 5n), w.nodeOf, P), null, 'all live: nothing to do');
  const x = assessKey(rec('k', [c(w.d), c(w.a), c(w.e)], 5n), w.nodeOf, P)!;
  t.is(x.path, 'wolk://o/c/k');
  t.deepEqual(x.live.map((l) => toHex(l.storerId)), [toHex(w.a)]);
  t.deepEqual(x.notLive.map((n) => n.reason), [RepairReason.REPAIR_REASON_DEREGISTERED, RepairReason.REPAIR_REASON_LOW_REPUTATION]);
  const unknown = assessKey(rec('k', [c(id())], 5n), w.nodeOf, P)!;
  t.is(unknown.notLive[0]!.reason, RepairReason.REPAIR_REASON_DEREGISTERED, 'no node record at all: not a registered storer');
});

test('the queue: fewest live copies first, then the oldest write, bounded; keys with no live copy are reported', (t) => {
  const w = world();
  const records = [
    rec('one-dead-new', [c(w.e), c(w.a), c(w.b)], 9n),
    rec('two-dead', [c(w.e), c(w.d), c(w.a)], 9n),
    rec('healthy', [c(w.a), c(w.b), c(w.f)], 1n),
    rec('one-dead-old', [c(w.a), c(w.b), c(w.d)], 2n),
    rec('all-dead', [c(w.e), c(w.d)], 9n),
  ];
  const { queue, noLiveCopy } = planRepairs([...records, records[1]!], w.nodeOf, P, 10);
  t.deepEqual(queue.map((q) => q.record.key), ['all-dead', 'two-dead', 'one-dead-old', 'one-dead-new'], 'duplicates dropped, healthy left out');
  t.deepEqual(noLiveCopy.map((q) => q.record.key), ['all-dead']);
  t.deepEqual(planRepairs(records, w.nodeOf, P, 2).queue.map((q) => q.record.key), ['all-dead', 'two-dead']);
});

test('replacements: live storers that do not hold the key, once each, on a fresh seed, valid, no more than needed', (t) => {
  const w = world();
  const x = assessKey(rec('k', [c(w.e), c(w.d), c(w.a)], 10n), w.nodeOf, P)!;
  const g = id();
  const valid = (o: StorageCommitment) => !o.storerId.equals(g);
  const offered = [c(w.a, 12n), c(w.d, 12n), c(w.e, 12n), c(w.b, 9n), c(g, 12n), c(w.b, 12n), c(w.b, 13n), c(w.f, 12n), c(id(), 12n)];
  const chosen = chooseReplacements(x, offered, w.nodeOf, P, valid);
  // a holds it; d and e are not live; b's first offer is on a seed before the record's write; g fails
  // verification; b (fresh) and f are taken; b's second offer and the stranger are not needed/known.
  t.deepEqual(chosen.map((o) => toHex(o.storerId)), [toHex(w.b), toHex(w.f)]);
  const body = repairBody(x, chosen.slice(0, 1));
  t.is(body.recordRound, 10n);
  t.deepEqual(body.replaced.map((r) => r.reason), [RepairReason.REPAIR_REASON_DEREGISTERED], 'a partial repair replaces the storer that left first');
  t.throws(() => repairBody(x, []), { instanceOf: RangeError });
});

test('a Repair built from the plan is accepted by the ledger', async (t) => {
  const net = makeNet({ storers: 5, storerCommitteeSize: 4000, rewards: 1 });
  const ledger = await openLedger(net);
  const fin = (txs: Parameters<typeof finalizeBlock>[1]) => finalizeBlock(ledger, txs, new Uint8Array(seeded.bytes(32)));
  const alice = newUser();
  await fin([setName(alice, 'alice'), setBucket(alice, 'alice', 'docs')]);
  const file = fileInfo(7_000n);
  const sr = ledger.tip().round;
  await fin([setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key: 'k', file }, [0, 1, 2].map((i) => commitment(net.storers[i]!, file, ledger.seedAt(sr)!, sr, 5000n, {}, 4000)))]);
  const leaver: User = { publicKey: Buffer.from(net.storers[0]!.signPublicKey), secretKey: net.storers[0]!.signSecretKey, nonce: 0n };
  await fin([txOf(leaver, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);

  const state = ledger.latestState();
  const nodes = new Map<string, NodeRecord | undefined>();
  for (const k of net.storers) nodes.set(k.id, (await readAccount(state, k.signPublicKey)).node);
  const record = (await readKey(state, 'alice', 'docs', 'k'))!;
  const { queue } = planRepairs([record], (x) => nodes.get(x), P, 16);
  t.is(queue.length, 1);
  const at = ledger.tip().round;
  const offered = [1, 3, 4].map((i) => commitment(net.storers[i]!, file, ledger.seedAt(at)!, at, 4000n, {}, 4000));
  const chosen = chooseReplacements(queue[0]!, offered, (x) => nodes.get(x), P, () => true);
  t.deepEqual(chosen.map((o) => toHex(o.storerId)), [net.storers[3]!.id]);
  const repairer: User = { publicKey: Buffer.from(net.rewards[0]!.signPublicKey), secretKey: net.rewards[0]!.signSecretKey, nonce: 0n };
  const { included, rejected } = await fin([txOf(repairer, { $case: 'repair', value: repairBody(queue[0]!, chosen) })]);
  t.deepEqual(rejected.map((r) => r.error.message), []);
  t.is(included.length, 1);
  const after = (await readKey(ledger.latestState(), 'alice', 'docs', 'k'))!;
  t.deepEqual(after.commitments.map((x) => toHex(x.storerId)), [3, 1, 2].map((i) => net.storers[i]!.id));
  // Planned again on the new state: nothing left to do.
  t.is(assessKey(after, (x) => nodes.get(x), P), null);
});

// Block chunk sets (docs/repair.md §9): repaired back to N = params.replication, not to their first count.
const set = (round: bigint, commitments: StorageCommitment[], repairedRound = 0n): ChunkSetRecord => ({ round, newChunksHash: id(), commitments, repairedRound, repairs: repairedRound > 0n ? 1 : 0 });

test('a chunk set needs repair only below N live; it may replace N − live, at most its not-live commitments', (t) => {
  const w = world();
  const g = id(); // no node record: deregistered
  t.is(assessChunkSet(set(5n, [c(w.a), c(w.b), c(w.f), c(w.e)]), w.nodeOf, P, 3), null, '3 live at N = 3: nothing to do, though one left');
  const two = assessChunkSet(set(5n, [c(w.a), c(w.e), c(w.b), c(w.d)]), w.nodeOf, P, 3)!;
  t.is(two.replaceable, 1, '2 of 4 dead at N = 3: one replacement');
  t.is(two.label, 'chunk-set:5');
  t.deepEqual(two.notLive.map((x) => x.reason), [RepairReason.REPAIR_REASON_DEREGISTERED, RepairReason.REPAIR_REASON_LOW_REPUTATION]);
  t.is(assessChunkSet(set(5n, [c(w.e), c(g), c(w.d)]), w.nodeOf, P, 3)!.replaceable, 3, 'none live: all three');
  t.is(assessChunkSet(set(5n, [c(w.a), c(w.e)]), w.nodeOf, P, 3)!.replaceable, 1, 'committed by fewer than N: only the not-live one can be replaced');
  t.is(assessChunkSet(set(5n, [c(w.a), c(w.b)]), w.nodeOf, P, 3), null, 'fewer than N, all live: no evidence to replace');
  t.is(assessChunkSet(set(5n, [{ ...c(w.e), size: 0n }, { ...c(w.d), size: 0n }]), w.nodeOf, P, 3), null, 'an empty set holds nothing to keep');
});

test('chunk sets are planned once per round, fewest live first, then the oldest write', (t) => {
  const w = world();
  const older = set(4n, [c(w.a), c(w.e), c(w.d)]);
  const newer = set(3n, [c(w.a), c(w.e), c(w.d)], 9n); // block 3, repaired in round 9
  const worst = set(8n, [c(w.e), c(w.d), c(id())]); // none live
  const healthy = set(2n, [c(w.a), c(w.b), c(w.f)]);
  const plan = planChunkSetRepairs([newer, older, worst, healthy, older, worst], w.nodeOf, P, 3, 10);
  t.deepEqual(plan.map((x) => x.round), [8n, 4n, 3n], 'none live first; then by last write (block 3 repaired at 9 after block 4); healthy and duplicates left out');
  t.deepEqual(planChunkSetRepairs([newer, older, worst], w.nodeOf, P, 3, 2).map((x) => x.round), [8n, 4n], 'bounded');
});

test('chunk-set offers: never from a storer in the set or not live, seed not older than the last write, valid, at most N − live', (t) => {
  const w = world();
  const [g, h] = [id(), id()];
  const nodes = new Map<string, NodeRecord>([[toHex(g), storerNode(g)], [toHex(h), storerNode(h)]]);
  const nodeOf: NodeLookup = (x) => w.nodeOf(x) ?? nodes.get(x);
  const cand = assessChunkSet(set(5n, [c(w.a), c(w.e), c(w.b), c(w.d)], 7n), nodeOf, P, 3)!;
  t.is(cand.replaceable, 1);
  const bad = c(g);
  const offered = [c(w.a, 8n), c(w.d, 8n), c(w.e, 8n), c(w.f, 6n), bad, c(w.f, 8n), c(h, 8n)];
  const chosen = chooseChunkSetReplacements(cand, offered, nodeOf, P, (x) => x !== bad);
  t.deepEqual(chosen.map((x) => toHex(x.storerId)), [toHex(w.f)], 'a set member (live or not), a stale seed and an invalid offer skipped; one taken, not two');
  const body = chunkSetRepairBody(cand, chosen);
  t.deepEqual([body.owner, body.collection, body.key, body.chunkSetRound, body.recordRound], ['', '', '', 5n, 7n]);
  t.deepEqual(body.replaced, [{ commitment: cand.record.commitments[1], reason: RepairReason.REPAIR_REASON_DEREGISTERED }]);
  t.deepEqual(body.commitments, chosen);
  t.throws(() => chunkSetRepairBody(cand, [c(w.f), c(h)]), { instanceOf: RangeError }, 'more than N − live');
});
