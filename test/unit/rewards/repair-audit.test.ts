// After a Repair, the rewards audit follows the new storer set (docs/repair.md §6): the Repair's block
// names the file with the new commitment in its NewChunks, so the audit of that block Q rounds later
// challenges the new storer, its valid answer is credited by the ledger, and a Reward that tallies a
// replaced or untouched holder for that block is refused (it holds no commitment there).
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import type { Reward, SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { RepairReason } from '../../../gen/wolk/common/v1/tx.js';
import { buildReward, DEFAULT_REWARD_PARAMS, objectChallenge, proveVerifier, type ObjectOutcome } from '../../../lib/chain/reward.js';
import { readAccount, readKey } from '../../../services/consensus/ledger/state-view.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { commitment, finalizeBlock, makeNet, newUser, openLedger, setBucket, setKey, setName, txOf, type User } from '../consensus/ledger-fixture.js';
import { answerFile, makeFile, replicaRoot } from './world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/rewards/repair-audit.test.ts');
logSeedOnFailure(test);

const VERIFIER_STAKE = 10n;

test('the audit of a Repair\'s block challenges the new storer, and its valid answer is credited', async (t) => {
  const net = makeNet({ storers: 5, storerCommitteeSize: 4000, rewards: 1 });
  const ledger = await openLedger(net);
  const fin = (txs: SignedTransaction[], seed: Uint8Array = new Uint8Array(seeded.bytes(32))) => finalizeBlock(ledger, txs, seed);
  const alice = newUser();
  await fin([setName(alice, 'alice'), setBucket(alice, 'alice', 'docs')]);
  const f = makeFile(3 * 4096 + 100);
  const info = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
  const sr = ledger.tip().round;
  const original = [0, 1, 2].map((i) => commitment(net.storers[i]!, info, ledger.seedAt(sr)!, sr, 5000n, { replicaRoot: Buffer.from(replicaRoot(net.storers[i]!, f)) }, 4000));
  await fin([setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key: 'k', file: info }, original)]);
  const written = ledger.tip().round;
  const leaver: User = { publicKey: Buffer.from(net.storers[0]!.signPublicKey), secretKey: net.storers[0]!.signSecretKey, nonce: 0n };
  await fin([txOf(leaver, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);

  const verifier = net.rewards[0]!;
  const repairer: User = { publicKey: Buffer.from(verifier.signPublicKey), secretKey: verifier.signSecretKey, nonce: 0n };
  const s3 = net.storers[3]!;
  const at = ledger.tip().round;
  const replacement = commitment(s3, info, ledger.seedAt(at)!, at, 4000n, { replicaRoot: Buffer.from(replicaRoot(s3, f)) }, 4000);
  const rep = await fin([txOf(repairer, { $case: 'repair', value: { owner: 'alice', collection: 'docs', key: 'k', recordRound: BigInt(written), chunkSetRound: 0n, replaced: [{ commitment: original[0]!, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] } })]);
  t.is(rep.included.length, 1, rep.rejected.map((r) => r.error.message).join('; '));
  const audited = ledger.tip().round;

  // Reward round R = A + Q, with a seed of R − 1 that selects the verifier (as ledger-reward.test.ts does).
  const R = audited + net.genesis.params.auditDepth;
  while (ledger.tip().round < R - 2) await fin([]);
  const stakes = { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE };
  let prevSeed: Uint8Array;
  do prevSeed = new Uint8Array(seeded.bytes(32));
  while (proveVerifier(verifier.vrfSecretKey, prevSeed, R, stakes, DEFAULT_REWARD_PARAMS.expectedVerifiers) === null);
  await fin([], prevSeed);
  const credential = proveVerifier(verifier.vrfSecretKey, prevSeed, R, stakes, DEFAULT_REWARD_PARAMS.expectedVerifiers)!;
  const reward = (storers: typeof net.storers): Reward => {
    const outcomes: ObjectOutcome[] = storers.map((s) => ({
      kind: 'file' as const,
      storerId: s.signPublicKey,
      objectId: f.filehash,
      outcome: 'valid' as const,
      proof: answerFile(s, f, objectChallenge(prevSeed, audited, f.filehash, s.signPublicKey), DEFAULT_REWARD_PARAMS.leavesPerFile),
    }));
    return buildReward({ auditedRound: audited, verifier: credential, challengeSeed: prevSeed, outcomes, samplesPerStorer: DEFAULT_REWARD_PARAMS.samplesPerStorer });
  };

  // A Reward tallying an old holder (storer 1) for the Repair's block: it holds no commitment there.
  const wrong = txOf(repairer, { $case: 'reward', value: reward([net.storers[1]!]) });
  const err = await t.throwsAsync(ledger.execute(ledger.tip().round + 1, new Uint8Array(ledger.tipHeader().stateRoot), [wrong], false), { instanceOf: TxError });
  t.regex(err?.message ?? '', /tally for storer [0-9a-f]{16} that has no commitment in block/);
  repairer.nonce -= 1n;

  // The honest audit: the new storer, valid.
  const before = (await readAccount(ledger.latestState(), s3.signPublicKey)).balance;
  const ok = await fin([txOf(repairer, { $case: 'reward', value: reward([s3]) })]);
  t.deepEqual(ok.rejected.map((r) => r.error.message), []);
  t.is(ok.included.length, 1);
  t.is((await readAccount(ledger.latestState(), s3.signPublicKey)).balance - before, DEFAULT_REWARD_PARAMS.rewardPerValid, 'the new storer is paid for its proof');
  const rec = (await readKey(ledger.latestState(), 'alice', 'docs', 'k'))!;
  t.is(rec.repairs, 1);
});
