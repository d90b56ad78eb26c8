// Standing audits in the real ledger (docs/rewards.md "Standing audits", issue #19): a Reward on a network
// with genesis params.standingAudits carries exactly the selection of its reward round (lib/chain/standing.ts,
// drawn from seed(R − 1) over the state after block R − 1); the ledger recomputes it and refuses a wrong
// storer or key, an extra or missing entry, and a forged outcome; the results move reputation with the
// block tallies, and a storer only audited standing (nothing in block A) is moved too. A Reward of a block
// without commitments is applied for its standing audits alone.
import test from 'ava';
import { StandingOutcome, type Reward, type SignedTransaction, type StandingAudit, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import type { Genesis } from '../../../lib/chain/genesis.js';
import { buildReward, DEFAULT_REWARD_PARAMS, effectiveTallies, objectChallenge, proveVerifier, standingChallenge, type ObjectOutcome, type StandingResult } from '../../../lib/chain/reward.js';
import { nextReputation } from '../../../lib/chain/reputation.js';
import { standingSelection, type StandingTarget } from '../../../lib/chain/standing.js';
import { pathStateKey } from '../../../lib/chain/state-keys.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { commitment, finalizeBlock, refusedNext, runNext, makeNet, newKey, newUser, setBucket, setKey, setName, signTx, type Net } from './ledger-fixture.js';
import { answerFile, makeFile, replicaRoot, type HeldFile } from '../rewards/world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/ledger-standing.test.ts');
logSeedOnFailure(test);

const VERIFIER_STAKE = 10n;
const STANDING = 2;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const finalize = (ledger: Ledger, txs: SignedTransaction[], seed: Uint8Array = new Uint8Array(seeded.bytes(32))) => finalizeBlock(ledger, txs, seed);

const run = runNext;
const refused = refusedNext;

interface Scene {
  readonly net: Net;
  readonly ledger: Ledger;
  readonly verifier: NodeKey;
  readonly audited: number;
  readonly rewardRound: number;
  readonly prevSeed: Uint8Array;
  /** The selection of R as every validator computes it. */
  readonly selection: StandingTarget[];
  /** Storer 1 answers nothing right (invalid), storer 2 is silent (unreachable), the others answer. */
  honest(): Reward;
  rewardTx(r: Reward, from?: NodeKey, nonce?: bigint): SignedTransaction;
}

/**
 * Storers 0..3; keys f0, f1 (storers 0, 1, 2) in one block, f2, f3 (storers 1, 2, 3) in a later one,
 * which is the audited block A when `emptyAudited` is false; with it, A is an empty block after them.
 */
async function scene(o: { standingAudits?: number; emptyAudited?: boolean } = {}): Promise<Scene> {
  const base = makeNet();
  const verifier = newKey();
  const genesis: Genesis = {
    ...base.genesis,
    params: { ...base.genesis.params, standingAudits: o.standingAudits ?? STANDING },
    nodes: [...base.genesis.nodes, { id: verifier.id, vrfPublicKey: toHex(verifier.vrfPublicKey), endpoint: '127.0.0.1:7100', roles: ['rewards'], stake: String(VERIFIER_STAKE) }],
  };
  const net = { ...base, genesis };
  const Q = genesis.params.auditDepth;
  const ledger = await Ledger.open({ kv: createMemoryKv(), genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
  const alice = newUser();
  await finalize(ledger, [setName(alice, 'alice'), setBucket(alice, 'alice', 'docs')]);
  const files = new Map<string, HeldFile>();
  const blockOf = async (keys: string[], storers: NodeKey[]) => {
    const seedRound = ledger.tip().round;
    const seed = ledger.seedAt(seedRound)!;
    const total = BigInt(net.storers.length) * 1000n;
    const txs = keys.map((key) => {
      const f = makeFile(2 * 4096 + 100);
      files.set(hex(f.filehash), f);
      const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
      const cs = storers.map((s) => commitment(s, info, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
      return setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key, file: info }, cs);
    });
    const b = await finalize(ledger, txs);
    if (b.included.length !== keys.length) throw new Error(`setup: ${b.rejected.map((r) => r.error.message).join('; ')}`);
  };
  const [s0, s1, s2, s3] = net.storers as [NodeKey, NodeKey, NodeKey, NodeKey];
  await blockOf(['f0', 'f1'], [s0, s1, s2]);
  await blockOf(['f2', 'f3'], [s1, s2, s3]);
  if (o.emptyAudited) await finalize(ledger, []);
  const audited = ledger.tip().round;
  const rewardRound = audited + Q;
  while (ledger.tip().round < rewardRound - 2) await finalize(ledger, []);
  let prevSeed: Uint8Array;
  do prevSeed = new Uint8Array(seeded.bytes(32));
  while (proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers) === null);
  await finalize(ledger, [], prevSeed);

  const at = (await ledger.rules.stateAt(rewardRound - 1))!;
  const selection = await standingSelection(prevSeed, rewardRound, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, o.standingAudits ?? STANDING);
  const nc = await ledger.rules.newChunksAt(audited);
  const byId = new Map(net.storers.map((k) => [hex(k.signPublicKey), k]));

  const honest = (): Reward => {
    const cred = proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers)!;
    const outcome = (s: NodeKey, f: HeldFile, challenge: Uint8Array) => {
      if (s === s1) return { outcome: 'invalid' as const };
      if (s === s2) return { outcome: 'unreachable' as const };
      return { outcome: 'valid' as const, proof: answerFile(s, f, challenge, DEFAULT_REWARD_PARAMS.leavesPerFile) };
    };
    const outcomes: ObjectOutcome[] = [];
    for (const cf of nc?.files ?? []) {
      const f = files.get(hex(cf.file!.filehash))!;
      for (const c of cf.commitments) {
        const s = byId.get(hex(c.storerId))!;
        outcomes.push({ kind: 'file', storerId: s.signPublicKey, objectId: f.filehash, ...outcome(s, f, objectChallenge(prevSeed, audited, f.filehash, s.signPublicKey)) } as ObjectOutcome);
      }
    }
    const standing: StandingResult[] = selection.map((target) => {
      const s = byId.get(hex(target.storerId))!;
      const f = files.get(hex(target.record.file!.filehash))!;
      return { target, ...outcome(s, f, standingChallenge(prevSeed, rewardRound, f.filehash, s.signPublicKey)) } as StandingResult;
    });
    return buildReward({ auditedRound: audited, verifier: cred, challengeSeed: prevSeed, outcomes, samplesPerStorer: DEFAULT_REWARD_PARAMS.samplesPerStorer, standing });
  };
  const rewardTx = (r: Reward, from: NodeKey = verifier, nonce = 0n): SignedTransaction => {
    const tx: Transaction = { sender: Buffer.from(from.signPublicKey), nonce, fee: 0n, chainId: genesis.network, body: { $case: 'reward', value: r } };
    return signTx({ publicKey: from.signPublicKey, secretKey: from.signSecretKey }, tx);
  };
  return { net, ledger, verifier, audited, rewardRound, prevSeed, selection, honest, rewardTx };
}

test('the selection is deterministic, of live keys and their storers, without repeats', async (t) => {
  const s = await scene();
  t.is(s.selection.length, STANDING, 'four keys in the state: both standing audits are found');
  const keys = new Set(['f0', 'f1', 'f2', 'f3'].map((k) => hex(pathStateKey('alice', 'docs', k))));
  const pairs = new Set<string>();
  for (const x of s.selection) {
    t.true(keys.has(hex(x.stateKey)), 'a KeyRecord of the state');
    t.true(x.record.commitments.some((c) => hex(c.storerId) === hex(x.storerId)), 'one of its storers');
    pairs.add(`${hex(x.storerId)}/${hex(x.stateKey)}`);
  }
  t.is(pairs.size, s.selection.length, 'no pair twice');
  const at = (await s.ledger.rules.stateAt(s.rewardRound - 1))!;
  const again = await standingSelection(s.prevSeed, s.rewardRound, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, STANDING);
  t.deepEqual(again.map((x) => `${hex(x.storerId)}/${hex(x.stateKey)}`), s.selection.map((x) => `${hex(x.storerId)}/${hex(x.stateKey)}`));
  const other = await standingSelection(new Uint8Array(seeded.bytes(32)), s.rewardRound, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, 8);
  t.true(other.length > STANDING, 'a larger count draws more pairs from the same state');
});

test('a Reward with the right standing section is applied: standing results move reputation with the block tallies', async (t) => {
  const s = await scene();
  const r = s.honest();
  t.is(r.standing.length, STANDING);
  const before = new Map<string, number>();
  for (const k of s.net.storers) before.set(hex(k.signPublicKey), (await readAccount(s.ledger.latestState(), k.signPublicKey)).node!.reputationPpm);
  const { included, rejected } = await finalize(s.ledger, [s.rewardTx(r)]);
  t.deepEqual(rejected.map((x) => x.error.message), []);
  t.is(included.length, 1);
  const state = s.ledger.latestState();
  const effective = new Map(effectiveTallies(r).map((x) => [hex(x.storerId), x]));
  for (const k of s.net.storers) {
    const id = hex(k.signPublicKey);
    const tally = effective.get(id);
    const a = await readAccount(state, k.signPublicKey);
    t.is(a.node?.reputationPpm, tally ? nextReputation(before.get(id)!, tally) : before.get(id), `storer ${id.slice(0, 8)}`);
    t.is(a.balance, BigInt(tally?.valid ?? 0) * DEFAULT_REWARD_PARAMS.rewardPerValid);
  }
  // Every standing result is counted: the effective tallies hold the block's objects plus one per standing audit.
  const blockObjects = r.tallies.reduce((n, x) => n + x.valid + x.invalid + x.unreachable, 0);
  const all = [...effective.values()].reduce((n, x) => n + x.valid + x.invalid + x.unreachable, 0);
  t.is(all, blockObjects + STANDING);
});

test('a wrong storer or key, an extra or a missing entry, a forged outcome: refused', async (t) => {
  const s = await scene();
  const r = s.honest();
  const with0 = (e: Partial<StandingAudit>): Reward => ({ ...r, standing: [{ ...r.standing[0]!, ...e }, ...r.standing.slice(1)] });
  const sel0 = s.selection[0]!;
  const otherStorer = sel0.record.commitments.find((c) => hex(c.storerId) !== hex(sel0.storerId))!.storerId;
  await refused(t, s.ledger, s.rewardTx(with0({ storerId: Buffer.from(otherStorer) })), /standing audit 0: storer is not the selection's/);
  const otherKey = ['f0', 'f1', 'f2', 'f3'].map((k) => pathStateKey('alice', 'docs', k)).find((k) => hex(k) !== hex(sel0.stateKey))!;
  await refused(t, s.ledger, s.rewardTx(with0({ stateKey: Buffer.from(otherKey) })), /standing audit 0: key is not the selection's/);
  await refused(t, s.ledger, s.rewardTx(with0({ filehash: Buffer.from(seeded.bytes(32)) })), /standing audit 0: filehash is not the record's file/);
  await refused(t, s.ledger, s.rewardTx({ ...r, standing: [...r.standing, r.standing[0]!] }), new RegExp(`${STANDING + 1} standing audits, the selection of reward round ${s.rewardRound} has ${STANDING}`));
  await refused(t, s.ledger, s.rewardTx({ ...r, standing: r.standing.slice(1) }), new RegExp(`${STANDING - 1} standing audits, the selection`));
  await refused(t, s.ledger, s.rewardTx({ ...r, standing: [...r.standing].reverse() }), /standing audit 0: (storer|key) is not the selection's/);

  // Forged outcomes: VALID without an answer; VALID with the answer to another challenge (the block
  // audit's); an answer carried on a non-VALID entry; an unknown outcome.
  const f = r.standing[0]!;
  await refused(t, s.ledger, s.rewardTx(with0({ outcome: StandingOutcome.STANDING_OUTCOME_VALID, proof: undefined })), /standing audit 0 .*VALID without the storer's answer/);
  // The block audit's sampled answer: a real answer of a storer, to the block challenge, not the standing one.
  const proofOf = r.samples.find((x) => x.proof?.$case === 'file')?.proof?.value;
  t.truthy(proofOf, 'the scene has a valid file answer to reuse');
  await refused(t, s.ledger, s.rewardTx(with0({ outcome: StandingOutcome.STANDING_OUTCOME_VALID, proof: proofOf as StandingAudit['proof'] })), /standing audit 0 \(storer [0-9a-f]+\): /);
  if (f.outcome !== StandingOutcome.STANDING_OUTCOME_VALID) {
    await refused(t, s.ledger, s.rewardTx(with0({ proof: proofOf as StandingAudit['proof'] })), /an answer is carried only for VALID/);
  }
  await refused(t, s.ledger, s.rewardTx(with0({ outcome: StandingOutcome.STANDING_OUTCOME_UNSPECIFIED, proof: undefined })), /unknown outcome 0/);

  // None of these changed state: the honest one still applies.
  await t.notThrowsAsync(run(s.ledger, s.rewardTx(r)));
});

test('a Reward of a block without commitments is applied for its standing audits alone', async (t) => {
  const s = await scene({ emptyAudited: true });
  const r = s.honest();
  t.is(r.tallies.length, 0, 'the audited block committed nothing');
  t.is(r.standing.length, STANDING);
  const { included, rejected } = await finalize(s.ledger, [s.rewardTx(r)]);
  t.deepEqual(rejected.map((x) => x.error.message), []);
  t.is(included.length, 1);
  const moved = effectiveTallies(r);
  t.true(moved.length >= 1);
  for (const x of moved) {
    const a = await readAccount(s.ledger.latestState(), x.storerId);
    t.is(a.node?.reputationPpm, nextReputation(1_000_000, x));
  }
});

test('a network without standing audits refuses a Reward that carries some', async (t) => {
  const s = await scene({ standingAudits: 0 });
  t.deepEqual(s.selection, []);
  const r = s.honest();
  await t.notThrowsAsync(run(s.ledger, s.rewardTx(r)), 'none: the Reward of before');
  const at = (await s.ledger.rules.stateAt(s.rewardRound - 1))!;
  const [target] = await standingSelection(s.prevSeed, s.rewardRound, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, 1);
  const extra: StandingAudit = { storerId: Buffer.from(target!.storerId), stateKey: Buffer.from(target!.stateKey), filehash: Buffer.from(target!.record.file!.filehash), outcome: StandingOutcome.STANDING_OUTCOME_UNREACHABLE, proof: undefined };
  await refused(t, s.ledger, s.rewardTx({ ...r, standing: [extra] }), /1 standing audits, the network has none/);
});
