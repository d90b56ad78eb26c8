// The indexer applies a Reward's standing audits as the ledger does (docs/rewards.md "Standing audits"):
// storers audited only by standing audits (nothing in the audited block) get the reputation the chain
// gives them, Reward after Reward, so the repairer (which reads the indexer) sees them fall.
import test from 'ava';
import { StandingOutcome, type SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { buildReward, DEFAULT_REWARD_PARAMS, proveVerifier, type StandingResult } from '../../../lib/chain/reward.js';
import { standingSelection } from '../../../lib/chain/standing.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { ReadModel } from '../../../services/indexer/store.js';
import { signTx } from '../consensus/ledger-fixture.js';
import { makeChain, putKey, userWithBucket } from './chain.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

logSeedOnFailure(test);

test('standing audits move the reputation of storers outside the audited block in the indexer as in the ledger', async (t) => {
  const chain = await makeChain({ rewards: 1, standingAudits: 2 });
  const verifier = chain.net.rewards[0]!;
  const Q = chain.net.genesis.params.auditDepth;
  const alice = await userWithBucket(chain, 'alice', 'docs');
  for (let i = 0; i < 4; i++) await chain.finalize([putKey(chain, alice, 'alice', 'docs', `f${i}`)]);
  const stake = { stake: 10n, totalStake: 10n };
  let nonce = 0n;
  let standingTotal = 0;
  for (let n = 0; n < 2; n++) {
    // Empty blocks until the verifier is selected for R = tip + 1 and block R − Q is one without commitments.
    for (;;) {
      await chain.finalize([]);
      const tip = chain.ledger.tip().round;
      const nc = await chain.ledger.rules.newChunksAt(tip + 1 - Q);
      if ((nc?.files.length ?? 1) === 0 && proveVerifier(verifier.vrfSecretKey, chain.ledger.seedAt(tip)!, tip + 1, stake, DEFAULT_REWARD_PARAMS.expectedVerifiers) !== null) break;
    }
    const R = chain.ledger.tip().round + 1;
    const prevSeed = chain.ledger.seedAt(R - 1)!;
    const at = (await chain.ledger.rules.stateAt(R - 1))!;
    const selection = await standingSelection(prevSeed, R, { prove: (k) => at.prove(k), get: (k) => at.state.get(k) }, 2);
    standingTotal += selection.length;
    const standing: StandingResult[] = selection.map((target) => ({ target, outcome: 'unreachable' }));
    const reward = buildReward({ auditedRound: R - Q, verifier: proveVerifier(verifier.vrfSecretKey, prevSeed, R, stake, 1)!, challengeSeed: prevSeed, outcomes: [], samplesPerStorer: 1, standing });
    t.true(reward.standing.every((e) => e.outcome === StandingOutcome.STANDING_OUTCOME_UNREACHABLE));
    const tx: Transaction = { sender: Buffer.from(verifier.signPublicKey), nonce: nonce++, fee: 0n, chainId: chain.net.genesis.network, body: { $case: 'reward', value: reward } };
    const stx: SignedTransaction = signTx({ publicKey: verifier.signPublicKey, secretKey: verifier.signSecretKey }, tx);
    await chain.finalize([stx]);
  }
  t.true(standingTotal >= 2, 'the Rewards carried standing audits');

  const model = new ReadModel(createMemoryKv(), { genesis: chain.net.genesis, certificates: createCertificateVerifier(chain.net.genesis), rewardPerValid: DEFAULT_REWARD_PARAMS.rewardPerValid });
  for (let r = 0; r <= chain.ledger.tip().round; r++) await model.apply(await chain.certified(r));
  const nodes = (await model.listNodes(NodeRole.NODE_ROLE_STORER, 0, '')).nodes;
  let moved = 0;
  for (const s of chain.net.storers) {
    const inState = (await readAccount(chain.ledger.latestState(), s.signPublicKey)).node!.reputationPpm;
    const indexed = nodes.find((x) => Buffer.from(x.id).toString('hex') === s.id)!.reputationPpm;
    t.is(indexed, inState, `storer ${s.id.slice(0, 8)}`);
    if (inState < 937_500) moved++;
  }
  t.true(moved >= 1, 'a storer was found down in both Rewards (below one outage\'s 937 500)');
});
