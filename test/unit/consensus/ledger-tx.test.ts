// Each transaction kind's accept and reject paths, through the ledger's block execution (the same
// rules the mempool and every validator apply).
import test from 'ava';
import { DEFAULT_BLOCK_LIMITS, Ledger } from '../../../services/consensus/ledger/ledger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { readAccount, readName } from '../../../services/consensus/ledger/state-view.js';
import { pathStateKey } from '../../../lib/chain/state-keys.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { CHAIN, commitment, fileInfo, finalizeBlock, makeNet, newUser, openLedger, setBucket, setKey, setName, signTx, txOf, type Net } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/consensus/ledger-tx.test.ts');
logSeedOnFailure(test);

/** Assembles a block from `txs` and commits it (agreement is not under test here). */
async function finalize(ledger: Ledger, txs: SignedTransaction[]): Promise<{ included: number; rejected: string[] }> {
  const { included, rejected } = await finalizeBlock(ledger, txs, new Uint8Array(seeded.bytes(32)));
  return { included: included.length, rejected: rejected.map((r) => r.error.message) };
}

/** Runs one transaction strictly on the tip's state; resolves on acceptance, rejects with TxError. */
async function run(ledger: Ledger, stx: SignedTransaction): Promise<void> {
  const tip = ledger.tip();
  await ledger.execute(tip.round + 1, new Uint8Array(ledger.tipHeader().stateRoot), [stx], false);
}

async function rejects(t: import('ava').ExecutionContext, ledger: Ledger, stx: SignedTransaction, code: TxError['code'], pattern: RegExp): Promise<void> {
  const err = await t.throwsAsync(run(ledger, stx), { instanceOf: TxError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', pattern);
}

async function withBucket(net: Net, ledger: Ledger) {
  const alice = newUser();
  const r = await finalize(ledger, [setName(alice, 'alice'), setBucket(alice, 'alice', 'photos')]);
  if (r.included !== 2) throw new Error(`setup: ${r.rejected.join('; ')}`);
  return alice;
}

test('genesis puts every genesis node in state with its keys, stake and role', async (t) => {
  const net = makeNet();
  const ledger = await openLedger(net);
  t.is(ledger.tip().round, 0);
  const acct = await readAccount(ledger.latestState(), net.storers[0]!.signPublicKey);
  t.is(acct.node?.stake, 1000n);
  t.deepEqual(acct.node?.roles, [NodeRole.NODE_ROLE_STORER]);
  t.deepEqual(new Uint8Array(acct.node!.vrfPublicKey), net.storers[0]!.vrfPublicKey);
  t.is(ledger.totalStake(1), 4000n);
  t.is(ledger.stakeOf(net.consensus[0]!.id, 1), 1000n);
  t.is(ledger.stakeOf(net.storers[0]!.id, 1), 0n, 'storers do not vote');
});

test('SetName: the first claim wins, a second claim of the same name is refused', async (t) => {
  const ledger = await openLedger(makeNet());
  const alice = newUser();
  const bob = newUser();
  await finalize(ledger, [setName(alice, 'alice')]);
  const rec = await readName(ledger.latestState(), 'alice');
  t.deepEqual(rec?.owner, alice.publicKey);
  await rejects(t, ledger, setName(bob, 'alice'), 'FAILED_PRECONDITION', /already owned/);
  await rejects(t, ledger, setName(alice, 'alice'), 'FAILED_PRECONDITION', /already owned by this key/);
});

test('SetName: two claims of one name in the same block: only the first is included', async (t) => {
  const ledger = await openLedger(makeNet());
  const r = await finalize(ledger, [setName(newUser(), 'carol'), setName(newUser(), 'carol')]);
  t.is(r.included, 1);
  t.regex(r.rejected[0]!, /already owned/);
});

test('SetName: malformed names, foreign owners, bad signatures and other networks are refused', async (t) => {
  const ledger = await openLedger(makeNet());
  await rejects(t, ledger, setName(newUser(), '-bad'), 'INVALID_ARGUMENT', /name/);
  await rejects(t, ledger, setName(newUser(), 'UPPER'), 'INVALID_ARGUMENT', /name/);
  await rejects(t, ledger, setName(newUser(), 'dave', newUser().publicKey), 'FAILED_PRECONDITION', /claimed by its owner key/);
  const eve = newUser();
  const good = setName(eve, 'eve');
  await rejects(t, ledger, { ...good, signature: seeded.bytes(64) }, 'INVALID_ARGUMENT', /signature/);
  const forged = { ...good, tx: { ...good.tx!, body: { $case: 'setName' as const, value: { name: 'mallory', owner: eve.publicKey } } } };
  await rejects(t, ledger, forged, 'INVALID_ARGUMENT', /signature/);
  await rejects(t, ledger, txOf(newUser(), { $case: 'setName', value: { name: 'x', owner: Buffer.alloc(32) } }, { chainId: 'other-net' }), 'INVALID_ARGUMENT', /chain_id/);
});

test('nonces: a replayed transaction and a nonce gap are refused', async (t) => {
  const ledger = await openLedger(makeNet());
  const alice = newUser();
  const claim = setName(alice, 'alice');
  await finalize(ledger, [claim]);
  await rejects(t, ledger, claim, 'FAILED_PRECONDITION', /nonce 0 is not the account's next nonce 1/);
  alice.nonce = 5n;
  await rejects(t, ledger, setBucket(alice, 'alice', 'c'), 'FAILED_PRECONDITION', /nonce 5/);
  const acct = await readAccount(ledger.latestState(), alice.publicKey);
  t.is(acct.nonce, 1n);
});

test('fees: a fee above the balance is refused (accounts start empty)', async (t) => {
  const ledger = await openLedger(makeNet());
  await rejects(t, ledger, txOf(newUser(), { $case: 'setName', value: { name: 'rich', owner: Buffer.alloc(32) } }, { fee: 5n }), 'FAILED_PRECONDITION', /fee 5 exceeds the balance 0/);
});

test('SetBucket: the owner creates a collection; others and unknown names are refused', async (t) => {
  const net = makeNet();
  const ledger = await openLedger(net);
  const alice = await withBucket(net, ledger);
  t.truthy(await ledger.latestState().get(pathStateKey('alice', 'photos')));
  await rejects(t, ledger, setBucket(newUser(), 'alice', 'mine'), 'FAILED_PRECONDITION', /owned by/);
  await rejects(t, ledger, setBucket(alice, 'nobody', 'x'), 'FAILED_PRECONDITION', /not registered/);
  await rejects(t, ledger, setBucket(alice, 'alice', 'Bad Name'), 'INVALID_ARGUMENT', /collection/);
  const tooMany = txOf(alice, { $case: 'setBucket', value: { owner: 'alice', collection: 'x', settings: { replication: 1000, maxFileSize: 0n, chunkSize: 0 } } });
  await rejects(t, ledger, tooMany, 'INVALID_ARGUMENT', /replication/);
});

async function setKeyNet() {
  const net = makeNet();
  const ledger = await openLedger(net);
  const alice = await withBucket(net, ledger);
  const seedRound = ledger.tip().round;
  const seed = ledger.seedAt(seedRound)!;
  const file = fileInfo();
  const total = 4000n;
  const commits = net.storers.slice(0, 3).map((s) => commitment(s, file, seed, seedRound, total));
  const intent = { owner: 'alice', collection: 'photos', key: 'cat.jpg', file };
  return { net, ledger, alice, seed, seedRound, file, total, commits, intent };
}

test('a proposal carries at most limits.maxFiles SetKeys; the rest wait for the next block (assembly only, not a validity rule)', async (t) => {
  const net = makeNet();
  const capped = await Ledger.open({ kv: createMemoryKv(), genesis: net.genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) }, blockLimits: { ...DEFAULT_BLOCK_LIMITS, maxFiles: 2 } });
  const bob = newUser();
  t.is((await finalizeBlock(capped, [setName(bob, 'bob'), setBucket(bob, 'bob', 'photos')], new Uint8Array(seeded.bytes(32)))).included.length, 2);
  const seedRound = capped.tip().round;
  const seed = capped.seedAt(seedRound)!;
  const file = fileInfo();
  const commits = net.storers.slice(0, 3).map((st) => commitment(st, file, seed, seedRound, 4000n));
  const keys = Array.from({ length: 5 }, (_, i) => setKey(bob, net.gateway, { owner: 'bob', collection: 'photos', key: `k${i}`, file }, commits));
  const { payload, rejected } = await capped.assemble(capped.tip().round + 1, keys);
  t.is(payload.txs.length, 2, 'two SetKeys, then the proposal closes');
  t.deepEqual(rejected, [], 'the others are not refused: they wait in the mempool');
  // A block of all five (another proposer's) is still valid here: validation applies no such cap.
  const all = await capped.execute(capped.tip().round + 1, new Uint8Array(capped.tipHeader().stateRoot), keys, false);
  t.is(all.included.length, 5);
});

test('SetKey: N valid commitments co-signed by a registered gateway are accepted and recorded', async (t) => {
  const { net, ledger, alice, commits, intent } = await setKeyNet();
  const r = await finalize(ledger, [setKey(alice, net.gateway, intent, commits)]);
  t.is(r.included, 1, r.rejected.join('; '));
  const bytes = await ledger.latestState().get(pathStateKey('alice', 'photos', 'cat.jpg'));
  const rec = KeyRecord.decode(bytes!);
  t.is(rec.commitments.length, 3);
  t.deepEqual(rec.file?.filehash, intent.file.filehash);
});

test('SetKey: too few commitments, or one storer twice, are refused', async (t) => {
  const { net, ledger, alice, commits, intent } = await setKeyNet();
  await rejects(t, ledger, setKey(alice, net.gateway, intent, commits.slice(0, 2)), 'FAILED_PRECONDITION', /exactly 3/);
  alice.nonce = 2n;
  await rejects(t, ledger, setKey(alice, net.gateway, intent, [commits[0]!, commits[1]!, commits[0]!]), 'INVALID_ARGUMENT', /commits twice/);
});

test('SetKey: a bad gateway co-signature or an unregistered gateway is refused', async (t) => {
  const { net, ledger, alice, commits, intent } = await setKeyNet();
  const stx = setKey(alice, net.gateway, intent, commits);
  const body = stx.tx!.body as { $case: 'setKey'; value: import('../../../gen/wolk/common/v1/tx.js').SetKey };
  const tampered = { ...stx, tx: { ...stx.tx!, body: { $case: 'setKey' as const, value: { ...body.value, gatewaySignature: seeded.bytes(64) } } } };
  await rejects(t, ledger, tampered, 'INVALID_ARGUMENT', /co-signature/);
  alice.nonce = 2n;
  await rejects(t, ledger, setKey(alice, net.storers[3]!, intent, commits), 'FAILED_PRECONDITION', /not a registered gateway/);
});

test('SetKey: an unregistered storer, a forged commitment, a stale seed or a wrong weight is refused', async (t) => {
  const { net, ledger, alice, commits, intent, seed, seedRound, file, total } = await setKeyNet();
  const stranger = (await import('./ledger-fixture.js')).newKey();
  const cases: [import('../../../gen/wolk/common/v1/storage.js').StorageCommitment, RegExp][] = [
    [commitment(stranger, file, seed, seedRound, total), /not a registered storer/],
    [{ ...commits[2]!, replicaRoot: seeded.bytes(32) }, /bad signature/],
    [commitment(net.storers[2]!, file, new Uint8Array(seeded.bytes(32)), seedRound, total), /seed is not the seed/],
    [commitment(net.storers[2]!, file, seed, 99, total), /not a recent finalized round/],
    [commitment(net.storers[2]!, file, seed, seedRound, total, { weight: 7 }), /claims weight 7/],
    [commitment(net.storers[2]!, fileInfo(), seed, seedRound, total), /commits to another file/],
  ];
  for (const [bad, pattern] of cases) {
    alice.nonce = 2n;
    await rejects(t, ledger, setKey(alice, net.gateway, intent, [commits[0]!, commits[1]!, bad]), 'FAILED_PRECONDITION', pattern);
  }
});

test('SetKey: a commitment whose VRF output is above the sortition threshold is refused', async (t) => {
  // Expected storer committee of 1 over 4000 stake units: a storer is selected for ~22% of files.
  const net = makeNet({ storerCommitteeSize: 1 });
  const ledger = await openLedger(net);
  const alice = await withBucket(net, ledger);
  const seedRound = ledger.tip().round;
  const seed = ledger.seedAt(seedRound)!;
  let unselected = 0;
  for (let i = 0; i < 30 && unselected < 2; i++) {
    const file = fileInfo();
    const honest = commitment(net.storers[0]!, file, seed, seedRound, 4000n, {}, 1);
    if (honest.weight !== 0) continue;
    unselected++;
    const claimed = commitment(net.storers[0]!, file, seed, seedRound, 4000n, { weight: 1 }, 1);
    alice.nonce = 2n;
    const others = [commitment(net.storers[1]!, file, seed, seedRound, 4000n, {}, 1), commitment(net.storers[2]!, file, seed, seedRound, 4000n, {}, 1)];
    await rejects(t, ledger, setKey(alice, net.gateway, { owner: 'alice', collection: 'photos', key: 'k', file }, [claimed, ...others]), 'FAILED_PRECONDITION', /storer [0-9a-f]+: (sortition does not select|claims weight)/);
  }
  t.is(unselected, 2);
});

test('RegisterNode / UpdateNode: stake is locked from the balance; a second registration is refused', async (t) => {
  const ledger = await openLedger(makeNet());
  const op = newUser();
  const vrf = seeded.bytes(32);
  await rejects(t, ledger, txOf(op, { $case: 'registerNode', value: { vrfPublicKey: vrf, endpoint: 'h:1', stake: 10n, roles: [NodeRole.NODE_ROLE_STORER] } }), 'FAILED_PRECONDITION', /stake 10 exceeds the balance 0/);
  op.nonce = 0n;
  await rejects(t, ledger, txOf(op, { $case: 'registerNode', value: { vrfPublicKey: vrf, endpoint: 'no-port', stake: 0n, roles: [NodeRole.NODE_ROLE_STORER] } }), 'INVALID_ARGUMENT', /endpoint/);
  op.nonce = 0n;
  await rejects(t, ledger, txOf(op, { $case: 'registerNode', value: { vrfPublicKey: vrf, endpoint: 'h:1', stake: 0n, roles: [NodeRole.NODE_ROLE_GATEWAY, NodeRole.NODE_ROLE_STORER] } }), 'INVALID_ARGUMENT', /roles/);
  op.nonce = 0n;
  await rejects(t, ledger, txOf(op, { $case: 'updateNode', value: { endpoint: 'h:2', roles: undefined } }), 'FAILED_PRECONDITION', /not a registered node/);
  op.nonce = 0n;
  const r = await finalize(ledger, [txOf(op, { $case: 'registerNode', value: { vrfPublicKey: vrf, endpoint: 'h:1', stake: 0n, roles: [NodeRole.NODE_ROLE_STORER] } })]);
  t.is(r.included, 1, r.rejected.join(';'));
  await rejects(t, ledger, txOf(op, { $case: 'registerNode', value: { vrfPublicKey: vrf, endpoint: 'h:1', stake: 0n, roles: [NodeRole.NODE_ROLE_STORER] } }), 'FAILED_PRECONDITION', /already a registered node/);
  op.nonce = 1n;
  await finalize(ledger, [txOf(op, { $case: 'updateNode', value: { endpoint: 'h:2', roles: { roles: [NodeRole.NODE_ROLE_STORER, NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const acct = await readAccount(ledger.latestState(), op.publicKey);
  t.is(acct.node?.endpoint, 'h:2');
  t.deepEqual(acct.node?.roles, [NodeRole.NODE_ROLE_STORER, NodeRole.NODE_ROLE_GATEWAY]);
  t.is(acct.nonce, 2n);
});

test('Reward: a malformed one is refused at the edge (ledger-reward.test.ts has the rest)', async (t) => {
  const ledger = await openLedger(makeNet());
  const noCred = txOf(newUser(), { $case: 'reward', value: { auditedRound: 1n, verifier: undefined, tallies: [], samples: [], challengeSeed: Buffer.alloc(32), standing: [] } });
  await rejects(t, ledger, noCred, 'INVALID_ARGUMENT', /VRF credential/);
  const shortSeed = txOf(newUser(), { $case: 'reward', value: { auditedRound: 1n, verifier: undefined, tallies: [], samples: [], challengeSeed: Buffer.alloc(5), standing: [] } });
  await rejects(t, ledger, shortSeed, 'INVALID_ARGUMENT', /challenge_seed must be 32 bytes/);
});

test('a transaction above the size limit is refused', async (t) => {
  const ledger = await openLedger(makeNet());
  const u = newUser();
  const big = signTx(u, { sender: u.publicKey, nonce: 0n, fee: 0n, chainId: CHAIN + 'x'.repeat(300_000), body: { $case: 'setName', value: { name: 'big', owner: u.publicKey } } });
  await rejects(t, ledger, big, 'INVALID_ARGUMENT', /bytes, at most/);
});
