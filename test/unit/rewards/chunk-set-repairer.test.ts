// The repairer's chunk-set scan (services/rewards/repairer.ts, docs/repair.md §9) against a real chain:
// every block is assembled, validated and committed by the real ledger with a real certificate of the
// genesis committee (test/unit/consensus/block-storage-fixture.ts), and the indexer's read model follows
// the certified blocks for ListNodes and ListStorerChunkSets. Storers are real ChunkCommitters
// (services/storer/chunk-commit.ts) with chain admission, the chain's registry (selection.ts) and an
// in-memory share store, answered at the CommitChunks / GetShare boundary. A block's chunk set and its
// first commitments are made through them by the ledger's block store, which asks as the proposer asks
// (a consensus node's signed CommitChunks, lib/chain/commit-chunks-client.ts); the ledger keeps the
// commitments that verify. A Repair the repairer submits is signed with the rewards node's key and
// finalized by the ledger, which must include it (services/consensus/ledger/repair.ts
// applyChunkSetRepair: version, evidence, shortfall, new chunk-set commitments on a fresh seed).
import test from 'ava';
import type { CertifiedBlock, NewChunks } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { ChunkSetRecord } from '../../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { askToCommit, commitChunksRequest } from '../../../lib/chain/commit-chunks-client.js';
import { chunkSetFromBlock, DEFAULT_REPAIR_PARAMS } from '../../../lib/chain/repair.js';
import { chunkSetStateKey } from '../../../lib/chain/state-keys.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import { signerOf, type NodeKey } from '../../../lib/identity/node-key.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { registryAt } from '../../../services/consensus/ledger/transactions.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { createRepairer, type RepairerPorts } from '../../../services/rewards/repairer.js';
import { Admission, genesisNodes } from '../../../services/storer/admission.js';
import { ChunkCommitter } from '../../../services/storer/chunk-commit.js';
import { createSelection } from '../../../services/storer/selection.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { committeeOf, finalize } from '../consensus/block-storage-fixture.js';
import { makeNet, newUser, runNext, setName, txOf, type User } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/rewards/chunk-set-repairer.test.ts');
logSeedOnFailure(test);

const COMMITTEE = 4000;
const N = 3;
const P = DEFAULT_REPAIR_PARAMS;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const userOf = (k: NodeKey): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

async function world(storers: number) {
  const net = makeNet({ storers, storerCommitteeSize: COMMITTEE, rewards: 1, replication: N });
  const endpointOf = (k: NodeKey) => net.genesis.nodes.find((n) => n.id === k.id)!.endpoint;
  /** Storers (by index) the ledger's block store asks to commit to the next block's chunk set. */
  let committers: number[] = [];
  // The ledger is opened below; the storers' selection and the block store read its registry.
  let ledger: Ledger | undefined;
  const registry = async (round: number) => (await registryAt(ledger!.rules, round))!;
  // One real ChunkCommitter per storer, admitting writes signed by the genesis' consensus and rewards nodes.
  const storerAt = new Map<string, { key: NodeKey; shares: ShareStore; committer: ChunkCommitter }>();
  for (const key of net.storers) {
    const shares = new ShareStore(createMemoryKv());
    await shares.init();
    const admission = new Admission({ mode: 'chain', lookup: genesisNodes(net.genesis), storerEndpoints: async () => [], resolve: async () => [], now: Date.now, budget: { bytesPerSecond: 0, burstBytes: 1 << 30 } });
    const selection = createSelection(net.genesis, { idHex: key.id, vrfPublicKey: key.vrfPublicKey, stake: 1000n }, N, registry);
    storerAt.set(endpointOf(key), { key, shares, committer: new ChunkCommitter({ admission, shares, key, selection, logger: silentLogger }) });
  }
  /** Storers whose data is gone: GetShare and CommitChunks fail. */
  const wiped = new Set<string>();
  ledger = await Ledger.open({
    kv: createMemoryKv(),
    genesis: net.genesis,
    crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
    blockStore: {
      // As the proposer asks (services/consensus/remote-state.ts commitments): a consensus node's signed
      // CommitChunks on the parent's seed, missing chunks pushed until the storer holds the set.
      async store(_round, chunks, set) {
        const base = commitChunksRequest({ ...set, expectedStorers: COMMITTEE, totalStake: (await registry(set.seedRound)).totalWeight }, signerOf(net.consensus[0]!));
        const byId = new Map(chunks.map((c) => [toHex(c.id), c.data]));
        const chunkCommitments: StorageCommitment[] = [];
        for (const i of committers) {
          const c = await askToCommit((req) => storerAt.get(endpointOf(net.storers[i]!))!.committer.commit(req), base, (id) => byId.get(id));
          if (!c) throw new Error(`storer ${i} was not selected for the test set`);
          chunkCommitments.push(c);
        }
        return { chunkCommitments };
      },
    },
  });
  const chain = ledger;
  const committee = committeeOf(net);
  const certified = async (round: number): Promise<CertifiedBlock> => {
    const b = (await chain.certifiedBlock(round))!;
    return { block: b.block, certificate: b.certificate, blockHash: Buffer.alloc(0) };
  };
  /** A certified block of `txs`, every one of which the ledger must include. */
  const block = async (txs: SignedTransaction[]) => {
    const { included } = await finalize(chain, committee, txs);
    if (included.length !== txs.length) throw new Error(`test: ${txs.length - included.length} of the block's transactions were rejected`);
    return chain.tip().round;
  };
  const model = new ReadModel(createMemoryKv(), { genesis: net.genesis, certificates: createCertificateVerifier(net.genesis), rewardPerValid: 10n });
  const sync = async () => {
    const from = ((await model.cursor())?.round ?? -1) + 1;
    for (let r = from; r <= chain.tip().round; r++) await model.apply(await certified(r));
  };
  const committed: string[] = [];
  const read: string[] = [];
  /** NewChunks the test substitutes for a block's (GetBlock answering something else). */
  const tampered = new Map<number, NewChunks>();
  const submitted: Repair[] = [];
  let reputation = new Map<string, number>();
  const ports: RepairerPorts = {
    listNodes: async () => (await sync(), (await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 1000, '')).nodes.map((n) => ({ ...n, reputationPpm: reputation.get(toHex(n.id)) ?? n.reputationPpm }))),
    storerKeys: async () => [],
    tip: async () => ({ round: chain.tip().round, seed: chain.tip().seed }),
    registry: async (round) => registry(round),
    solicit: async () => {
      throw new Error('no key needs repair here');
    },
    submit: async (repair) => (submitted.push(repair), seeded.bytes(32)),
    storerChunkSets: async (id) => (await sync(), (await model.storerChunkSets(id, 1000, '')).chunkSets),
    newChunksOf: async (round) => tampered.get(round) ?? (await certified(round)).block!.newChunks!,
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
  /** The state's ChunkSetRecord of block `round`'s set (null: never repaired). */
  const stateRecord = async (round: bigint) => {
    const raw = await chain.latestState().get(chunkSetStateKey(round));
    return raw === null ? null : ChunkSetRecord.decode(raw);
  };
  return {
    net,
    ledger: chain,
    ports,
    wiped,
    committed,
    read,
    tampered,
    submitted,
    endpointOf,
    stateRecord,
    setReputation: (k: NodeKey, ppm: number) => void (reputation = new Map([...reputation, [k.id, ppm]])),
    /** A block (a SetName: its transaction and state chunks are the set) whose chunk set `committers` commit to, as the ledger made it. */
    async block(who: number[]): Promise<ChunkSetRecord> {
      committers = who;
      const round = await block([setName(newUser(), `n${seeded.hex(4)}`)]).finally(() => void (committers = []));
      const b = (await certified(round)).block!;
      const rec = chunkSetFromBlock(BigInt(round), b.header!.newChunksHash, b.newChunks!);
      if (rec.commitments.length !== who.length) throw new Error(`test: the ledger kept ${rec.commitments.length} of ${who.length} chunk-set commitments`);
      return rec;
    },
    async leave(i: number) {
      const s = net.storers[i]!;
      wiped.add(s.id);
      const u = userOf(s);
      u.nonce = (await readAccount(chain.latestState(), s.signPublicKey)).nonce;
      await block([txOf(u, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
    },
    repairer: (over: Partial<Parameters<typeof createRepairer>[0]> = {}) =>
      createRepairer({ ports, params: P, expectedStorers: COMMITTEE, replication: N, signer: signerOf(net.rewards[0]!), logger: silentLogger, ...over }),
    /**
     * A submitted Repair as the rewards node's signed transaction, in the next block the ledger makes:
     * it must be included (runNext first, so a refusal fails with the ledger's reason). Its round.
     */
    async finalizeRepair(repair: Repair): Promise<number> {
      const u = userOf(net.rewards[0]!);
      u.nonce = (await readAccount(chain.latestState(), u.publicKey)).nonce;
      const stx = txOf(u, { $case: 'repair', value: repair });
      await runNext(chain, stx);
      return block([stx]);
    },
  };
}

test('2 of 4 committers dead at N = 3: exactly one replacement, a Repair the ledger includes; then nothing to do', async (t) => {
  const w = await world(7);
  const { net } = w;
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
  t.is(Number(fresh.seedRound), w.ledger.tip().round, 'on the latest finalized seed');
  // Only live storers outside the set were asked to commit; the set's chunks came from a live holder.
  const asked = new Set(w.committed);
  t.deepEqual([...asked].sort(), [4, 5].map((i) => w.endpointOf(net.storers[i]!)).sort());
  t.true(w.read.length >= 1 && [2, 3].map((i) => w.endpointOf(net.storers[i]!)).includes(w.read[0]!), 'read from a live holder first');
  // The ledger includes it: the state's record of the set names the new storer in the replaced one's
  // place, so 3 are live and the next scan (the indexer following the chain) submits nothing.
  t.is(await w.stateRecord(set.round), null, 'never repaired before');
  const repairRound = await w.finalizeRepair(repair);
  const rec = (await w.stateRecord(set.round))!;
  t.deepEqual(
    rec.commitments.map((c) => toHex(c.storerId)),
    set.commitments.map((c) => (same(c.storerId, repair.replaced[0]!.commitment!.storerId) ? toHex(fresh.storerId) : toHex(c.storerId))),
  );
  t.deepEqual(Buffer.from(rec.commitments.find((c) => same(c.storerId, fresh.storerId))!.signature), Buffer.from(fresh.signature), 'the offer the repairer chose, byte for byte');
  t.is(rec.repairedRound, BigInt(repairRound));
  // The storer not replaced still lists the set, now the state's record: the next scan looks at it and
  // finds N live.
  const notReplaced = [0, 1].map((i) => net.storers[i]!).find((k) => !same(k.signPublicKey, repair.replaced[0]!.commitment!.storerId))!;
  const listed = (await w.ports.storerChunkSets!(notReplaced.signPublicKey, new AbortController().signal)).find((x) => x.round === set.round);
  t.deepEqual(listed && Buffer.from(ChunkSetRecord.encode(listed).finish()), Buffer.from(ChunkSetRecord.encode(rec).finish()));
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
  const { net } = w;
  const set = await w.block([0, 1, 2]);
  for (const i of [0, 1, 2]) await w.leave(i);
  const report = await w.repairer().scan(new AbortController().signal);
  t.deepEqual(report.chunkSets.repaired, []);
  t.is(report.chunkSets.lost.length, 1);
  const lost = report.chunkSets.lost[0]!;
  t.is(lost.round, String(set.round));
  t.is(lost.newChunksHash, toHex(set.newChunksHash));
  t.deepEqual(lost.evidence.map((e) => e.storer), [0, 1, 2].map((i) => net.storers[i]!.id).sort(), 'every commitment of the set, in the record\'s order (the block orders them by storer id)');
  t.true(lost.evidence.every((e) => e.standing === 'deregistered' && /could not serve the chunks/.test(e.source)), JSON.stringify(lost.evidence));
  t.deepEqual([w.submitted, w.committed], [[], []], 'no Repair and no CommitChunks without the chunks');
});

test('a NewChunks that does not hash to the record\'s new_chunks_hash is not used', async (t) => {
  const w = await world(6);
  const set = await w.block([0, 1, 2]);
  await w.leave(0);
  const nc = (await w.ledger.certifiedBlock(Number(set.round)))!.block.newChunks!;
  w.tampered.set(Number(set.round), { ...nc, chunkIds: nc.chunkIds.slice(1) });
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
  await w.finalizeRepair(w.submitted[1]!);
  t.false((await w.stateRecord(set.round))!.commitments.some((c) => toHex(c.storerId) === w.net.storers[0]!.id));
  t.is((await repairer.scan(signal)).chunkSets.repaired.length, 0);
});
