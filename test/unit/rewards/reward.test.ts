// lib/chain/reward.ts: an honest Reward verifies without contacting a storer; forged ones (altered branch,
// wrong verifier, tally not matching the samples, wrong challenge, wrong timing, a second Reward in a
// block) are rejected with the reason.
import test from 'ava';
import type { Reward, SampledProof } from '../../../gen/wolk/common/v1/tx.js';
import { buildReward, objectChallenge, proveVerifier, rewardEffects, rewardsInBlock, verifyRewardTx } from '../../../lib/chain/reward.js';
import { rewardedRoundKey } from '../../../lib/chain/state-keys.js';

import { answerFile, credentialOf, makeWorld, newKey, type World } from './world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/rewards/reward.test.ts');
logSeedOnFailure(test);

function honest(w: World, override?: Parameters<World['outcomes']>[0]): Reward {
  return buildReward({ auditedRound: w.auditedRound, verifier: credentialOf(w), challengeSeed: w.prevSeed, outcomes: w.outcomes(override), samplesPerStorer: w.params.samplesPerStorer });
}

function rejectsWith(t: import('ava').ExecutionContext, w: World, r: Reward, re: RegExp, ctx = w.context()): void {
  const v = verifyRewardTx(w.tx(r), ctx);
  t.false(v.ok, `expected rejection matching ${re}`);
  if (!v.ok) t.regex(v.reason, re);
}

test('an honest Reward verifies from the old block alone; tallies count every object per storer', (t) => {
  const w = makeWorld();
  const r = honest(w, (s, kind) => (s === 2 && kind === 'file' ? 'unreachable' : undefined));
  const v = verifyRewardTx(w.tx(r), w.context());
  t.true(v.ok, v.ok ? '' : v.reason);
  t.is(r.tallies.length, 3);
  const byId = new Map(r.tallies.map((x) => [Buffer.from(x.storerId).toString('hex'), x]));
  t.like(byId.get(w.storers[0]!.id), { valid: 3, invalid: 0, unreachable: 0 }); // 2 files + 1 chunk
  t.like(byId.get(w.storers[1]!.id), { valid: 2, invalid: 0, unreachable: 0 });
  t.like(byId.get(w.storers[2]!.id), { valid: 0, invalid: 0, unreachable: 2 });
  t.is(r.samples.length, 2, 'one sample per storer with valid answers');
  // Later in the inclusion window is fine too.
  t.true(verifyRewardTx(w.tx(r), w.context({ round: w.rewardRound + w.params.maxDelay })).ok);
});

test('altered branch, chunk or signature in a sample is rejected', (t) => {
  const w = makeWorld();
  const r = honest(w);
  const s = r.samples.find((x) => x.proof?.$case === 'file')!;
  const audit = (s.proof as { $case: 'file'; value: import('../../../gen/wolk/common/v1/storage.js').FileAudit }).value;
  const withAudit = (a: typeof audit): Reward => ({ ...r, samples: r.samples.map((x) => (x === s ? ({ proof: { $case: 'file', value: a } } as SampledProof) : x)) });
  const leaf = audit.leaves[0]!;
  const sib = leaf.fileBranch!.siblings.map((b, i) => (i === 0 ? seeded.bytes(32) : b));
  rejectsWith(t, w, withAudit({ ...audit, leaves: [{ ...leaf, fileBranch: { ...leaf.fileBranch!, siblings: sib } }, ...audit.leaves.slice(1)] }), /file branch fails/);
  const rsib = leaf.replicaBranch!.siblings.map((b, i) => (i === 0 ? seeded.bytes(32) : b));
  rejectsWith(t, w, withAudit({ ...audit, leaves: [{ ...leaf, replicaBranch: { ...leaf.replicaBranch!, siblings: rsib } }, ...audit.leaves.slice(1)] }), /replica branch fails/);
  const chunk = Buffer.from(leaf.chunk);
  chunk[0]! ^= 1;
  rejectsWith(t, w, withAudit({ ...audit, leaves: [{ ...leaf, chunk }, ...audit.leaves.slice(1)] }), /file branch fails/);
  rejectsWith(t, w, withAudit({ ...audit, signature: Buffer.alloc(64, 3) }), /bad signature/);
  // A valid answer to another challenge (prepared in advance) does not count.
  const storer = w.storers.find((k) => Buffer.from(k.signPublicKey).equals(Buffer.from(audit.storerId)))!;
  const f = w.files.find((x) => Buffer.from(x.filehash).equals(Buffer.from(audit.filehash)))!;
  rejectsWith(t, w, withAudit(answerFile(storer, f, new Uint8Array(seeded.bytes(32)), w.params.leavesPerFile)), /another challenge/);
  // Another storer's (valid) answer presented as this storer's.
  const other = w.storers.find((k) => k !== storer)!;
  const stolen = answerFile(other, f, objectChallenge(w.prevSeed, w.auditedRound, f.filehash, storer.signPublicKey), w.params.leavesPerFile);
  rejectsWith(t, w, withAudit({ ...stolen, storerId: audit.storerId }), /replica_root differs|replica branch fails|bad signature/);
});

test('a wrong verifier is rejected: unregistered sender, another key\'s credential, inflated weight, another round', (t) => {
  const w = makeWorld();
  const r = honest(w);
  const stranger = newKey();
  const v1 = verifyRewardTx(w.tx(r, stranger), w.context());
  t.false(v1.ok);
  if (!v1.ok) t.regex(v1.reason, /not a registered rewards verifier/);
  rejectsWith(t, w, { ...r, verifier: credentialOf(w, stranger) }, /wrong verifier: verifier VRF proof is not valid/);
  rejectsWith(t, w, { ...r, verifier: { ...r.verifier!, weight: r.verifier!.weight + 1 } }, /wrong verifier: .*claims weight/);
  rejectsWith(t, w, { ...r, verifier: credentialOf(w, w.verifier, w.rewardRound + 1) }, /wrong verifier: verifier VRF proof is not valid/);
  rejectsWith(t, w, { ...r, verifier: { ...r.verifier!, vrf: { ...r.verifier!.vrf!, output: Buffer.alloc(64, 9) } } }, /output is not the one/);
  // A registered verifier whose sortition does not select it (stake 1 of 1000, one expected).
  let key = newKey();
  while (proveVerifier(key.vrfSecretKey, w.prevSeed, w.rewardRound, { stake: 1n, totalStake: 1000n }, 1) !== null) key = newKey();
  const ctx = w.context({
    lookupVerifier: (id) => (Buffer.from(id).equals(Buffer.from(key.signPublicKey)) ? { vrfPublicKey: key.vrfPublicKey, stake: 1n } : undefined),
    totalVerifierStake: 1000n,
    params: { ...w.params, expectedVerifiers: 1 },
  });
  const fake = { ...r, verifier: { vrf: credentialOf(w, key).vrf, weight: 1, publicKey: Buffer.alloc(0) } };
  const v2 = verifyRewardTx(w.tx(fake, key), ctx);
  t.false(v2.ok);
  if (!v2.ok) t.regex(v2.reason, /does not select this verifier/);
});

test('tallies that do not match the samples or the block are rejected', (t) => {
  const w = makeWorld();
  const r = honest(w);
  // j: a storer responsible for exactly 2 objects (not storer 0, which also holds the chunk set).
  const j = r.tallies.findIndex((x) => Buffer.from(x.storerId).toString('hex') !== w.storers[0]!.id);
  const tj = r.tallies[j]!;
  const withTally = (x: typeof tj) => r.tallies.map((y, i) => (i === j ? x : y));
  // Claims valid for a storer but no sample backs it.
  const sj = Buffer.from(tj.storerId).toString('hex');
  rejectsWith(t, w, { ...r, samples: r.samples.filter((x) => Buffer.from(x.proof!.value.storerId).toString('hex') !== sj) }, /tally does not match the samples/);
  // A sample for a storer the tally says answered nothing validly.
  rejectsWith(t, w, { ...r, tallies: withTally({ ...tj, valid: 0, invalid: 2 }) }, /tally does not match the samples/);
  // Counts that do not add up to the storer's objects.
  rejectsWith(t, w, { ...r, tallies: withTally({ ...tj, valid: 5 }) }, /counts 5 objects, it is responsible for 2/);
  const [t0, t1, t2] = r.tallies;
  // A storer missing, an extra storer, unsorted.
  rejectsWith(t, w, { ...r, tallies: [t0!, t1!] }, /2 tallies, block 6 has 3 committed storers/);
  rejectsWith(t, w, { ...r, tallies: [t0!, t1!, { ...t2!, storerId: seeded.bytes(32) }] }, /not sorted|no commitment/);
  rejectsWith(t, w, { ...r, tallies: [t1!, t0!, t2!] }, /not sorted/);
  // The same sample twice.
  rejectsWith(t, w, { ...r, samples: [...r.samples, r.samples[0]!] }, /repeats an object/);
});

test('challenge seed and timing: only the seed of R − 1, only from R to R + maxDelay', (t) => {
  const w = makeWorld();
  const r = honest(w);
  rejectsWith(t, w, { ...r, challengeSeed: seeded.bytes(32) }, /challenge_seed is not the seed/);
  rejectsWith(t, w, r, /not yet reached/, w.context({ round: w.rewardRound - 1 }));
  rejectsWith(t, w, r, /expired/, w.context({ round: w.rewardRound + w.params.maxDelay + 1 }));
  rejectsWith(t, w, { ...r, auditedRound: BigInt(w.auditedRound + 1) }, /challenge_seed|VRF proof is not valid|unknown/, w.context({ round: w.rewardRound + 1 }));
});

test('one Reward per block, and the rewarded-round state key is distinct per round', (t) => {
  const w = makeWorld();
  const r = honest(w);
  const a = w.tx(r);
  const other = { tx: { ...a.tx!, body: { $case: 'setName' as const, value: { name: 'x', owner: Buffer.alloc(32) } } }, signature: a.signature };
  t.like(rewardsInBlock([other, a, other]), { ok: true, index: 1 });
  t.like(rewardsInBlock([other]), { ok: true, index: null });
  const two = rewardsInBlock([a, other, w.tx(r)]);
  t.false(two.ok);
  if (!two.ok) t.regex(two.reason, /second Reward in the block \(transactions 0 and 2\)/);
  t.notDeepEqual(rewardedRoundKey(5), rewardedRoundKey(6));
  t.is(rewardedRoundKey(5).length, 32);
});

test('effects: valid answers are credited, failures only lower reputation', (t) => {
  const w = makeWorld();
  const r = honest(w, (s, kind) => (s === 1 && kind === 'file' ? 'invalid' : s === 2 && kind === 'file' ? 'unreachable' : undefined));
  t.true(verifyRewardTx(w.tx(r), w.context()).ok);
  const fx = new Map(rewardEffects(r, () => undefined, 10n).map((e) => [Buffer.from(e.storerId).toString('hex'), e]));
  t.like(fx.get(w.storers[0]!.id), { credit: 30n, reputationPpm: 1_000_000 });
  t.like(fx.get(w.storers[1]!.id), { credit: 0n, reputationPpm: 875_000 });
  t.like(fx.get(w.storers[2]!.id), { credit: 0n, reputationPpm: 937_500 });
});
