// Storers registered after genesis (lib/chain/storer-registry.ts): the state's storer set follows
// RegisterNode and UpdateNode, the registry of a seed round weighs exactly the storers of that round's
// state (ledger and GetStateProof readers alike), a new storer's commitments count from the first seed
// after its registration and never before, and a node that drops the storer role leaves the set.
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { decodeStorerSet, RemoteStorerRegistry, storerRegistryFromState } from '../../../lib/chain/storer-registry.js';
import { STORER_SET_KEY } from '../../../lib/chain/state-keys.js';
import { validateGenesis } from '../../../lib/chain/genesis.js';
import type { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { registryAt } from '../../../services/consensus/ledger/transactions.js';
import { makeChain, userWithBucket } from '../indexer/chain.js';
import { commitment, fileInfo, newKey, proofsFrom, setKey, txOf, type User } from './ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);


const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a storer registered after genesis is weighed from the next seed on, at its record endpoint; dropping the role takes it out', async (t) => {
  const joiner = newKey();
  const chain = await makeChain({ accounts: [{ id: joiner.id, balance: '5000' }] });
  const ledger = chain.ledger;
  const genesisStorers = chain.net.storers;

  // Genesis: the set is the 4 genesis storers, ascending; the joiner holds its allocation and no node.
  const set0 = decodeStorerSet(await ledger.latestState().get(STORER_SET_KEY));
  t.deepEqual(set0.map(hex), genesisStorers.map((k) => hex(k.signPublicKey)).sort());
  t.is((await readAccount(ledger.latestState(), joiner.signPublicKey)).balance, 5000n);

  const alice = await userWithBucket(chain, 'alice', 'photos');
  const before = ledger.tip().round;

  // RegisterNode with more stake than the allocation: refused; with 2000: the set has 5 storers.
  const op: User = { publicKey: Buffer.from(joiner.signPublicKey), secretKey: joiner.signSecretKey, nonce: 0n };
  const register = (stake: bigint) => txOf(op, { $case: 'registerNode', value: { vrfPublicKey: Buffer.from(joiner.vrfPublicKey), endpoint: 'joiner.example:7443', stake, roles: [NodeRole.NODE_ROLE_STORER] } });
  await t.throwsAsync(chain.finalize([register(5001n)]), { message: /stake 5001 exceeds the balance 5000/ });
  op.nonce = 0n;
  await chain.finalize([register(2000n)]);
  const joined = ledger.tip().round;
  t.is((await readAccount(ledger.latestState(), joiner.signPublicKey)).balance, 3000n, 'the stake is locked from the balance');

  const regBefore = await registryAt(ledger.rules, before);
  if (regBefore === null) return t.fail("no registry at the round before");
  const regJoined = await storerRegistryFromState(joined, (k) => ledger.latestState().get(k));
  t.is(regBefore.totalWeight, 4000n);
  t.is(regBefore.lookup(joiner.signPublicKey), undefined);
  t.is(regJoined.totalWeight, 6000n);
  t.like(regJoined.lookup(joiner.signPublicKey), { stake: 2000n, endpoint: 'joiner.example:7443' });
  t.deepEqual(regJoined.storers.map((s) => hex(s.id)), [...genesisStorers.map((k) => hex(k.signPublicKey)), hex(joiner.signPublicKey)].sort());

  // Over GetStateProof (what storers and gateways read), proofs checked: the same registry.
  const remote = new RemoteStorerRegistry(proofsFrom(ledger));
  const viaProofs = await remote.at(joined, ledger.seedAt(joined)!);
  t.is(viaProofs.totalWeight, 6000n);
  t.deepEqual(viaProofs.storers.map((s) => [hex(s.id), s.stake, s.endpoint]), regJoined.storers.map((s) => [hex(s.id), s.stake, s.endpoint]));
  t.is((await remote.at(before)).lookup(joiner.signPublicKey), undefined);

  // The joiner's commitment on a seed before it joined: refused (not registered at that round).
  const expectedSize = chain.net.genesis.params.storerCommitteeSize;
  const early = fileInfo();
  const earlySeed = ledger.seedAt(before)!;
  const earlyTx = setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: 'early', file: early }, [
    commitment(joiner, early, earlySeed, before, 4000n, {}, expectedSize, 2000n),
    ...genesisStorers.slice(0, 2).map((k) => commitment(k, early, earlySeed, before, 4000n, {}, expectedSize)),
  ]);
  await t.throwsAsync(chain.finalize([earlyTx]), { message: /not registered/ });
  alice.nonce -= 1n;

  // On the seed of the round it joined: accepted, weighed with its stake against the new total.
  const file = fileInfo();
  const seed = ledger.seedAt(joined)!;
  const commitments = [
    commitment(joiner, file, seed, joined, 6000n, {}, expectedSize, 2000n),
    ...genesisStorers.slice(0, 2).map((k) => commitment(k, file, seed, joined, 6000n, {}, expectedSize)),
  ];
  t.true(commitments.every((c) => c.weight >= 1));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: 'late', file }, commitments)]);
  // A genesis storer's commitment weighed against the old total (4000) on the new seed: refused.
  const stale = fileInfo();
  const staleTx = setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: 'stale', file: stale }, genesisStorers.slice(0, 3).map((k) => commitment(k, stale, seed, joined, 4000n, {}, expectedSize)));
  await t.throwsAsync(chain.finalize([staleTx]), { message: /weight|sortition|total/ });
  alice.nonce -= 1n;

  // UpdateNode to the gateway role only: out of the set from that round; its record stays.
  await chain.finalize([txOf(op, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const left = ledger.tip().round;
  const regLeft = await storerRegistryFromState(left, (k) => ledger.latestState().get(k));
  t.is(regLeft.totalWeight, 4000n);
  t.is(regLeft.lookup(joiner.signPublicKey), undefined);
  t.is(decodeStorerSet(await ledger.latestState().get(STORER_SET_KEY)).length, 4);
  t.is((await readAccount(ledger.latestState(), joiner.signPublicKey)).node?.endpoint, 'joiner.example:7443');
  // And back: UpdateNode with the storer role again puts it back.
  await chain.finalize([txOf(op, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_STORER] } } })]);
  t.is((await storerRegistryFromState(ledger.tip().round, (k) => ledger.latestState().get(k))).totalWeight, 6000n);
});

test('genesis accounts: balances are validated, an unknown or duplicated id is refused', (t) => {
  const base = makeChainGenesis();
  t.notThrows(() => validateGenesis({ ...base, accounts: [{ id: 'ab'.repeat(32), balance: '10' }] }));
  t.throws(() => validateGenesis({ ...base, accounts: [{ id: 'ab'.repeat(32), balance: '-1' }] }), { message: /accounts\[0\]\.balance/ });
  t.throws(() => validateGenesis({ ...base, accounts: [{ id: 'ab'.repeat(32), balance: (1n << 64n).toString() }] }), { message: /below 2\^64/ });
  t.throws(() => validateGenesis({ ...base, accounts: [{ id: 'xyz', balance: '1' }] }), { message: /accounts\[0\]\.id/ });
  t.throws(() => validateGenesis({ ...base, accounts: [{ id: 'ab'.repeat(32), balance: '1' }, { id: 'ab'.repeat(32), balance: '2' }] }), { message: /listed twice/ });
  t.throws(() => validateGenesis({ ...base, accounts: {} }), { message: /"accounts" must be an array/ });
});

function makeChainGenesis() {
  return {
    network: 'n',
    seed: '00'.repeat(32),
    timestampMs: 1,
    params: { replication: 3, storerCommitteeSize: 10, chunkSize: 4096, lambdaMs: 100, auditDepth: 4 },
    nodes: [{ id: 'cd'.repeat(32), vrfPublicKey: 'ef'.repeat(32), endpoint: 'h:1', roles: ['consensus'], stake: '1' }],
  };
}
