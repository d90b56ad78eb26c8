// The repairer's chunk-set scan (services/rewards/repairer.ts, docs/repair.md §9) against a real chain
// (ledger with real certificates, test/unit/indexer/chain.ts: node records, registries and seeds) and
// the indexer's read model for ListNodes. Storers are real ChunkCommitters (services/storer/chunk-commit.ts)
// with chain admission, the chain's registry (selection.ts) and an in-memory share store, answered at the
// CommitChunks / GetShare boundary; the block's set and its first commitments are made through them too,
// by a consensus node's request (lib/chain/commit-chunks-client.ts, as the proposer asks).
//
// ListStorerChunkSets is answered from the test's own records (the indexer's side is tested with the
// indexer); a submitted Repair is checked here by the ledger's rules for chunk-set Repairs (docs/repair.md
// §9: replaced byte-identical with true reasons, at most chunkSetShortfall, each new commitment live, not
// in the set and valid under verifyChunkCommitment on a fresh seed of the chain) and then applied to the
// record with lib/chain/repair.ts repairedChunkSet, the substitution the ledger and indexer make.
import test from 'ava';
import type { NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole, type NodeRecord } from '../../../gen/wolk/common/v1/node.js';
import type { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair } from '../../../gen/wolk/common/v1/tx.js';
import { askToCommit, commitChunksRequest } from '../../../lib/chain/commit-chunks-client.js';
import { verifyChunkCommitment } from '../../../lib/chain/commitment.js';
import { chunkSetFromBlock, chunkSetRecordRound, chunkSetShortfall, DEFAULT_REPAIR_PARAMS, notLiveReason, repairedChunkSet } from '../../../lib/chain/repair.js';
import { newChunksHashOf } from '../../../lib/chain/reward.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import { signerOf, type NodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { registryAt } from '../../../services/consensus/ledger/transactions.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { createRepairer, type RepairerPorts } from '../../../services/rewards/repairer.js';
import { Admission, genesisNodes } from '../../../services/storer/admission.js';
import { ChunkCommitter } from '../../../services/storer/chunk-commit.js';
import { createSelection } from '../../../services/storer/selection.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { txOf, type User } from '../consensus/ledger-fixture.js';
import { makeChain } from '../indexer/chain.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/rewards/chunk-set-repairer.test.ts');
logSeedOnFailure(test);

const COMMITTEE = 4000;
const N = 3;
const P = DEFAULT_REPAIR_PARAMS;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

async function world(storers: number) {
  const chain = await makeChain({ storers, storerCommitteeSize: COMMITTEE, rewards: 1, replication: N });
  const { net, ledger } = chain;
  const model = new ReadModel(createMemoryKv(), { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  const sync = async () => {
    const from = ((await model.cursor())?.round ?? -1) + 1;
    for (let r = from; r <= ledger.tip().round; r++) await model.apply(await chain.certified(r));
  };
  const endpointOf = (k: NodeKey) => net.genesis.nodes.find((n) => n.id === k.id)!.endpoint;
  // One real ChunkCommitter per storer, admitting writes signed by the genesis' consensus and rewards nodes.
  const storerAt = new Map<string, { key: NodeKey; shares: ShareStore; committer: ChunkCommitter }>();
  for (const key of net.storers) {
    const shares = new ShareStore(createMemoryKv());
    await shares.init();
    const admission = new Admission({ mode: 'chain', lookup: genesisNodes(net.genesis), storerEndpoints: async () => [], resolve: async () => [], now: Date.now, budget: { bytesPerSecond: 0, burstBytes: 1 << 30 } });
    const selection = createSelection(net.genesis, { idHex: key.id, vrfPublicKey: key.vrfPublicKey, stake: 1000n }, N, async (round) => (await registryAt(ledger.rules, round))!);
    storerAt.set(endpointOf(key), { key, shares, committer: new ChunkCommitter({ admission, shares, key, selection, logger: silentLogger }) });
  }
  /** Storers whose data is gone: GetShare and CommitChunks fail. */
  const wiped = new Set<string>();
  const committed: string[] = [];
  const read: string[] = [];
  /** The chain's chunk-set records, as ListStorerChunkSets would list them; NewChunks by round. */
  const records = new Map<bigint, ChunkSetRecord>();
  const blocks = new Map<bigint, NewChunks>();
  const submitted: Repair[] = [];
  let reputation = new Map<string, number>();
  const ports: RepairerPorts = {
    listNodes: async () => (await sync(), (await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 1000, '')).nodes.map((n) => ({ ...n, reputationPpm: reputation.get(toHex(n.id)) ?? n.reputationPpm }))),
    storerKeys: async () => [],
    tip: async () => ({ round: ledger.tip().round, seed: ledger.tip().seed }),
    registry: async (round) => (await registryAt(ledger.rules, round))!,
    solicit: async () => {
      throw new Error('no key needs repair here');
    },
    submit: async (repair) => (submitted.push(repair), seeded.bytes(32)),
    storerChunkSets: async (id) => [...records.values()].filter((r) => r.commitments.some((c) => same(c.storerId, id))),
    newChunksOf: async (round) => blocks.get(BigInt(round))!,
    async readChunks(endpoint, ids) {
      read.push(endpoint);
      const s = storerAt.get(endpoint)!;
      if (wiped.has(s.key.id)) throw new Error(`UNAVAILABLE: ${endpoint}`);
      return s.shares.getMany(ids);
    },
    async commitChunks(endpoint, req) {
      committed.push(endpoint);
      const s = storerAt.get(endpoint)!;
      if (wiped.has(s.key.id)) throw new Error(`UNAVAILABLE: ${endpoint}`);
      return s.committer.commit(req);
    },
  };
  return {
    chain,
    ports,
    wiped,
    committed,
    read,
    records,
    blocks,
    submitted,
    endpointOf,
    setReputation: (k: NodeKey, ppm: number) => void (reputation = new Map([...reputation, [k.id, ppm]])),
    /**
     * A block's chunk set as a proposer makes it: the next block's round, its parent's seed, the chunks
     * pushed by a consensus node's CommitChunks to `committers` (their commitments, in that order).
     */
    async block(committers: number[]): Promise<ChunkSetRecord> {
      const chunks = Array.from({ length: seeded.int(3, 6) }, (_, i) => Buffer.from(seeded.bytes(i === 0 ? 5000 : seeded.int(60, 900))));
      const nc: NewChunks = { chunkIds: chunks.map((c) => Buffer.from(sha256(c))), files: [], chunkCommitments: [], repairedChunkSets: [] };
      const seedRound = ledger.tip().round;
      const total = (await registryAt(ledger.rules, seedRound))!.totalWeight;
      const base = commitChunksRequest({ newChunks: nc, seed: ledger.seedAt(seedRound)!, seedRound, expectedStorers: COMMITTEE, totalStake: total }, signerOf(net.consensus[0]!));
      const byId = new Map(chunks.map((c) => [toHex(sha256(c)), c]));
      const commitments: StorageCommitment[] = [];
      for (const i of committers) {
        const c = await askToCommit((req) => storerAt.get(endpointOf(net.storers[i]!))!.committer.commit(req), base, (id) => byId.get(id));
        if (!c) throw new Error(`storer ${i} was not selected for the test set`);
        commitments.push(c);
      }
      await chain.finalize([]);
      const round = BigInt(ledger.tip().round);
      const withCommitments = { ...nc, chunkCommitments: commitments };
      blocks.set(round, withCommitments);
      const rec = chunkSetFromBlock(round, newChunksHashOf(withCommitments), withCommitments);
      records.set(round, rec);
      return rec;
    },
    async leave(i: number) {
      const s = net.storers[i]!;
      wiped.add(s.id);
      const u = userOf(s);
      u.nonce = (await readAccount(ledger.latestState(), s.signPublicKey)).nonce;
      await chain.finalize([txOf(u, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
    },
    repairer: (over: Partial<Parameters<typeof createRepairer>[0]> = {}) =>
      createRepairer({ ports, params: P, expectedStorers: COMMITTEE, replication: N, signer: signerOf(net.rewards[0]!), logger: silentLogger, ...over }),
    /** The rules the ledger applies to a chunk-set Repair in the next block (docs/repair.md §9); null when it holds. */
    async problem(repair: Repair, nodes: NodeRecord[]): Promise<string | null> {
      const nodeOf = (id: Uint8Array) => nodes.find((n) => same(n.id, id));
      const rec = records.get(repair.chunkSetRound);
      if (!rec) return 'no such chunk set';
      if (repair.owner !== '' || repair.collection !== '' || repair.key !== '') return 'names a key';
      if (repair.recordRound !== chunkSetRecordRound(rec)) return `record_round ${repair.recordRound}, the set's is ${chunkSetRecordRound(rec)}`;
      if (repair.replaced.length === 0 || repair.replaced.length !== repair.commitments.length) return 'replaced and commitments differ in count';
      if (repair.replaced.length > chunkSetShortfall(rec.commitments, nodeOf, P, N)) return 'replaces more than N − live';
      const nc = blocks.get(rec.round)!;
      const lengths = (await storerAt.get(endpointOf(net.storers.find((k) => !wiped.has(k.id))!))!.shares.getMany(nc.chunkIds)).map((d) => d!.length);
      for (const r of repair.replaced) {
        if (!rec.commitments.some((c) => same(c.signature, r.commitment!.signature) && same(c.storerId, r.commitment!.storerId))) return 'forged evidence';
        if (notLiveReason(nodeOf(r.commitment!.storerId), P) !== r.reason) return 'a reason that is not the state\'s';
      }
      const include = ledger.tip().round + 1;
      for (const c of repair.commitments) {
        if (rec.commitments.some((x) => same(x.storerId, c.storerId))) return 'a storer already in the set';
        if (notLiveReason(nodeOf(c.storerId), P) !== null) return 'a new storer that is not live';
        if (c.seedRound < repair.recordRound || c.seedRound >= BigInt(include)) return `seed_round ${c.seedRound} is not fresh`;
        if (!same(c.seed, ledger.seedAt(Number(c.seedRound))!)) return 'seed is not the seed of seed_round';
        const reg = (await registryAt(ledger.rules, Number(c.seedRound)))!;
        const v = verifyChunkCommitment(c, { lookupStorer: (id) => reg.lookup(id), totalWeight: reg.totalWeight, expectedSize: COMMITTEE, seed: c.seed, seedRound: c.seedRound, newChunksHash: rec.newChunksHash, chunkLengths: lengths });
        if (!v.ok) return v.reason;
      }
      return null;
    },
    /** Applies a Repair as the ledger does (in the next block). */
    async apply(repair: Repair) {
      await chain.finalize([]);
      records.set(repair.chunkSetRound, repairedChunkSet(records.get(repair.chunkSetRound)!, repair, BigInt(ledger.tip().round), same));
    },
  };
}

test('2 of 4 committers dead at N = 3: exactly one replacement, a Repair the ledger\'s rules accept; then nothing to do', async (t) => {
  const w = await world(7);
  const { net } = w.chain;
  const set = await w.block([0, 1, 2, 3]);
  await w.leave(0);
  await w.leave(1);
  // Storer 6 holds nothing of the set but is below the reputation threshold: never asked, never taken.
  w.setReputation(net.storers[6]!, 875_000);
  const report = await w.repairer().scan(new AbortController().signal);
  t.deepEqual([report.chunkSets.lost, report.chunkSets.deferred], [[], []]);
  t.deepEqual(report.chunkSets.repaired.map((r) => [r.round, r.replaced, r.liveBefore]), [[String(set.round), 1, 2]]);
  t.is(w.submitted.length, 1);
  const repair = w.submitted[0]!;
  t.is(repair.chunkSetRound, set.round);
  t.is(repair.recordRound, set.round, 'never repaired: the record round is the block round');
  t.is(repair.replaced.length, 1);
  t.is(repair.replaced[0]!.reason, RepairReason.REPAIR_REASON_DEREGISTERED);
  t.true([net.storers[0]!.id, net.storers[1]!.id].includes(toHex(repair.replaced[0]!.commitment!.storerId)));
  t.deepEqual(repair.replaced[0]!.commitment, set.commitments.find((c) => same(c.storerId, repair.replaced[0]!.commitment!.storerId)), 'the evidence is the set\'s commitment, byte for byte');
  const fresh = repair.commitments[0]!;
  t.true([4, 5].map((i) => net.storers[i]!.id).includes(toHex(fresh.storerId)), 'a live storer that was not in the set');
  t.is(Number(fresh.seedRound), w.chain.ledger.tip().round, 'on the latest finalized seed');
  const nodes = await w.ports.listNodes(new AbortController().signal);
  t.is(await w.problem(repair, nodes), null);
  // Only live storers outside the set were asked to commit; the set's chunks came from a live holder.
  const asked = new Set(w.committed);
  t.deepEqual([...asked].sort(), [4, 5].map((i) => w.endpointOf(net.storers[i]!)).sort());
  t.true(w.read.length >= 1 && [2, 3].map((i) => w.endpointOf(net.storers[i]!)).includes(w.read[0]!), 'read from a live holder first');
  // Applied: 3 live, so the next scan submits nothing.
  await w.apply(repair);
  const again = await w.repairer().scan(new AbortController().signal);
  t.deepEqual([again.chunkSets.repaired, again.chunkSets.lost, again.chunkSets.deferred], [[], [], []]);
  t.is(w.submitted.length, 1);
});

test('a set with N live commitments is not repaired (one of 4 dead at N = 3)', async (t) => {
  const w = await world(6);
  await w.block([0, 1, 2, 3]);
  await w.leave(0);
  const report = await w.repairer().scan(new AbortController().signal);
  t.deepEqual([report.chunkSets.repaired, report.chunkSets.lost, report.chunkSets.deferred], [[], [], []]);
  t.deepEqual([w.submitted, w.committed, w.read], [[], [], []], 'nothing asked, nothing read, nothing submitted');
});

test('a set none of whose holders can serve its chunks is reported lost with the evidence; nothing is submitted', async (t) => {
  const w = await world(7);
  const { net } = w.chain;
  const set = await w.block([0, 1, 2]);
  for (const i of [0, 1, 2]) await w.leave(i);
  const report = await w.repairer().scan(new AbortController().signal);
  t.deepEqual(report.chunkSets.repaired, []);
  t.is(report.chunkSets.lost.length, 1);
  const lost = report.chunkSets.lost[0]!;
  t.is(lost.round, String(set.round));
  t.is(lost.newChunksHash, toHex(set.newChunksHash));
  t.deepEqual(lost.evidence.map((e) => e.storer), [0, 1, 2].map((i) => net.storers[i]!.id));
  t.true(lost.evidence.every((e) => e.standing === 'deregistered' && /could not serve the chunks/.test(e.source)), JSON.stringify(lost.evidence));
  t.deepEqual([w.submitted, w.committed], [[], []], 'no Repair and no CommitChunks without the chunks');
});

test('a NewChunks that does not hash to the record\'s new_chunks_hash is not used', async (t) => {
  const w = await world(6);
  const set = await w.block([0, 1, 2]);
  await w.leave(0);
  const nc = w.blocks.get(set.round)!;
  w.blocks.set(set.round, { ...nc, chunkIds: nc.chunkIds.slice(1) });
  const report = await w.repairer().scan(new AbortController().signal);
  t.deepEqual(report.chunkSets.repaired, []);
  t.is(report.chunkSets.deferred.length, 1);
  t.regex(report.chunkSets.deferred[0]!.reason, /hashes to .* the record's new_chunks_hash is/);
  t.deepEqual([w.submitted, w.committed, w.read], [[], [], []]);
});

test('a chunk set with a Repair pending is not repaired again until it applies or pendingMs passes', async (t) => {
  const w = await world(6);
  const set = await w.block([0, 1, 2]);
  await w.leave(0);
  let now = 0;
  const repairer = w.repairer({ pendingMs: 10_000, now: () => now });
  const signal = new AbortController().signal;
  t.is((await repairer.scan(signal)).chunkSets.repaired.length, 1);
  now += 5000;
  const pending = await repairer.scan(signal);
  t.deepEqual([pending.chunkSets.repaired, pending.chunkSets.deferred], [[], []], 'pending: not submitted again');
  t.is(w.submitted.length, 1);
  now += 6000;
  t.is((await repairer.scan(signal)).chunkSets.repaired.length, 1, 'after pendingMs without the repair applied: again');
  t.is(w.submitted.length, 2);
  await w.apply(w.submitted[1]!);
  t.false(w.records.get(set.round)!.commitments.some((c) => toHex(c.storerId) === w.chain.net.storers[0]!.id));
  t.is((await repairer.scan(signal)).chunkSets.repaired.length, 0);
});
