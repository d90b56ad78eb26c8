// Repair transactions against the real ledger (docs/repair.md §5, §6): a key whose storer left (or fell
// below the reputation threshold) gets a replacement chosen by VRF on a fresh seed; the record keeps N
// commitments, the new one in the replaced one's place, and the block's NewChunks names the new storer
// for its audit. Every refusal goes through the same execute/assemble/validate path as other
// transactions: forged evidence, a replaced storer still live, a replayed or stale repair, a duplicate
// replacement, a wrong or stale seed, a sender that is not a rewards node, too many per block.
import test from 'ava';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { AccountRecord } from '../../../gen/wolk/common/v1/state.js';
import type { FileInfo, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair, type SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { validateGenesis, type Genesis } from '../../../lib/chain/genesis.js';
import { DEFAULT_REPAIR_PARAMS, repairParamsOf } from '../../../lib/chain/repair.js';
import { accountStateKey } from '../../../lib/chain/state-keys.js';
import { sha256, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { Ledger, txRootOf } from '../../../services/consensus/ledger/ledger.js';
import { encodeLedgerPart } from '../../../services/consensus/wire.js';
import { readAccount, readKey } from '../../../services/consensus/ledger/state-view.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { blockOf, commitment, fileInfo, finalizeBlock, makeNet, newKey, newUser, setBucket, setKey, setName, signTx, txOf, type Net, type User } from './ledger-fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/ledger-repair.test.ts');
logSeedOnFailure(test);

const STAKE = 1000n;
const finalize = (ledger: Ledger, txs: SignedTransaction[]) => finalizeBlock(ledger, txs, new Uint8Array(seeded.bytes(32)));

interface Scene {
  readonly net: Net;
  readonly ledger: Ledger;
  readonly repairers: [User, User];
  readonly alice: User;
  readonly file: FileInfo;
  /** Storers 0, 1, 2 committed to alice/docs/a in block `written`. */
  readonly original: StorageCommitment[];
  readonly written: number;
  readonly expectedSize: number;
  /** A commitment of `storer` for the file on the seed of the tip round (or `seedRound`), weighed against `total` storer stake. */
  fresh(storer: NodeKey, total: bigint, seedRound?: number): StorageCommitment;
  repairTx(from: User, r: Partial<Repair> & Pick<Repair, 'replaced' | 'commitments'>): SignedTransaction;
}

function userOf(k: NodeKey): User {
  return { publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n };
}

/** 6 storers, N = 3, two rewards nodes (repairers); alice/docs/a stored by storers 0-2; storer 0 then leaves (UpdateNode drops the storer role). */
async function scene(params: Genesis['params']['repair'] = undefined, opts: { leave?: boolean } = {}): Promise<Scene> {
  const base = makeNet({ storers: 6, replication: 3, storerCommitteeSize: 5000 });
  const r1 = newKey();
  const r2 = newKey();
  const expectedSize = base.genesis.params.storerCommitteeSize;
  const genesis: Genesis = {
    ...base.genesis,
    params: { ...base.genesis.params, ...(params ? { repair: params } : {}) },
    nodes: [...base.genesis.nodes, ...[r1, r2].map((k, i) => ({ id: k.id, vrfPublicKey: toHex(k.vrfPublicKey), endpoint: `127.0.0.1:${7200 + i}`, roles: ['rewards' as const], stake: '10' }))],
  };
  const net = { ...base, genesis };
  const ledger = await Ledger.open({ kv: createMemoryKv(), genesis, crypto: { hash: (...p: Uint8Array[]) => sha256(...p) } });
  const alice = newUser();
  await finalize(ledger, [setName(alice, 'alice'), setBucket(alice, 'alice', 'docs')]);
  const file = fileInfo(20_000n);
  const total = STAKE * BigInt(net.storers.length);
  const seedRound = ledger.tip().round;
  const original = net.storers.slice(0, 3).map((s) => commitment(s, file, ledger.seedAt(seedRound)!, seedRound, total, {}, expectedSize));
  const put = await finalize(ledger, [setKey(alice, net.gateway, { owner: 'alice', collection: 'docs', key: 'a', file }, original)]);
  if (put.included.length !== 1) throw new Error(`setup: ${put.rejected.map((r) => r.error.message).join('; ')}`);
  const written = ledger.tip().round;
  if (opts.leave !== false) {
    const s0 = userOf(net.storers[0]!);
    const left = await finalize(ledger, [txOf(s0, { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
    if (left.included.length !== 1) throw new Error(`setup: ${left.rejected.map((r) => r.error.message).join('; ')}`);
  }
  const fresh = (storer: NodeKey, totalStake: bigint, at = ledger.tip().round) => commitment(storer, file, ledger.seedAt(at)!, at, totalStake, {}, expectedSize);
  const repairTx = (from: User, r: Partial<Repair> & Pick<Repair, 'replaced' | 'commitments'>) =>
    txOf(from, { $case: 'repair', value: { owner: 'alice', collection: 'docs', key: 'a', recordRound: BigInt(written), chunkSetRound: 0n, ...r } });
  return { net, ledger, repairers: [userOf(r1), userOf(r2)], alice, file, original, written, expectedSize, fresh, repairTx };
}

/** A block body claiming `txs` (tx_root right, the rest whatever): validation gets as far as the transactions. */
function claimedBlock(ledger: Ledger, txs: SignedTransaction[]) {
  const body = encodeLedgerPart({ stateRoot: Buffer.alloc(32), txRoot: Buffer.from(txRootOf(txs)), newChunksHash: Buffer.alloc(32), timestampMs: BigInt(Date.now()) });
  return { block: blockOf(ledger, body, new Uint8Array(32)), payload: { txs } };
}

const dereg = (c: StorageCommitment) => ({ commitment: c, reason: RepairReason.REPAIR_REASON_DEREGISTERED });

async function run(ledger: Ledger, stx: SignedTransaction, root: Uint8Array = new Uint8Array(ledger.tipHeader().stateRoot)): Promise<void> {
  await ledger.execute(ledger.tip().round + 1, root, [stx], false);
}

async function refused(t: import('ava').ExecutionContext, ledger: Ledger, stx: SignedTransaction, re: RegExp, code: TxError['code'] = 'FAILED_PRECONDITION', root?: Uint8Array): Promise<void> {
  const err = await t.throwsAsync(run(ledger, stx, root), { instanceOf: TxError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', re);
}

/** Five storers remain after storer 0 left. */
const AFTER_LEAVE = STAKE * 5n;

test('a storer that left is replaced: the record keeps N, the new commitment takes its place, the block audits the new storer', async (t) => {
  const s = await scene();
  const [s0, s1, s2, s3] = s.net.storers;
  const c3 = s.fresh(s3!, AFTER_LEAVE);
  const { included, rejected } = await finalize(s.ledger, [s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [c3] })]);
  t.deepEqual(rejected.map((r) => r.error.message), []);
  t.is(included.length, 1);
  const round = s.ledger.tip().round;
  const rec = (await readKey(s.ledger.latestState(), 'alice', 'docs', 'a'))!;
  t.deepEqual(rec.commitments.map((c) => toHex(c.storerId)), [s3, s1, s2].map((k) => k!.id), 'same count and order, storer 0 replaced in place');
  t.is(rec.repairedRound, BigInt(round));
  t.is(rec.repairs, 1);
  t.is(rec.round, BigInt(s.written), 'the SetKey round stays');
  t.false(rec.commitments.some((c) => toHex(c.storerId) === s0!.id));
  const block = (await s.ledger.certifiedBlock(round))!.block;
  const files = block.newChunks?.files ?? [];
  t.is(files.length, 1, 'the repair block names the file');
  t.deepEqual(files[0]!.commitments.map((c) => toHex(c.storerId)), [s3!.id], 'with the new commitment only: its audit challenges the new storer');
  t.deepEqual(Buffer.from(files[0]!.file!.filehash), Buffer.from(s.file.filehash));
});

test('a storer below the reputation threshold is replaced; one in good standing never is', async (t) => {
  const s = await scene(undefined, { leave: false });
  const [, s1, , s3] = s.net.storers;
  const all = STAKE * 6n;
  // A state in which storer 1's reputation fell to 875 000 (one all-invalid audit; ledger-reward.test.ts
  // shows a Reward doing that): the same record with only reputation_ppm changed.
  const parent = new Uint8Array(s.ledger.tipHeader().stateRoot);
  const a1 = await readAccount(s.ledger.latestState(), s1!.signPublicKey);
  const low = await s.ledger.tree.update(parent, [{ key: accountStateKey(s1!.signPublicKey), value: AccountRecord.encode({ ...a1, node: { ...a1.node!, reputationPpm: 875_000 } }).finish() }]);
  const low1 = { commitment: s.original[1]!, reason: RepairReason.REPAIR_REASON_LOW_REPUTATION };
  const ok = s.repairTx(s.repairers[0], { replaced: [low1], commitments: [s.fresh(s3!, all)] });
  await t.notThrowsAsync(run(s.ledger, ok, low));
  // The same repair on the real state (storer 1 at full reputation): refused.
  s.repairers[0].nonce = 0n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [low1], commitments: [s.fresh(s3!, all)] }), /storer [0-9a-f]{16} is still live \(reputation 1000000 ppm, threshold 900000\)/);
  // The evidence must name the true reason: storer 1 is registered, so "deregistered" is forged.
  s.repairers[0].nonce = 0n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[1]!)], commitments: [s.fresh(s3!, all)] }), /forged evidence: .* claims deregistered, the state says low reputation/, 'FAILED_PRECONDITION', low);
});

test('forged evidence: a replaced commitment that is not the record\'s is refused', async (t) => {
  const s = await scene();
  const [s0, , , s3] = s.net.storers;
  // Storer 0's genuine signature over a commitment it never gave for this key (another replica root).
  const other = commitment(s0!, s.file, s.ledger.seedAt(s.written - 1)!, s.written - 1, STAKE * 6n, { replicaRoot: Buffer.from(seeded.bytes(32)) }, s.expectedSize);
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(other)], commitments: [s.fresh(s3!, AFTER_LEAVE)] }), /forged evidence: replaced\[0\] .* is not a commitment of wolk:\/\/alice\/docs\/a/);
});

test('a replayed repair is refused (nonce), a re-signed copy is stale, and two racing repairers make one repair', async (t) => {
  const s = await scene();
  const [, , , s3, s4] = s.net.storers;
  const first = s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s3!, AFTER_LEAVE)] });
  const rival = s.repairTx(s.repairers[1], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s4!, AFTER_LEAVE)] });
  // Both in one block: the first applies, the second is left out as stale.
  const { included, rejected } = await finalize(s.ledger, [first, rival]);
  t.is(included.length, 1);
  t.is(rejected.length, 1);
  t.regex(rejected[0]!.error.message, /stale: wolk:\/\/alice\/docs\/a was last written in round \d+, the repair is for round \d+/);
  const rec = (await readKey(s.ledger.latestState(), 'alice', 'docs', 'a'))!;
  t.is(rec.repairs, 1, 'one effective repair');
  t.is(toHex(rec.commitments[0]!.storerId), s3!.id);
  const round = s.ledger.tip().round;
  // The same bytes again: the nonce is used.
  await refused(t, s.ledger, first, /nonce 0 is not the account's next nonce 1/);
  // Re-signed with the next nonce (what a replaying repairer would do): stale, and storer 0's commitment is gone.
  s.repairers[0].nonce = 1n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s4!, AFTER_LEAVE)] }), /stale/);
  s.repairers[0].nonce = 1n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { recordRound: BigInt(round), replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s4!, AFTER_LEAVE)] }), /forged evidence: replaced\[0\]/);
});

test('a block with two racing repairs of one key is invalid', async (t) => {
  const s = await scene();
  const [, , , s3, s4] = s.net.storers;
  const first = s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s3!, AFTER_LEAVE)] });
  const rival = s.repairTx(s.repairers[1], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s4!, AFTER_LEAVE)] });
  const { block, payload } = claimedBlock(s.ledger, [first, rival]);
  const v = await s.ledger.validate(block, payload);
  t.false(v.valid);
  t.regex(v.reason ?? '', /^tx 1 \([0-9a-f]+\): Repair: stale/);
});

test('duplicate replacement: a new storer that already holds the key, or one storer twice, is refused', async (t) => {
  const s = await scene();
  const [, s1, , s3] = s.net.storers;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s1!, AFTER_LEAVE)] }), /duplicate replacement: storer [0-9a-f]{16} already holds a commitment/);
  s.repairers[0].nonce = 0n;
  const c3 = s.fresh(s3!, AFTER_LEAVE);
  const twice = s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!), dereg(s.original[1]!)], commitments: [c3, c3] });
  await refused(t, s.ledger, twice, /new storer [0-9a-f]{16} commits twice/, 'INVALID_ARGUMENT');
});

test('wrong seed: not the round\'s seed, or a seed from before the record was written, is refused', async (t) => {
  const s = await scene();
  const [, , , s3] = s.net.storers;
  const tip = s.ledger.tip().round;
  // A seed that is not the seed of its round (signed by the storer, so only the seed check can catch it).
  const forgedSeed = commitment(s3!, s.file, new Uint8Array(seeded.bytes(32)), tip, AFTER_LEAVE, {}, s.expectedSize);
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [forgedSeed] }), new RegExp(`seed is not the seed of round ${tip}`));
  // The seed the original storers were chosen on (before the record existed): not fresh.
  s.repairers[0].nonce = 0n;
  const old = s.fresh(s3!, STAKE * 6n, s.written - 1);
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [old] }), new RegExp(`seed_round ${s.written - 1} is before the record's last write \\(round ${s.written}\\): not a fresh seed`));
});

test('a replacement that is not live, and a sender that is not a rewards node, are refused', async (t) => {
  const s = await scene();
  const [s0, , , s3, , s5] = s.net.storers;
  // Storer 0 (replaced) cannot come back as its own replacement.
  const c0 = commitment(s0!, s.file, s.ledger.seedAt(s.written)!, s.written, STAKE * 6n, {}, s.expectedSize);
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [c0] }), /both replaced and new/, 'INVALID_ARGUMENT');
  s.repairers[0].nonce = 0n;
  // Storer 5 leaves too: its commitment on a seed from before it left is valid by itself, but it is not live now.
  const c5 = commitment(s5!, s.file, s.ledger.seedAt(s.written)!, s.written, STAKE * 6n, {}, s.expectedSize);
  const gone = await finalize(s.ledger, [txOf(userOf(s5!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  t.is(gone.included.length, 1);
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [c5] }), /new storer [0-9a-f]{16} is not a registered storer/);
  s.repairers[0].nonce = 0n;
  const stranger = newUser();
  await refused(t, s.ledger, s.repairTx(stranger, { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s3!, AFTER_LEAVE)] }), /the sender is not a registered rewards node/);
});

test('at most maxPerBlock Repairs per block: assembly keeps the rest for later, validation refuses more', async (t) => {
  const s = await scene({ maxPerBlock: 1 }, { leave: false });
  const [, , , s3, s4] = s.net.storers;
  // A second key, also held by storer 0.
  const file2 = fileInfo(9_000n);
  const at = s.ledger.tip().round;
  const cs = [s.net.storers[0]!, s.net.storers[1]!, s.net.storers[2]!];
  const older = s.written;
  const put = await finalize(s.ledger, [setKey(s.alice, s.net.gateway, { owner: 'alice', collection: 'docs', key: 'b', file: file2 }, cs.map((k) => commitment(k, file2, s.ledger.seedAt(older)!, older, STAKE * 6n, {}, s.expectedSize)))]);
  t.is(put.included.length, 1, put.rejected.map((r) => r.error.message).join('; '));
  const writtenB = s.ledger.tip().round;
  t.true(writtenB > at);
  // Now storer 0 leaves: both keys need a repair.
  const left = await finalize(s.ledger, [txOf(userOf(s.net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  t.is(left.included.length, 1);
  const recB = (await readKey(s.ledger.latestState(), 'alice', 'docs', 'b'))!;
  const tip = s.ledger.tip().round;
  const repA = s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [s.fresh(s3!, AFTER_LEAVE, tip)] });
  const repB: SignedTransaction = (() => {
    const tx: Transaction = {
      sender: s.repairers[1].publicKey,
      nonce: 0n,
      fee: 0n,
      chainId: s.net.genesis.network,
      body: { $case: 'repair', value: { owner: 'alice', collection: 'docs', key: 'b', recordRound: BigInt(writtenB), chunkSetRound: 0n, replaced: [dereg(recB.commitments[0]!)], commitments: [commitment(s4!, file2, s.ledger.seedAt(tip)!, tip, AFTER_LEAVE, {}, s.expectedSize)] } },
    };
    return signTx(s.repairers[1], tx);
  })();
  const { payload, rejected } = await s.ledger.assemble(tip + 1, [repA, repB]);
  t.is(payload.txs.length, 1);
  t.is(rejected.length, 1);
  t.true(rejected[0]!.error.future, 'kept for a later block');
  t.regex(rejected[0]!.error.message, /at most 1 Repairs/);
  const claimed = claimedBlock(s.ledger, [repA, repB]);
  const v = await s.ledger.validate(claimed.block, claimed.payload);
  t.false(v.valid);
  t.is(v.reason, '2 Repair transactions in the block, at most 1');
  // Each alone is fine: the next block takes the one left out.
  const next = await finalize(s.ledger, [repB]);
  t.is(next.included.length, 1, next.rejected.map((r) => r.error.message).join('; '));
});

test('malformed repairs are INVALID_ARGUMENT', async (t) => {
  const s = await scene();
  const [, , , s3] = s.net.storers;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [], commitments: [] }), /replace 1 to 64 commitments, got 0/, 'INVALID_ARGUMENT');
  s.repairers[0].nonce = 0n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [dereg(s.original[0]!)], commitments: [] }), /replaces 1 commitments but brings 0/, 'INVALID_ARGUMENT');
  s.repairers[0].nonce = 0n;
  await refused(t, s.ledger, s.repairTx(s.repairers[0], { replaced: [{ commitment: s.original[0]!, reason: RepairReason.REPAIR_REASON_UNSPECIFIED }], commitments: [s.fresh(s3!, AFTER_LEAVE)] }), /reason must be DEREGISTERED or LOW_REPUTATION/, 'INVALID_ARGUMENT');
});

test('genesis params.repair: defaults when absent, malformed values refused with the field named', (t) => {
  const g = makeNet().genesis;
  t.deepEqual(repairParamsOf(g.params.repair), DEFAULT_REPAIR_PARAMS);
  t.deepEqual(repairParamsOf({ maxPerBlock: 2 }), { liveReputationPpm: 900_000, maxPerBlock: 2 });
  t.notThrows(() => validateGenesis({ ...g, params: { ...g.params, repair: { liveReputationPpm: 500_000 } } }));
  t.throws(() => validateGenesis({ ...g, params: { ...g.params, repair: { liveReputationPpm: 1_000_001 } } }), { message: /params\.repair": liveReputationPpm must be an integer from 0 to 1000000, got 1000001/ });
  t.throws(() => validateGenesis({ ...g, params: { ...g.params, repair: { maxPerBlock: 0 } } }), { message: /maxPerBlock must be a positive integer, got 0/ });
});
