// Standing audits in the rewards service (docs/rewards.md "Standing audits"): the Rewarder reads the
// selection of reward round R from consensus' GetStateProof answers at R − 1 (each checked against that
// block's state root) and gets exactly the ledger's own selection; it audits those (storer, key) pairs
// with the block's objects (a dropped file invalid, a down storer unreachable after containment), and
// the Reward it submits for an EMPTY audited block carries them and verifies from chain data. Answers
// for another round or another state root are refused.
import test from 'ava';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { StandingOutcome } from '../../../gen/wolk/common/v1/tx.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { DEFAULT_REWARD_PARAMS, verifyRewardTx, type RewardParams } from '../../../lib/chain/reward.js';
import { standingSelection, type StandingTarget } from '../../../lib/chain/standing.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Rewarder } from '../../../services/rewards/rewarder.js';
import { kvContainmentStore, systemClock } from '../../../services/rewards/containment.js';
import { commitment, proofsFrom, setKey } from '../consensus/ledger-fixture.js';
import { makeChain, userWithBucket, type TestChain } from '../indexer/chain.js';
import { answerFile, ledgerChainSource, makeFile, newKey, replicaRoot, type HeldFile } from './world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

logSeedOnFailure(test);
const seeded = testRandom('unit/rewards/standing.test.ts');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pairs = (xs: readonly StandingTarget[]) => xs.map((x) => `${hex(x.storerId)}/${hex(x.stateKey)}`);

/** Six keys held by storers 0..2, then empty blocks: the audited block A commits nothing. */
async function scene(): Promise<{ chain: TestChain; files: Map<string, HeldFile>; audited: number }> {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const files = new Map<string, HeldFile>();
  const seedRound = chain.ledger.tip().round;
  const seed = chain.ledger.seedAt(seedRound)!;
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  await chain.finalize(
    Array.from({ length: 6 }, (_, i) => {
      const f = makeFile(4096 + 100 * i);
      files.set(hex(f.filehash), f);
      const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
      const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
      return setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: `f${i}`, file: info }, cs);
    }),
  );
  await chain.finalize([]);
  return { chain, files, audited: chain.ledger.tip().round };
}

test('the Rewarder audits the ledger\'s standing selection, and its Reward of an empty block verifies with it', async (t) => {
  const { chain, files, audited } = await scene();
  const Q = 2;
  for (let i = 0; i < Q - 1; i++) await chain.finalize([]);
  const R = chain.ledger.tip().round + 1;
  const params: RewardParams = { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10, standingAudits: 4 };
  const storers = chain.net.storers.slice(0, 3);
  const [honest, dropped, down] = storers as [typeof storers[number], typeof storers[number], typeof storers[number]];
  const submitted: SignedTransaction[] = [];
  const verifierKey = newKey();
  const kv = createMemoryKv();
  let downAsks = 0;
  const rewarder = new Rewarder({
    key: verifierKey,
    chainId: chain.net.genesis.network,
    params,
    stake: 10n,
    totalStake: 10n,
    chain: ledgerChainSource(chain, async (stx) => {
      submitted.push(stx);
      return new Uint8Array(32).fill(1);
    }),
    prober: {
      async verifyFile(id, filehash, challenge, k) {
        const s = storers.find((x) => hex(x.signPublicKey) === hex(id))!;
        if (s === dropped) throw Object.assign(new Error('5 NOT_FOUND: no such file'), { code: 5 });
        if (s === down) {
          downAsks++;
          throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
        }
        return answerFile(s, files.get(hex(filehash))!, challenge, k);
      },
      async verifyShare() {
        throw new Error('no chunk sets in this chain');
      },
    },
    kv,
    logger: silentLogger,
    perStorerTimeoutMs: 2000,
    pollMs: 50,
    // The production 1 s deadline: the honest storer's answers are computed in this process, and a 100 ms
    // one can be missed three times in a row on a starved CI machine (the down storer fails at once).
    containment: { policy: { deadlineMs: 1000, chunkAllowanceMs: 0, maxRetries: 2, retryDelayMs: 10 }, clock: systemClock, store: kvContainmentStore(kv), random: (n) => seeded.bytes(n) },
    stateProof: proofsFrom(chain.ledger),
  });

  // The rewarder's selection (proofs over the wire form) is the ledger's (its own tree).
  const prev = (await chain.certified(R - 1)).block!.header!;
  const prevSeed = new Uint8Array(prev.seed);
  const at = (await chain.ledger.rules.stateAt(R - 1))!;
  const ledgers = await standingSelection(prevSeed, R, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, params.standingAudits);
  t.is(ledgers.length, params.standingAudits, 'six keys: every standing audit is found');
  const mine = await rewarder.standingTargets(R, prevSeed, new Uint8Array(prev.stateRoot));
  t.deepEqual(pairs(mine), pairs(ledgers));

  const { reward, txId } = await rewarder.tally(R, true);
  t.is(Number(reward.auditedRound), audited);
  t.is(reward.tallies.length, 0, 'the audited block committed nothing');
  t.is(reward.standing.length, params.standingAudits);
  t.is(txId.length, 32, 'submitted for its standing audits alone');
  t.is(submitted.length, 1);
  reward.standing.forEach((e, i) => {
    const who = hex(e.storerId);
    const want = who === hex(honest.signPublicKey) ? StandingOutcome.STANDING_OUTCOME_VALID : who === hex(dropped.signPublicKey) ? StandingOutcome.STANDING_OUTCOME_INVALID : StandingOutcome.STANDING_OUTCOME_UNREACHABLE;
    t.is(e.outcome, want, `entry ${i}`);
    t.is(e.proof !== undefined, want === StandingOutcome.STANDING_OUTCOME_VALID);
  });
  const downAudits = reward.standing.filter((e) => hex(e.storerId) === hex(down.signPublicKey)).length;
  t.is(downAsks, downAudits * 3, 'a down storer is asked once and re-audited maxRetries times per standing audit');

  const ctx = (standingAt: (r: number) => readonly StandingTarget[] | null) => ({
    round: chain.ledger.tip().round + 1,
    params,
    seedAt: (r: number) => chain.ledger.seedAt(r),
    newChunksAt: () => ({ chunkIds: [], files: [], chunkCommitments: [], repairedChunkSets: [] }),
    lookupVerifier: (id: Uint8Array) => (hex(id) === hex(verifierKey.signPublicKey) ? { vrfPublicKey: verifierKey.vrfPublicKey, stake: 10n } : undefined),
    totalVerifierStake: 10n,
    standingAt,
  });
  const v = verifyRewardTx(submitted[0]!, ctx((r) => (r === R ? ledgers : null)));
  t.true(v.ok, v.ok ? '' : v.reason);
  const other = await standingSelection(new Uint8Array(seeded.bytes(32)), R, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, params.standingAudits);
  if (pairs(other).join() !== pairs(ledgers).join()) t.false(verifyRewardTx(submitted[0]!, ctx((r) => (r === R ? other : null))).ok, 'another selection does not match');

  // The reputation view counts the standing results as the chain does.
  if (reward.standing.some((e) => hex(e.storerId) === hex(dropped.signPublicKey))) t.true((await rewarder.reputation(dropped.signPublicKey)).reputationPpm < 1_000_000);
});

test('state proofs for another round or another state root are refused', async (t) => {
  const { chain } = await scene();
  const R = chain.ledger.tip().round + 1;
  const honest = proofsFrom(chain.ledger);
  const make = (stateProof: typeof honest) =>
    new Rewarder({
      key: newKey(),
      chainId: chain.net.genesis.network,
      params: { ...DEFAULT_REWARD_PARAMS, auditDepth: 2, standingAudits: 2 },
      stake: 10n,
      totalStake: 10n,
      chain: ledgerChainSource(chain, async () => new Uint8Array(32)),
      prober: { verifyFile: async () => Promise.reject(new Error('unused')), verifyShare: async () => Promise.reject(new Error('unused')) },
      kv: createMemoryKv(),
      logger: silentLogger,
      perStorerTimeoutMs: 1000,
      pollMs: 50,
      stateProof,
    });
  const prev = (await chain.certified(R - 1)).block!.header!;
  const seed = new Uint8Array(prev.seed);
  const root = new Uint8Array(prev.stateRoot);
  await t.throwsAsync(make((key) => honest(key, R - 2)).standingTargets(R, seed, root), { message: /answered for round|another state root/ });
  await t.throwsAsync(make(honest).standingTargets(R, seed, new Uint8Array(seeded.bytes(32))), { message: /another state root than the block's/ });
  t.is((await make(honest).standingTargets(R, seed, root)).length, 2);
});
