// Reward transactions against the real ledger (docs/rewards.md): an honest Reward for the block Q rounds
// back is included, credits the storers with valid answers (AccountRecord.balance) and moves every
// tallied storer's reputation (node.reputation_ppm); forged ones are refused with the reason: an altered
// branch, a wrong verifier (not a rewards node, or a credential that sortition does not give), a tally
// that does not match the branches, a second Reward in one block, a second Reward for the same round.
import test from 'ava';
import type { FileAudit } from '../../../gen/wolk/common/v1/storage.js';
import type { Reward, SampledProof, SignedTransaction, Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { validateGenesis, type Genesis } from '../../../lib/chain/genesis.js';
import { buildReward, DEFAULT_REWARD_PARAMS, objectChallenge, proveVerifier, type ObjectOutcome } from '../../../lib/chain/reward.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { blockHash } from '../../../services/consensus/agreement/codec.js';
import { Ledger, newChunksHash, newChunksOf, txRootOf } from '../../../services/consensus/ledger/ledger.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { blockFromHeader, encodeLedgerPart } from '../../../services/consensus/wire.js';
import type { Block as PbBlock, BlockHeader, Certificate as PbCertificate } from '../../../gen/wolk/common/v1/chain.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { kvNodeSource } from '../../../lib/smt/index.js';
import type { VerifiedCheckpoint } from '../../../services/consensus/checkpoint.js';
import { blockOf, commitment, finalizeBlock, refusedNext, runNext, makeNet, newKey, newUser, setBucket, setKey, setName, signTx, type Net } from './ledger-fixture.js';
import { answerFile, makeFile, replicaRoot, type HeldFile } from '../rewards/world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/consensus/ledger-reward.test.ts');
logSeedOnFailure(test);

const crypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockHash>[0];
const VERIFIER_STAKE = 10n;

/** Assembles, validates and commits a block of `txs` with the given seed (agreement is not under test). */
const finalize = (ledger: Ledger, txs: SignedTransaction[], seed: Uint8Array = new Uint8Array(seeded.bytes(32))) => finalizeBlock(ledger, txs, seed);

const run = runNext;
const refused = refusedNext;

interface Scene {
  readonly net: Net;
  readonly ledger: Ledger;
  readonly kv: KvStore;
  readonly verifier: NodeKey;
  readonly files: HeldFile[];
  readonly audited: number;
  readonly rewardRound: number;
  readonly prevSeed: Uint8Array;
  readonly alice: ReturnType<typeof newUser>;
  /** Storer 0 answers, storer 1 dropped its data (invalid), storer 2 is silent (unreachable). */
  honest(): Reward;
  rewardTx(r: Reward, from?: NodeKey, nonce?: bigint): SignedTransaction;
}

/** A ledger whose genesis has one rewards node; block A holds 2 files committed by storers 0..2; the chain is at R − 1 with a seed that selects the verifier for R. */
async function scene(params: Partial<Genesis['params']> = {}): Promise<Scene> {
  const base = makeNet();
  const verifier = newKey();
  const genesis: Genesis = {
    ...base.genesis,
    params: { ...base.genesis.params, ...params },
    nodes: [...base.genesis.nodes, { id: verifier.id, vrfPublicKey: toHex(verifier.vrfPublicKey), endpoint: '127.0.0.1:7100', roles: ['rewards'], stake: String(VERIFIER_STAKE) }],
  };
  const net = { ...base, genesis };
  const Q = genesis.params.auditDepth;
  const kv = createMemoryKv();
  const ledger = await Ledger.open({ kv, genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
  const alice = newUser();
  await finalize(ledger, [setName(alice, 'alice'), setBucket(alice, 'alice', 'docs')]);
  const files = [makeFile(3 * 4096 + 100), makeFile(4096)];
  const seedRound = ledger.tip().round;
  const seed = ledger.seedAt(seedRound)!;
  const total = BigInt(net.storers.length) * 1000n;
  const storers = net.storers.slice(0, 3);
  const setKeys = files.map((f, i) => {
    const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
    const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
    return setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key: `f${i}`, file: info }, cs);
  });
  const a = await finalize(ledger, setKeys);
  if (a.included.length !== 2) throw new Error(`setup: ${a.rejected.map((r) => r.error.message).join('; ')}`);
  const audited = ledger.tip().round;
  const rewardRound = audited + Q;
  while (ledger.tip().round < rewardRound - 2) await finalize(ledger, []);
  // Block R − 1 gets a seed under which the verifier's sortition selects it for R.
  let prevSeed: Uint8Array;
  do prevSeed = new Uint8Array(seeded.bytes(32));
  while (proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers) === null);
  await finalize(ledger, [], prevSeed);

  const honest = (): Reward => {
    const cred = proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers)!;
    const outcomes: ObjectOutcome[] = [];
    storers.forEach((s, si) =>
      files.forEach((f) => {
        const base = { kind: 'file' as const, storerId: s.signPublicKey, objectId: f.filehash };
        if (si === 1) outcomes.push({ ...base, outcome: 'invalid', reason: 'NOT_FOUND' });
        else if (si === 2) outcomes.push({ ...base, outcome: 'unreachable' });
        else outcomes.push({ ...base, outcome: 'valid', proof: answerFile(s, f, objectChallenge(prevSeed, audited, f.filehash, s.signPublicKey), DEFAULT_REWARD_PARAMS.leavesPerFile) });
      }),
    );
    return buildReward({ auditedRound: audited, verifier: cred, challengeSeed: prevSeed, outcomes, samplesPerStorer: DEFAULT_REWARD_PARAMS.samplesPerStorer });
  };
  const rewardTx = (r: Reward, from: NodeKey = verifier, nonce = 0n): SignedTransaction => {
    const tx: Transaction = { sender: Buffer.from(from.signPublicKey), nonce, fee: 0n, chainId: genesis.network, body: { $case: 'reward', value: r } };
    return signTx({ publicKey: from.signPublicKey, secretKey: from.signSecretKey }, tx);
  };
  return { net, ledger, kv, verifier, files, audited, rewardRound, prevSeed, alice, honest, rewardTx };
}

test('an honest Reward is included: valid answers are credited, reputation follows the rule, the round is rewarded once', async (t) => {
  const s = await scene();
  const [s0, s1, s2] = s.net.storers;
  const r = s.honest();
  const { included, rejected } = await finalize(s.ledger, [s.rewardTx(r)]);
  t.deepEqual(rejected.map((x) => x.error.message), []);
  t.is(included.length, 1);
  t.is(s.ledger.tip().round, s.rewardRound);
  const state = s.ledger.latestState();
  const a0 = await readAccount(state, s0!.signPublicKey);
  const a1 = await readAccount(state, s1!.signPublicKey);
  const a2 = await readAccount(state, s2!.signPublicKey);
  t.is(a0.balance, 2n * DEFAULT_REWARD_PARAMS.rewardPerValid, 'two valid file answers');
  t.is(a0.node?.reputationPpm, 1_000_000);
  t.is(a1.balance, 0n, 'a storer with invalid proofs keeps its balance (0), earns nothing');
  t.is(a1.node?.reputationPpm, 875_000, 'all invalid: 1/8 of the way to 0');
  t.is(a2.balance, 0n);
  t.is(a2.node?.reputationPpm, 937_500, 'all unreachable: counted half');
  t.is((await readAccount(state, s.net.storers[3]!.signPublicKey)).node?.reputationPpm, 1_000_000, 'a storer not in the audited block is untouched');
  t.is((await readAccount(state, s.verifier.signPublicKey)).nonce, 1n);

  // A second Reward for the same audited round, later in its inclusion window: refused.
  const again = s.rewardTx(s.honest(), s.verifier, 1n);
  await refused(t, s.ledger, again, new RegExp(`round ${s.audited} was already rewarded`));
});

test('forged Rewards are refused: altered branch, wrong verifier, tally not matching the branches', async (t) => {
  const s = await scene();
  const r = s.honest();
  await t.notThrowsAsync(run(s.ledger, s.rewardTx(r)), 'the honest one applies');

  // Altered branch: one sibling of the sampled file branch replaced.
  const sample = r.samples[0]!;
  const audit = (sample.proof as { $case: 'file'; value: FileAudit }).value;
  const leaf = audit.leaves[0]!;
  const forgedLeaf = { ...leaf, fileBranch: { ...leaf.fileBranch!, siblings: leaf.fileBranch!.siblings.map((b, i) => (i === 0 ? seeded.bytes(32) : b)) } };
  const altered: Reward = { ...r, samples: [{ proof: { $case: 'file', value: { ...audit, leaves: [forgedLeaf, ...audit.leaves.slice(1)] } } } as SampledProof, ...r.samples.slice(1)] };
  await refused(t, s.ledger, s.rewardTx(altered), /file branch fails/);

  // Wrong verifier: a key that is not a rewards node (a storer) submits the honest body.
  await refused(t, s.ledger, s.rewardTx(r, s.net.storers[3]!), /not a registered rewards verifier/);
  // Wrong verifier: a non-node key.
  await refused(t, s.ledger, s.rewardTx(r, newKey()), /not a registered rewards verifier/);
  // Wrong verifier: the registered verifier with a credential of another round (not the VRF of R).
  const otherCred = proveVerifier(s.verifier.vrfSecretKey, s.prevSeed, s.rewardRound + 1, { stake: 1n, totalStake: 1n }, 1)!;
  await refused(t, s.ledger, s.rewardTx({ ...r, verifier: otherCred }), /wrong verifier: verifier VRF proof is not valid/);
  // Wrong verifier: an inflated weight.
  await refused(t, s.ledger, s.rewardTx({ ...r, verifier: { ...r.verifier!, weight: r.verifier!.weight + 1 } }), /wrong verifier: verifier claims weight/);

  // Tally not matching the branches: storer 1 claimed valid without a sampled branch.
  const id1 = Buffer.from(s.net.storers[1]!.signPublicKey);
  const inflated: Reward = { ...r, tallies: r.tallies.map((x) => (Buffer.from(x.storerId).equals(id1) ? { ...x, valid: 2, invalid: 0 } : x)) };
  await refused(t, s.ledger, s.rewardTx(inflated), /tally does not match the samples/);
  // A tally that does not sum to the storer's objects.
  const short: Reward = { ...r, tallies: r.tallies.map((x) => (Buffer.from(x.storerId).equals(id1) ? { ...x, invalid: 1 } : x)) };
  await refused(t, s.ledger, s.rewardTx(short), /counts 1 objects, it is responsible for 2/);
  // A storer left out of the tallies.
  await refused(t, s.ledger, s.rewardTx({ ...r, tallies: r.tallies.filter((x) => !Buffer.from(x.storerId).equals(id1)) }), /2 tallies, block \d+ has 3 committed storers/);
  // Another challenge seed than seed(R − 1).
  await refused(t, s.ledger, s.rewardTx({ ...r, challengeSeed: seeded.bytes(32) }), /challenge_seed is not the seed of round/);

  // None of these changed state: the honest one still applies.
  await t.notThrowsAsync(run(s.ledger, s.rewardTx(r)));
});

test('a second Reward in one block: validation refuses the block; assembly keeps the second for a later block', async (t) => {
  const s = await scene();
  const first = s.rewardTx(s.honest(), s.verifier, 0n);
  const second = s.rewardTx(s.honest(), s.verifier, 1n);
  const txs = [first, second];
  const nc = newChunksOf(txs);
  const body = encodeLedgerPart({ stateRoot: Buffer.alloc(32), txRoot: Buffer.from(txRootOf(txs)), newChunksHash: Buffer.from(newChunksHash(nc)), timestampMs: BigInt(Date.now()) });
  const v = await s.ledger.validate(blockOf(s.ledger, body, new Uint8Array(seeded.bytes(32))), { txs, newChunks: nc });
  t.false(v.valid);
  t.regex(v.reason ?? '', /second Reward in the block \(transactions 0 and 1\)/);

  const { included, rejected } = await finalize(s.ledger, txs);
  t.is(included.length, 1, 'one Reward per block');
  t.is(rejected.length, 1);
  t.regex(rejected[0]!.error.message, /at most one Reward/);
  t.true(rejected[0]!.error.future, 'kept in the mempool: it may fit a later block');
  // Here the second one audits the same round, so in the next block it is refused for good.
  await refused(t, s.ledger, second, /already rewarded/);
});

test('timing: a Reward before its reward round or after the inclusion window is refused', async (t) => {
  const s = await scene();
  const r = s.honest();
  // Chain at R − 1: the block being built is R, the earliest allowed. One round less is not reachable
  // here, so check the window's end instead: finalize maxDelay + 1 empty blocks.
  for (let i = 0; i <= DEFAULT_REWARD_PARAMS.maxDelay; i++) await finalize(s.ledger, []);
  await refused(t, s.ledger, s.rewardTx(r), /expired/);
});

test('timing: genesis params.rewardMaxDelay sets the inclusion window (a Reward past the default 8 rounds still applies inside it)', async (t) => {
  const maxDelay = 12;
  t.true(maxDelay > DEFAULT_REWARD_PARAMS.maxDelay);
  const late = await scene({ rewardMaxDelay: maxDelay });
  for (let i = 0; i < maxDelay; i++) await finalize(late.ledger, []);
  // The block being built is R + maxDelay: the last one allowed.
  await t.notThrowsAsync(run(late.ledger, late.rewardTx(late.honest())));
  const expired = await scene({ rewardMaxDelay: maxDelay });
  for (let i = 0; i <= maxDelay; i++) await finalize(expired.ledger, []);
  await refused(t, expired.ledger, expired.rewardTx(expired.honest()), /expired: reward round \d+ \+ 12 </);
  t.throws(() => validateGenesis({ ...late.net.genesis, params: { ...late.net.genesis.params, rewardMaxDelay: 0 } }), { message: /"params.rewardMaxDelay" must be an integer from 1 to 1024, got 0/ });
  t.throws(() => validateGenesis({ ...late.net.genesis, params: { ...late.net.genesis.params, rewardMaxDelay: 2.5 } }), { message: /rewardMaxDelay/ });
});

test('reputation weighs storer selection: commitments on a seed after the Reward use stake × reputation, those on an older seed the registry of their round', async (t) => {
  const s = await scene();
  await finalize(s.ledger, [s.rewardTx(s.honest())]);
  const R = s.ledger.tip().round;
  const [s0, s1, s2] = s.net.storers;
  // Effective stakes after the Reward: 1000, 875, 937 (937.5 floored), 1000 → total 3812. The committee
  // size (4000) is above the total, so every unit is selected: weight = effective stake.
  const total = 1000n + 875n + 937n + 1000n;
  const info = () => {
    const f = makeFile(5000);
    return { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  };
  const seedR = s.ledger.seedAt(R)!;
  const put = (key: string, file: ReturnType<typeof info>, cs: ReturnType<typeof commitment>[]) => setKey(s.alice, s.net.gateway, { owner: 'alice', collection: 'docs', key, file }, cs);

  const f1 = info();
  const claimsFull = put('full', f1, [commitment(s0!, f1, seedR, R, total, { weight: 1000 }), commitment(s1!, f1, seedR, R, total, { weight: 1000 }), commitment(s2!, f1, seedR, R, total, { weight: 937 })]);
  await refused(t, s.ledger, claimsFull, /claims weight 1000, sortition gives 875/);
  s.alice.nonce -= 1n;

  const f2 = info();
  const weighted = put('weighted', f2, [commitment(s0!, f2, seedR, R, total, { weight: 1000 }), commitment(s1!, f2, seedR, R, total, { weight: 875 }), commitment(s2!, f2, seedR, R, total, { weight: 937 })]);
  await t.notThrowsAsync(run(s.ledger, weighted), 'weights from stake × reputation at the seed round');

  // A request on the seed of round R − 1 (before the Reward was final) is weighed by that round's registry: full reputation.
  s.alice.nonce -= 1n;
  const seedBefore = s.ledger.seedAt(R - 1)!;
  const f3 = info();
  const before = put('before', f3, [0, 1, 2].map((i) => commitment(s.net.storers[i]!, f3, seedBefore, R - 1, 4000n, { weight: 1000 })));
  await t.notThrowsAsync(run(s.ledger, before));
});

// A node started from a checkpoint holds only the headers of the blocks before it; a Reward in a later
// block audits one of those (Q rounds back). Its NewChunks comes from the peers (blockSource), and is
// used only when it matches the header: otherwise the node could not execute the block its peers
// certified and stayed at the checkpoint (devnet e2e state-from-storers, CI).
test('a node started from a checkpoint verifies a Reward auditing a block before it, with the body from its peers checked against the header', async (t) => {
  const s = await scene();
  const tip = s.ledger.tip().round;
  t.true(s.audited < tip, 'the audited block is before the checkpoint');
  const top = (await s.ledger.certifiedBlock(tip))!;
  const ancestors: BlockHeader[] = [];
  for (let r = tip - 1; r >= 0; r--) ancestors.push((await s.ledger.certifiedBlock(r))!.block.header!);
  const checkpoint: VerifiedCheckpoint = {
    header: top.block.header!,
    certificate: top.certificate as PbCertificate,
    ancestors,
    round: tip,
    block: blockFromHeader(crypto, top.block.header),
    verified: true,
  };
  const fromPeers = async (round: number, accept: (b: PbBlock) => boolean, alter = false): Promise<PbBlock | null> => {
    const b = (await s.ledger.certifiedBlock(round))?.block;
    if (!b) return null;
    const body = alter ? { ...b, newChunks: { ...b.newChunks!, files: b.newChunks!.files.slice(1) } } : b;
    return accept(body) ? body : null;
  };
  const open = (blockSource?: (round: number, accept: (b: PbBlock) => boolean) => Promise<PbBlock | null>) =>
    Ledger.open({
      kv: createMemoryKv(),
      genesis: s.net.genesis,
      crypto: { hash: (...p: Uint8Array[]) => sha256(...p) },
      nodeSource: kvNodeSource(s.kv),
      checkpoint,
      ...(blockSource ? { blockSource } : {}),
    });
  const stx = s.rewardTx(s.honest());
  const exec = (l: Ledger) => l.execute(tip + 1, new Uint8Array(l.tipHeader().stateRoot), [stx], false);

  const withPeers = await open((r, accept) => fromPeers(r, accept));
  t.is(withPeers.tip().round, tip);
  await t.notThrowsAsync(exec(withPeers), 'the Reward verifies with the audited block from the peers');

  const without = await open();
  const e1 = await t.throwsAsync(exec(without), { instanceOf: TxError });
  t.regex(e1!.message, new RegExp(`block ${s.audited} is unknown`));

  const lying = await open((r, accept) => fromPeers(r, accept, true));
  const e2 = await t.throwsAsync(exec(lying), { instanceOf: TxError });
  t.regex(e2!.message, new RegExp(`block ${s.audited} is unknown`), 'a body that does not match the header is not used');
});
