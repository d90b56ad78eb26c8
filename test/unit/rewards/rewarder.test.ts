// The Rewarder against a real ledger chain: storers hold real files; one dropped its data (answers
// NOT_FOUND), one is reached but never answers one file (contained, re-audited, then failed) and is
// down for another. The audit of the block Q rounds back tallies them invalid and unreachable, the
// submitted Reward verifies with verifyRewardTx from chain data alone, and the reputation view moves
// by the rule.
import test from 'ava';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { DEFAULT_REWARD_PARAMS, objectChallenge, verifyRewardTx } from '../../../lib/chain/reward.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Rewarder } from '../../../services/rewards/rewarder.js';
import { sharedNonces } from '../../../services/rewards/tx-nonces.js';
import { kvContainmentStore, systemClock } from '../../../services/rewards/containment.js';
import { FULL_REPUTATION_PPM, nextReputation } from '../../../lib/chain/reputation.js';
import { commitment, setKey } from '../consensus/ledger-fixture.js';
import { makeChain, userWithBucket, type TestChain } from '../indexer/chain.js';
import { answerFile, ledgerChainSource, makeFile, newKey, replicaRoot, type HeldFile } from './world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { pollUntil } from '../../helpers/poll.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);
const seeded = testRandom('unit/rewards/rewarder.test.ts');

test('audits the block Q rounds back: dropped data is invalid, silence past the deadline invalid after containment, an outage unreachable, the Reward verifies from chain data', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const files: HeldFile[] = [makeFile(9000), makeFile(4096)];
  const seedRound = chain.ledger.tip().round;
  const seed = chain.ledger.seedAt(seedRound)!;
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  await chain.finalize(
    files.map((f, i) => {
      const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
      const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
      return setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: `f${i}`, file: info }, cs);
    }),
  );
  const audited = chain.ledger.tip().round;
  const Q = 3;
  for (let i = 0; i < Q - 1; i++) await chain.finalize([]);
  const byHash = new Map(files.map((f) => [Buffer.from(f.filehash).toString('hex'), f]));
  const submitted: SignedTransaction[] = [];
  const verifierKey = newKey();
  const params = { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10 };
  const kv = createMemoryKv();
  // The production deadline (1 s): the honest storers' answers are computed in this process, and on a
  // starved CI machine a 100 ms deadline put them into containment (the silent storer's four asks take
  // ~4 s of the 5 s time box instead).
  const policy = { deadlineMs: 1000, chunkAllowanceMs: 0, maxRetries: 3, retryDelayMs: 20 };
  let silentAsks = 0;
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
      async verifyFile(id, filehash, challenge, k, signal) {
        const s = storers.find((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)))!;
        if (s === storers[1]) throw Object.assign(new Error('5 NOT_FOUND: no such file'), { code: 5 });
        // storers[2] is reached but never answers files[0] (late: contained, then failed), and is down for files[1] (offline).
        if (s === storers[2] && Buffer.from(filehash).equals(Buffer.from(files[0]!.filehash))) {
          silentAsks++;
          return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true }));
        }
        if (s === storers[2]) throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
        return answerFile(s, byHash.get(Buffer.from(filehash).toString('hex'))!, challenge, k);
      },
      async verifyShare() {
        throw new Error('no chunk sets in this chain');
      },
    },
    kv,
    logger: silentLogger,
    perStorerTimeoutMs: 2000,
    pollMs: 50,
    // Short retry delays (the rule is unit-tested with a manual clock in containment.test.ts).
    containment: { policy, clock: systemClock, store: kvContainmentStore(kv), random: (n) => seeded.bytes(n) },
  });
  const { reward } = await rewarder.tally(undefined, true);
  t.is(Number(reward.auditedRound), audited);
  const tallies = new Map(reward.tallies.map((x) => [Buffer.from(x.storerId).toString('hex'), x]));
  t.like(tallies.get(storers[0]!.id), { valid: 2, invalid: 0, unreachable: 0 });
  t.like(tallies.get(storers[1]!.id), { valid: 0, invalid: 2, unreachable: 0 });
  // Reached but silent: contained, re-audited maxRetries times, then a failure; down: unreachable.
  t.like(tallies.get(storers[2]!.id), { valid: 0, invalid: 1, unreachable: 1 });
  t.is(silentAsks, policy.maxRetries + 1, 'the silent storer was asked once and re-audited maxRetries times');
  t.deepEqual(await kvContainmentStore(kv).list(), [], 'nothing stays contained once the audit decided');
  t.is(submitted.length, 1);

  // The ledger's check, from finalized chain data only.
  const v = verifyRewardTx(submitted[0]!, {
    round: chain.ledger.tip().round + 1,
    params,
    seedAt: (r) => chain.ledger.seedAt(r),
    newChunksAt: () => null,
    lookupVerifier: (id) => (Buffer.from(id).equals(Buffer.from(verifierKey.signPublicKey)) ? { vrfPublicKey: verifierKey.vrfPublicKey, stake: 10n } : undefined),
    totalVerifierStake: 10n,
  });
  t.false(v.ok, 'without the audited block the Reward cannot be checked');
  const nc = (await chain.certified(audited)).block!.newChunks!;
  const v2 = verifyRewardTx(submitted[0]!, {
    round: chain.ledger.tip().round + 1,
    params,
    seedAt: (r) => chain.ledger.seedAt(r),
    newChunksAt: (r) => (r === audited ? nc : null),
    lookupVerifier: (id) => (Buffer.from(id).equals(Buffer.from(verifierKey.signPublicKey)) ? { vrfPublicKey: verifierKey.vrfPublicKey, stake: 10n } : undefined),
    totalVerifierStake: 10n,
  });
  t.true(v2.ok, v2.ok ? '' : v2.reason);

  t.is((await rewarder.reputation(storers[0]!.signPublicKey)).reputationPpm, 1_000_000);
  t.is((await rewarder.reputation(storers[1]!.signPublicKey)).reputationPpm, 875_000);
  t.is((await rewarder.reputation(storers[2]!.signPublicKey)).reputationPpm, nextReputation(FULL_REPUTATION_PPM, { valid: 0, invalid: 1, unreachable: 1 }));
  t.is((await rewarder.getTally(audited)).reward!.tallies.length, 3);
  await t.throwsAsync(rewarder.getTally(audited - 1), { message: /no audit of round/ });
});

test('GetTally reports finalized once the Reward is in a block R..R+maxDelay; pending Rewards get consecutive nonces; an empty block is not rewarded', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const f = makeFile(5000);
  const seedRound = chain.ledger.tip().round;
  const seed = chain.ledger.seedAt(seedRound)!;
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: 'f', file: info }, cs)]);
  const audited = chain.ledger.tip().round;
  await chain.finalize([]); // audited + 1: empty
  await chain.finalize([]);
  const Q = 2;
  const params = { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10 };
  const submitted: SignedTransaction[] = [];
  // Blocks the chain reports beyond the real ledger's tip, carrying submitted transactions.
  const extra = new Map<number, SignedTransaction[]>();
  let tipOverride: number | null = null;
  const rewarder = new Rewarder({
    key: newKey(),
    chainId: chain.net.genesis.network,
    params,
    stake: 10n,
    totalStake: 10n,
    chain: {
      finalizedRound: async () => tipOverride ?? chain.ledger.tip().round,
      block: async (r) => {
        const txs = extra.get(r);
        if (!txs) return chain.certified(r);
        return { block: { header: undefined, txs, newChunks: undefined }, certificate: undefined, blockHash: Buffer.alloc(0) };
      },
      nonceOf: async () => 0n, // the chain has not included any of them yet
      submit: async (stx) => {
        submitted.push(stx);
        return sha256(SignedTransaction.encode(stx).finish());
      },
    },
    prober: {
      verifyFile: async (id, filehash, challenge, k) => answerFile(storers.find((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)))!, f, challenge, k),
      verifyShare: async () => {
        throw new Error('none');
      },
    },
    kv: createMemoryKv(),
    logger: silentLogger,
    perStorerTimeoutMs: 2000,
    pollMs: 50,
  });
  const R = audited + Q;
  const first = await rewarder.tally(R, true);
  t.is(first.txId.length, 32);
  const second = await rewarder.tally(R, true);
  t.is(submitted.length, 2);
  t.is(submitted[0]!.tx!.nonce, 0n);
  t.is(submitted[1]!.tx!.nonce, 1n, 'the first is still pending: the next nonce follows it');
  t.false((await rewarder.getTally(audited)).finalized, 'not in any block yet');
  // The audit of the empty block after it: nothing to reward, nothing submitted.
  const empty = await rewarder.tally(R + 1, true);
  t.is(empty.reward.tallies.length, 0);
  t.is(empty.txId.length, 0);
  t.is(submitted.length, 2);
  // The second submission lands in block R + 1 (the stored tally is the last one run for the round).
  tipOverride = R + 1;
  extra.set(R + 1, [submitted[1]!]);
  const got = await rewarder.getTally(audited);
  t.deepEqual(Buffer.from(got.txId), Buffer.from(second.txId));
  t.true(got.finalized);
  // Kept: no chain reads needed any more.
  extra.clear();
  tipOverride = 0;
  t.true((await rewarder.getTally(audited)).finalized);
});

test('after a restart, an audit left with a contained storer resumes from its misses: a storer answering now passes (the sample answers the round\'s challenge); an expired containment is released', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const f = makeFile(6000);
  // Enough history that a round can lie beyond the Reward window (maxDelay).
  for (let i = 0; i < 8; i++) await chain.finalize([]);
  const seedRound = chain.ledger.tip().round;
  const seed = chain.ledger.seedAt(seedRound)!;
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: 'f', file: info }, cs)]);
  const audited = chain.ledger.tip().round;
  const Q = 2;
  await chain.finalize([]);
  const params = { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10 };
  // What the previous life of the service left: storers[0] contained on this file after 2 misses, and
  // an object of a round whose Reward can no longer be included.
  const kv = createMemoryKv();
  const store = kvContainmentStore(kv);
  const base = { kind: 'file' as const, late: 2, misses: 2, since: 0, lastReason: 'no answer within the 100 ms deadline' };
  await store.update(
    [
      { ...base, storerId: storers[0]!.signPublicKey, objectId: f.filehash, auditedRound: audited },
      { ...base, storerId: storers[1]!.signPublicKey, objectId: f.filehash, auditedRound: audited - params.maxDelay },
    ],
    [],
  );
  const asked: { storer: number; challenge: Buffer }[] = [];
  const submitted: SignedTransaction[] = [];
  const verifierKey = newKey();
  const rewarder = new Rewarder({
    key: verifierKey,
    chainId: chain.net.genesis.network,
    params,
    stake: 10n,
    totalStake: 10n,
    chain: ledgerChainSource(chain, async (stx) => {
      submitted.push(stx);
      return new Uint8Array(32).fill(2);
    }),
    prober: {
      async verifyFile(id, _filehash, challenge, k) {
        const i = storers.findIndex((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)));
        asked.push({ storer: i, challenge: Buffer.from(challenge) });
        return answerFile(storers[i]!, f, challenge, k);
      },
      async verifyShare() {
        throw new Error('no chunk sets in this chain');
      },
    },
    kv,
    logger: silentLogger,
    perStorerTimeoutMs: 2000,
    pollMs: 20,
    containment: { policy: { deadlineMs: 500, chunkAllowanceMs: 0, maxRetries: 3, retryDelayMs: 10 }, clock: systemClock, store, random: (n) => seeded.bytes(n) },
  });
  rewarder.start();
  t.teardown(() => rewarder.stop());
  await pollUntil(async () => submitted.length, { what: 'the resumed audit to submit its Reward', deadlineMs: 20_000, intervalMs: 20, until: (n) => n > 0 });
  await rewarder.stop();
  const reward = SignedTransaction.decode(SignedTransaction.encode(submitted[0]!).finish()).tx!.body!;
  if (reward.$case !== 'reward') return t.fail('not a Reward');
  t.is(Number(reward.value.auditedRound), audited);
  for (const s of storers) t.like(reward.value.tallies.find((x) => Buffer.from(x.storerId).equals(Buffer.from(s.signPublicKey))), { valid: 1, invalid: 0, unreachable: 0 });
  const canonical = Buffer.from(objectChallenge(chain.ledger.seedAt(audited + Q - 1)!, audited, f.filehash, storers[0]!.signPublicKey));
  const toFirst = asked.filter((a) => a.storer === 0).map((a) => a.challenge);
  t.is(toFirst.length, 2, 'storers[0]: one re-audit, then the round\'s challenge for the sample');
  t.false(toFirst[0]!.equals(canonical), 'the re-audit asked a fresh challenge');
  t.true(toFirst[1]!.equals(canonical), 'the sample answers the round\'s challenge');
  const sample = reward.value.samples.find((s) => s.proof?.$case === 'file' && Buffer.from(s.proof.value.storerId).equals(Buffer.from(storers[0]!.signPublicKey)));
  t.true(sample?.proof?.$case === 'file' && Buffer.from(sample.proof.value.challenge).equals(canonical));
  t.deepEqual(await store.list(), [], 'the resumed one was released when it passed, the expired one at start');
});

test('with nonces shared with the repairer, a dropped Reward holds numbering only until holdMs: the next Reward takes the chain\'s nonce again', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const f = makeFile(5000);
  const seedRound = chain.ledger.tip().round;
  const seed = chain.ledger.seedAt(seedRound)!;
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: 'f', file: info }, cs)]);
  const audited = chain.ledger.tip().round;
  const Q = 2;
  for (let i = 0; i < Q - 1; i++) await chain.finalize([]);
  const key = newKey();
  const submitted: bigint[] = [];
  // The chain never includes any of them (the account's nonce stays 0): the first one was dropped.
  const base = ledgerChainSource(chain, async (stx) => {
    submitted.push(stx.tx!.nonce);
    return sha256(SignedTransaction.encode(stx).finish());
  });
  let now = 0;
  const nonces = sharedNonces({ self: key.signPublicKey, chain: base, holdMs: 1000, now: () => now });
  const rewarder = new Rewarder({
    key,
    chainId: chain.net.genesis.network,
    params: { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10 },
    stake: 10n,
    totalStake: 10n,
    chain: nonces.forRewarder(base),
    coordinatedNonces: true,
    prober: {
      verifyFile: async (id, _filehash, challenge, k) => answerFile(storers.find((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)))!, f, challenge, k),
      verifyShare: async () => {
        throw new Error('none');
      },
    },
    kv: createMemoryKv(),
    logger: silentLogger,
    perStorerTimeoutMs: 2000,
    pollMs: 50,
  });
  const R = audited + Q;
  await rewarder.tally(R, true);
  await rewarder.tally(R, true);
  t.deepEqual(submitted, [0n, 1n], 'while pending, numbering continues past the first');
  now += 1001;
  await rewarder.tally(R, true);
  t.deepEqual(submitted, [0n, 1n, 0n], 'the chain did not move for holdMs: start again at its nonce');
});

/** A fresh verifier key holding all the rewards stake (selected every round), auditing Q rounds back. */
const soleVerifier = (chain: TestChain, Q: number) => ({ key: newKey(), chainId: chain.net.genesis.network, params: { ...DEFAULT_REWARD_PARAMS, auditDepth: Q, expectedVerifiers: 10 }, stake: 10n, totalStake: 10n });

/** Rewarder options of the tests whose storers answer when a test lets them: deadlines far off, memory stores. */
const patientAudits = () => ({
  kv: createMemoryKv(),
  logger: silentLogger,
  perStorerTimeoutMs: 60_000,
  pollMs: 20,
  containment: { policy: { deadlineMs: 60_000, chunkAllowanceMs: 0, maxRetries: 1, retryDelayMs: 10 }, clock: systemClock, store: kvContainmentStore(createMemoryKv()), random: (n: number) => seeded.bytes(n) },
});
const noChunks = async (): Promise<never> => {
  throw new Error('no chunk sets in these blocks');
};

test('rounds are audited side by side: a round waiting on a storer does not hold the next round\'s Reward back', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  const files = [makeFile(4500), makeFile(5500)];
  const put = async (f: HeldFile, key: string) => {
    const seedRound = chain.ledger.tip().round;
    const seed = chain.ledger.seedAt(seedRound)!;
    const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
    const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
    await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key, file: info }, cs)]);
    return chain.ledger.tip().round;
  };
  const a1 = await put(files[0]!, 'one');
  const a2 = await put(files[1]!, 'two');
  const Q = 2;
  // The first file's audit waits (a storer answering slowly, within the deadline) until released.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const submitted: number[] = [];
  const byHash = new Map(files.map((f) => [Buffer.from(f.filehash).toString('hex'), f]));
  const rewarder = new Rewarder({
    ...soleVerifier(chain, Q),
    chain: ledgerChainSource(chain, async (stx) => {
      const r = stx.tx!.body!.$case === 'reward' ? Number(stx.tx!.body!.value.auditedRound) : -1;
      submitted.push(r);
      return sha256(SignedTransaction.encode(stx).finish());
    }),
    prober: {
      async verifyFile(id, filehash, challenge, k) {
        const h = Buffer.from(filehash).toString('hex');
        if (h === Buffer.from(files[0]!.filehash).toString('hex')) await gate;
        return answerFile(storers.find((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)))!, byHash.get(h)!, challenge, k);
      },
      verifyShare: noChunks,
    },
    ...patientAudits(),
  });
  t.teardown(() => rewarder.stop());
  // The tip is a2 = a1 + 1: the first tick audits reward round a1 + Q + ... only from tip + 1 on, so
  // step the chain to just before a1's reward round, start, then move on to a2's.
  t.is(a2, a1 + 1);
  while (chain.ledger.tip().round < a1 + Q - 1) await chain.finalize([]);
  rewarder.start();
  await new Promise((r) => setTimeout(r, 200));
  await chain.finalize([]);
  await pollUntil(async () => submitted, { what: `the Reward of audited round ${a2}`, deadlineMs: 20_000, intervalMs: 20, until: (s) => s.includes(a2), describe: (s) => `submitted for audited rounds ${s.join(', ') || 'none'}` });
  t.false(submitted.includes(a1), `round ${a1}'s audit is still waiting`);
  release();
  await pollUntil(async () => submitted, { what: `the Reward of audited round ${a1}`, deadlineMs: 20_000, intervalMs: 20, until: (s) => s.includes(a1), describe: (s) => `submitted for audited rounds ${s.join(', ') || 'none'}` });
  t.deepEqual(submitted, [a2, a1]);
});

test('Tallies of one round asked side by side share one audit: every storer is asked each file once, and all get the same Reward', async (t) => {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'docs');
  const total = nodesWithRole(chain.net.genesis, 'storer').totalStake;
  const storers = chain.net.storers.slice(0, 3);
  const f = makeFile(6000);
  const seedRound = chain.ledger.tip().round;
  const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  const cs = storers.map((s) => commitment(s, info, chain.ledger.seedAt(seedRound)!, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'docs', key: 'shared', file: info }, cs)]);
  const audited = chain.ledger.tip().round;
  const Q = 2;
  while (chain.ledger.tip().round < audited + Q - 1) await chain.finalize([]);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let asks = 0;
  const submitted: SignedTransaction[] = [];
  const rewarder = new Rewarder({
    ...soleVerifier(chain, Q),
    chain: ledgerChainSource(chain, async (stx) => {
      submitted.push(stx);
      return sha256(SignedTransaction.encode(stx).finish());
    }),
    prober: {
      async verifyFile(id, _filehash, challenge, k) {
        asks++;
        await gate;
        return answerFile(storers.find((x) => Buffer.from(x.signPublicKey).equals(Buffer.from(id)))!, f, challenge, k);
      },
      verifyShare: noChunks,
    },
    ...patientAudits(),
  });
  const calls = [rewarder.tally(undefined, false), rewarder.tally(audited + Q, false), rewarder.tally(undefined, true)];
  await pollUntil(async () => asks, { what: 'the audit to ask the storers', deadlineMs: 10_000, intervalMs: 10, until: (n) => n >= storers.length });
  release();
  const results = await Promise.all(calls);
  t.is(asks, storers.length, 'one audit: each storer was asked the file once');
  for (const r of results) t.deepEqual(r.reward, results[0]!.reward);
  t.is(Number(results[0]!.reward.auditedRound), audited);
  t.is(submitted.length, 1, 'only the call that asked to submit did');
  t.is(results[2]!.txId.length, 32);
  t.is(results[0]!.txId.length, 0);
  // Once it is over, the next Tally of that round runs a new audit.
  await rewarder.tally(audited + Q, false);
  t.is(asks, 2 * storers.length);
});
