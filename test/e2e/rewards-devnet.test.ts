// Rewards on the real devnet (issue #7): one storer drops the bytes of every file right after committing
// (test-only fault drop-after-commit). Files are uploaded through the gateway with the CLI until that
// storer has committed to several of them; Q rounds later the rewards verifier audits those blocks: the
// lazy storer's answers are invalid (or unreachable), its reputation on chain falls below full, the
// honest storers committed with it are credited, and the indexer shows balances and reputation. The
// rewards service reports the Reward of an audited round as finalized. Files uploaded afterwards carry
// commitments whose weights are the sortition of stake × reputation as of their seed round.
import test from 'ava';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRole, type NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { ConsensusServiceClient, type GetBlockResponse, type GetStatusResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { IndexerServiceClient, type GetFileLocationsResponse, type ListNodesResponse } from '../../gen/wolk/indexer/v1/indexer.js';
import { loadGenesis } from '../../lib/chain/genesis.js';
import { chainRegistry } from '../../lib/chain/registry-client.js';
import { sortition } from '../../lib/crypto/index.js';
import { RewardsServiceClient, type GetReputationResponse, type GetTallyResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { DEVNET_PARAMS } from '../../scripts/devnet-plan.js';
import { devnetCli, putFinal, type PutOutput } from '../helpers/cli.js';
import { startDevnet, type Devnet } from '../helpers/devnet.js';
import { pollUntil } from '../helpers/poll.js';
import { logSeedOnFailure, testRandom } from '../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('e2e/rewards-devnet.test.ts');
logSeedOnFailure(test);

const LAZY = 'storer-1';
let devnet: Devnet;
const work = mkdtempSync(join(tmpdir(), 'wolk-rewards-'));
const cli = devnetCli(work, () => devnet.endpoints().gateway);

/** `wolk put` followed to finality (test/helpers/cli.ts); every upload must end final, with its round. */
async function putFinalRound(file: string, uri: string): Promise<PutOutput & { round: string }> {
  const put = await putFinal(cli, file, uri);
  if (put.round === undefined) throw new Error(`${uri}: final without a round`);
  return { ...put, round: put.round };
}

function unary<Res>(f: (md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => f(new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res))));
}

test.before(async () => {
  devnet = await startDevnet(undefined, { WOLK_DEVNET_FAULTS: `${LAZY}:drop-after-commit` });
});

test.after.always(async () => {
  await devnet?.stop();
});

test.serial('a lazy storer is audited invalid, its reputation falls; honest storers are rewarded; all visible through the indexer', async (t) => {
  t.timeout(1_500_000);
  const ep = devnet.endpoints();
  const indexer = new IndexerServiceClient(ep.indexer[0]!, credentials.createInsecure());
  const rewards = new RewardsServiceClient(ep.rewards[0]!, credentials.createInsecure());
  const lazyEndpoint = devnet.processes().find((p) => p.name === LAZY)!.grpc;
  t.teardown(() => {
    indexer.close();
    rewards.close();
  });

  const storers = async (): Promise<NodeRecord[]> => {
    const res = await unary<ListNodesResponse>((md, o, cb) => indexer.listNodes({ role: NodeRole.NODE_ROLE_STORER, pageSize: 100, pageToken: '' }, md, o, cb));
    return res.nodes;
  };
  // The indexer may still be catching up at start.
  const registry = await pollUntil(storers, { what: 'the indexer to list storers', deadlineMs: 120_000, intervalMs: 1000, until: (r) => r.length > 0 });
  t.is(registry.length, 6, 'the indexer lists the 6 devnet storers');
  const lazy = registry.find((n) => n.endpoint === lazyEndpoint);
  t.truthy(lazy, `the indexer knows ${LAZY} at ${lazyEndpoint}`);
  const lazyId = Buffer.from(lazy!.id).toString('hex');
  t.true(registry.every((n) => n.reputationPpm === 1_000_000 && n.balance === 0n), 'every storer starts at full reputation with nothing earned');

  await cli('keygen');
  await cli('claim', 'alice');

  // Upload until the lazy storer committed to files in at least 4 different blocks: each block is
  // audited only if the (single) verifier's sortition selects it for its reward round (~65 %).
  const blocksWithLazy = new Set<string>();
  const honest = new Set<string>();
  const uploads: { round: string; storers: string[] }[] = [];
  for (let i = 0; i < 16 && blocksWithLazy.size < 4; i++) {
    const file = join(work, `f${i}.bin`);
    writeFileSync(file, seeded.bytes(20_000 + i * 1000));
    const put = await putFinalRound(file, `wolk://alice/audit/f${i}.bin`);
    uploads.push({ round: put.round, storers: put.storers });
    if (put.storers.includes(lazyId)) {
      blocksWithLazy.add(put.round);
      for (const s of put.storers) if (s !== lazyId) honest.add(s);
    }
  }
  t.log(`uploads: ${uploads.map((u) => `round ${u.round} → ${u.storers.map((s) => s.slice(0, 8)).join(',')}`).join('; ')}`);
  t.true(blocksWithLazy.size >= 1, `${LAZY} committed to some of the uploaded files`);

  // Wait (on chain, through the indexer) until the lazy storer's reputation fell and an honest storer
  // committed with it was credited.
  const fell = (view: NodeRecord[]) => (view.find((n) => Buffer.from(n.id).toString('hex') === lazyId)?.reputationPpm ?? 1_000_000) < 1_000_000;
  const credited = (view: NodeRecord[]) => view.some((n) => honest.has(Buffer.from(n.id).toString('hex')) && n.balance > 0n);
  const describeView = (view: NodeRecord[]) =>
    view.map((n) => `${Buffer.from(n.id).toString('hex').slice(0, 8)}${Buffer.from(n.id).toString('hex') === lazyId ? '(lazy)' : ''} rep=${n.reputationPpm} bal=${n.balance}`).join('; ');
  const view = await pollUntil(storers, {
    what: `${LAZY}'s reputation on chain to fall below full (audit depth Q = ${DEVNET_PARAMS.auditDepth}) and an honest storer committed with it to be credited for valid answers`,
    deadlineMs: 600_000,
    intervalMs: 2000,
    until: (v) => fell(v) && credited(v),
    describe: describeView,
  });
  t.log(`storers: ${describeView(view)}`);
  t.true(fell(view), `${LAZY}'s reputation on chain fell below full (audit depth Q = ${DEVNET_PARAMS.auditDepth})`);
  t.true(credited(view), 'an honest storer committed with it was credited for valid answers');
  const lazyNow = view.find((n) => Buffer.from(n.id).toString('hex') === lazyId)!;
  // The lazy storer drops what it commits to, at commit time. Block chunks can reach it again after
  // that: several proposers place their blocks' chunks (SetShares, placement goes on past the
  // proposer's budget) and blocks of one round share transaction and state-tree chunks, so it may hold
  // and prove a few of them. It must still have failed most of its audits and earned less than the
  // best honest storer.
  const bestHonestBalance = view.filter((n) => honest.has(Buffer.from(n.id).toString('hex'))).reduce((m, n) => (n.balance > m ? n.balance : m), 0n);
  t.true(lazyNow.balance < bestHonestBalance, `the lazy storer earned ${lazyNow.balance}, less than the best honest storer's ${bestHonestBalance}`);
  // (Honest storers' reputation is not asserted: on a machine at load 20 an honest storer may miss a time box.)
  const best = Math.max(...view.filter((n) => honest.has(Buffer.from(n.id).toString('hex'))).map((n) => n.reputationPpm));
  t.true(best > lazyNow.reputationPpm, 'some honest storer stands above the lazy one');

  // The rewards service's own view: invalid or unreachable answers of the lazy storer, and at least one
  // audited round with the lazy storer whose Reward is final.
  const rep = await unary<GetReputationResponse>((md, o, cb) => rewards.getReputation({ storerId: Buffer.from(lazy!.id) }, md, o, cb));
  t.true(rep.totals!.invalid + rep.totals!.unreachable > rep.totals!.valid, `the verifier recorded mostly failed audits of ${LAZY} (valid ${rep.totals!.valid}, invalid ${rep.totals!.invalid}, unreachable ${rep.totals!.unreachable})`);
  // Audited rounds are drawn by the verifier's sortition, and the lazy storer also commits to blocks'
  // own chunk sets (CommitChunks), so the Reward that lowered it may be for any block since the first
  // upload: scan every round from there to the tip, until a finalized Reward tallies the lazy storer.
  const consensus = new ConsensusServiceClient(ep.consensus[0]!, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  t.teardown(() => consensus.close());
  const firstRound = uploads.reduce((m, u) => (BigInt(u.round) < m ? BigInt(u.round) : m), BigInt(uploads[0]!.round));
  const finalizedTallies = new Map<bigint, GetTallyResponse>();
  const lazyTallied = (x: GetTallyResponse) => x.reward!.tallies.some((y) => Buffer.from(y.storerId).toString('hex') === lazyId && y.invalid + y.unreachable > 0);
  const finalized = await pollUntil(
    async () => {
      const tip = (await unary<GetStatusResponse>((md, o, cb) => consensus.getStatus({}, md, o, cb))).finalizedRound;
      for (let r = firstRound; r <= tip; r++) {
        if (finalizedTallies.has(r)) continue;
        const tally = await unary<GetTallyResponse>((md, o, cb) => rewards.getTally({ auditedRound: r }, md, o, cb)).catch(() => null);
        if (tally?.finalized) finalizedTallies.set(r, tally);
      }
      return [...finalizedTallies.values()].find(lazyTallied);
    },
    {
      what: 'GetTally to report finalized a Reward for a block with the lazy storer',
      deadlineMs: 300_000,
      intervalMs: 3000,
      describe: () => `finalized Rewards for audited rounds ${[...finalizedTallies.keys()].join(', ') || 'none'}, none tallying failed answers of ${LAZY}`,
    },
  );
  t.log(`finalized Rewards for audited rounds ${[...finalizedTallies.keys()].join(', ')}`);
  const lt = finalized.reward!.tallies.find((x) => Buffer.from(x.storerId).toString('hex') === lazyId)!;
  t.true(lt.invalid + lt.unreachable > 0, 'the finalized Reward tallies failed answers of the lazy storer');

  // Block chunks: finalized blocks carry storers' commitments to their own chunk set (CommitChunks,
  // header chunk_commitments_hash), and the audit challenged every chunk of a committed set: a Reward's
  // tally for a chunk committer counts at least every chunk id, and honest committers' chunk proofs are
  // valid (the lazy storer drops the set's chunks after committing, so its answers are not).
  const blockAt = (round: bigint) => unary<GetBlockResponse>((md, o, cb) => consensus.getBlock({ selector: { $case: 'round', value: round } }, md, o, cb)).then((r) => r.block!.block!);
  const uploadRounds = [...new Set(uploads.map((u) => BigInt(u.round)))];
  const withCommitments: bigint[] = [];
  for (const r of uploadRounds) {
    const b = await blockAt(r);
    const cc = b.newChunks?.chunkCommitments ?? [];
    if (cc.length > 0) {
      withCommitments.push(r);
      t.is(b.header!.chunkCommitmentsHash.length, 32, `block ${r} names its chunk commitments in the header`);
      for (const c of cc) t.is(Buffer.from(c.filehash).toString('hex'), Buffer.from(b.header!.newChunksHash).toString('hex'));
    }
  }
  t.log(`blocks with chunk commitments: ${withCommitments.length} of ${uploadRounds.length} upload blocks`);
  t.true(withCommitments.length > 0, 'finalized blocks carry storers\' commitments to their chunk sets');
  let chunkAudits = 0;
  let honestChunkValid = 0;
  let chunkSamples = 0;
  for (const [round, tally] of finalizedTallies) {
    const b = await blockAt(round);
    const nc = b.newChunks!;
    if (nc.chunkIds.length === 0) {
      // A committed chunk set without chunk ids has nothing to challenge: its committers are tallied
      // only for files they committed to in that block (none in a block without transactions). Such a
      // Reward is submitted for its standing audits (docs/rewards.md "Standing audits").
      for (const c of nc.chunkCommitments) {
        const id = Buffer.from(c.storerId).toString('hex');
        const files = nc.files.filter((f) => f.commitments.some((x) => Buffer.from(x.storerId).toString('hex') === id)).length;
        const x = tally.reward!.tallies.find((y) => Buffer.from(y.storerId).toString('hex') === id);
        t.is(x ? x.valid + x.invalid + x.unreachable : 0, files, `the Reward of round ${round} tallies chunk committer ${id.slice(0, 8)} of an empty chunk set for its files only`);
      }
      continue;
    }
    for (const c of nc.chunkCommitments) {
      const id = Buffer.from(c.storerId).toString('hex');
      const x = tally.reward!.tallies.find((y) => Buffer.from(y.storerId).toString('hex') === id)!;
      t.truthy(x, `the Reward of round ${round} tallies chunk committer ${id.slice(0, 8)}`);
      t.true(x.valid + x.invalid + x.unreachable >= nc.chunkIds.length, 'every chunk of the set was challenged');
      chunkAudits++;
      if (id !== lazyId && x.valid >= nc.chunkIds.length) honestChunkValid++;
    }
    // A storer's sample is its first valid answer (lib/chain/reward.ts buildReward): file answers come
    // before chunk answers, so a chunk committer that also holds a file of the block is sampled by its
    // file. One that holds none of the block's files and answered is sampled by a chunk proof.
    for (const c of nc.chunkCommitments) {
      const id = Buffer.from(c.storerId).toString('hex');
      const holdsFile = nc.files.some((f) => f.commitments.some((x) => Buffer.from(x.storerId).toString('hex') === id));
      const x = tally.reward!.tallies.find((y) => Buffer.from(y.storerId).toString('hex') === id);
      if (holdsFile || !x || x.valid === 0) continue;
      t.true(
        tally.reward!.samples.some((s) => s.proof?.$case === 'share' && Buffer.from(s.proof.value.storerId).toString('hex') === id),
        `the Reward of round ${round} carries a chunk proof sample of chunk committer ${id.slice(0, 8)} (no file of the block, ${x.valid} valid)`,
      );
      chunkSamples++;
    }
  }
  t.log(`finalized audits of chunk committers: ${chunkAudits}, honest ones with every chunk proven: ${honestChunkValid}, chunk proof samples checked: ${chunkSamples}`);
  t.true(chunkAudits > 0, 'a finalized Reward audited a block\'s chunk set');
  t.true(honestChunkValid > 0, 'an honest chunk committer proved every chunk');

  // Reputation in storer selection: files uploaded now are weighed by stake × reputation as of their
  // seed round. Each commitment's weight (claimed by the storer, checked by the gateway, accepted by
  // the ledger) is recomputed here from the registry of its seed round read from consensus.
  const genesis = loadGenesis(join(devnet.dir, 'genesis.json'));
  const tau = genesis.params.storerCommitteeSize;
  const chainReg = chainRegistry(ep.consensus);
  t.teardown(() => chainReg.close());
  let lazySeen = false;
  let sawLowered = false;
  for (let i = 0; i < 4 && !(lazySeen && sawLowered); i++) {
    const file = join(work, `after${i}.bin`);
    writeFileSync(file, seeded.bytes(12_000));
    const put = await putFinalRound(file, `wolk://alice/audit/after${i}.bin`);
    const locs = await pollUntil(() => unary<GetFileLocationsResponse>((md, o, cb) => indexer.getFileLocations({ filehash: Buffer.from(put.filehash, 'hex') }, md, o, cb)), {
      what: `the indexer to have the new file ${put.filehash}`,
      deadlineMs: 120_000,
      intervalMs: 1000,
    });
    for (const loc of locs.locations) {
      const c = loc.commitment!;
      const reg = await chainReg.at(Number(c.seedRound), c.seed);
      // (A seed round from just before the Reward was final still has the full registry.)
      if (reg.totalWeight < 6000n) {
        sawLowered = true;
        t.true(reg.lookup(lazy!.id)!.stake < 1000n, `${LAZY} weighs less than its stake at seed round ${c.seedRound}`);
      }
      const own = reg.lookup(c.storerId)!.stake;
      t.is(c.weight, sortition(c.vrf!.output, own, reg.totalWeight, Math.min(tau, Number(reg.totalWeight))), 'the weight is the effective-stake sortition');
      if (Buffer.from(c.storerId).toString('hex') === lazyId) lazySeen = true;
    }
  }
  t.true(sawLowered, 'uploads after the fall were weighed by the lowered registry');
  t.log(`after the fall: ${LAZY} ${lazySeen ? 'committed to a file, weighed by its lowered stake' : 'was not selected in 4 uploads'}`);
});
