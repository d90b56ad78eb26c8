// Reputation in storer selection (lib/chain/storer-registry.ts): the registry of a seed round read over
// GetStateProof (proofs checked) equals the ledger's own; a storer's Solicit parameters come from it
// (stake × reputation, the effective total); a lying consensus answer is caught. (The ledger's use of
// it after a real Reward: test/unit/consensus/ledger-reward.test.ts.)
import test from 'ava';
import { nodesWithRole } from '../../../lib/chain/genesis.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { RemoteStorerRegistry, storerRegistryFrom, storerRegistryFromState } from '../../../lib/chain/storer-registry.js';
import { proofsFrom } from '../consensus/ledger-fixture.js';
import { fromHex } from '../../../lib/crypto/index.js';
import { WolkError } from '../../../lib/grpc/errors.js';
import { createSelection } from '../../../services/storer/selection.js';
import type { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { makeChain } from '../indexer/chain.js';
import { newKey } from './world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/rewards/storer-registry.test.ts');
logSeedOnFailure(test);


test('the registry read over GetStateProof equals the ledger\'s; Solicit parameters come from it; wrong seeds and rounds are caught', async (t) => {
  const chain = await makeChain({ storerCommitteeSize: 20 });
  await chain.finalize([]);
  const ids = nodesWithRole(chain.net.genesis, 'storer').nodes.map((n) => fromHex(n.id));
  const remote = new RemoteStorerRegistry(proofsFrom(chain.ledger));
  const r0 = chain.ledger.tip().round;
  const fromState = await storerRegistryFromState(r0, (k) => chain.ledger.latestState().get(k));
  const viaProofs = await remote.at(r0, chain.ledger.seedAt(r0)!);
  t.is(viaProofs.totalWeight, 4000n);
  t.is(fromState.totalWeight, viaProofs.totalWeight);
  for (const id of ids) t.is(viaProofs.lookup(id)?.stake, 1000n);

  // A seed that is not block r0's (by the proven header): refused.
  await t.throwsAsync(remote.at(r0, new Uint8Array(seeded.bytes(32))), { message: /not the seed of block/ });
  // An answer for another round: refused.
  const liar = new RemoteStorerRegistry(async (key) => proofsFrom(chain.ledger)(key, 0));
  if (r0 !== 0) await t.throwsAsync(liar.at(r0), { message: /answered for round 0/ });

  // The storer's Solicit parameters with the chain registry.
  const me = chain.net.storers[1]!;
  const sel = createSelection(chain.net.genesis, { idHex: me.id, vrfPublicKey: me.vrfPublicKey, stake: 1n }, 3, (round, seed) => remote.at(round, seed));
  const p = await sel.paramsFor({ totalStake: 0n, expectedStorers: 0, seedRound: BigInt(r0), seed: chain.ledger.seedAt(r0)! });
  t.like(p, { stake: 1000n, totalWeight: 4000n, expectedSize: 20, registry: 'chain' });
  const wrongTotal = await t.throwsAsync(sel.paramsFor({ totalStake: 3999n, expectedStorers: 0, seedRound: BigInt(r0), seed: chain.ledger.seedAt(r0)! }));
  t.true(wrongTotal instanceof WolkError && wrongTotal.code === 'FAILED_PRECONDITION', String(wrongTotal));
  const unknownRound = await t.throwsAsync(sel.paramsFor({ totalStake: 0n, expectedStorers: 0, seedRound: BigInt(r0 + 50), seed: new Uint8Array(32) }));
  t.true(unknownRound instanceof WolkError && unknownRound.code === 'UNAVAILABLE', String(unknownRound));
});

test('registry arithmetic: weight = stake × reputation, reputation 0 never selected, a record without the storer role weighs nothing', (t) => {
  const ids = [newKey(), newKey(), newKey(), newKey()].map((k) => k.signPublicKey);
  const rec = (rep: number, roles = [NodeRole.NODE_ROLE_STORER]) => ({ id: Buffer.alloc(32), vrfPublicKey: Buffer.alloc(32, 1), endpoint: 'h:1', stake: 1000n, roles, reputationPpm: rep, balance: 0n });
  const reg = storerRegistryFrom(7, ids, [rec(1_000_000), rec(875_000), rec(0), rec(1_000_000, [NodeRole.NODE_ROLE_GATEWAY])]);
  t.is(reg.round, 7);
  t.is(reg.lookup(ids[0]!)?.stake, 1000n);
  t.is(reg.lookup(ids[1]!)?.stake, 875n);
  t.is(reg.lookup(ids[2]!)?.stake, 0n);
  t.is(reg.lookup(ids[3]!), undefined);
  t.is(reg.totalWeight, 1875n);
  t.is(storerRegistryFrom(1, ids.slice(0, 1), [undefined]).totalWeight, 0n, 'no record: not a storer');
});
