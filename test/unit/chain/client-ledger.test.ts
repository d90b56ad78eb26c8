// Transactions built and signed by the client library (lib/client/tx.ts: the builders, signTransaction,
// cosignSetKey), as the CLI, the gateway, a self-registering storer and the rewards verifier send
// them (and the rewards service's repairer, docs/repair.md), are accepted by the ledger (checkStateless + applyTx through block assembly, validation and
// commit) for every kind of Transaction.body in tx.proto. The signed bytes and the transaction id come
// from lib/chain/tx-bytes.ts on both sides; should either side compute other bytes again, the ledger
// refuses the client's signature and this test fails (the second test shows the ledger checks exactly
// those bytes: a signature over the whole SetKey, or a co-signature over the intent, is refused).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { BucketRecord, KeyRecord, NameRecord } from '../../../gen/wolk/common/v1/state.js';
import { RepairReason, Transaction, type SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import type { Genesis } from '../../../lib/chain/genesis.js';
import { buildReward, DEFAULT_REWARD_PARAMS, objectChallenge, proveVerifier, type ObjectOutcome } from '../../../lib/chain/reward.js';
import { pathStateKey, rewardedRoundKey } from '../../../lib/chain/state-keys.js';
import { txId, userSignedBytes } from '../../../lib/chain/tx-bytes.js';
import { cosignSetKey, setBucketTransaction, setKeyTransaction, setNameTransaction, signTransaction } from '../../../lib/client/tx.js';
import type { ClientKey } from '../../../lib/client/signing.js';
import { sha256, sign, SignDomain, toHex } from '../../../lib/crypto/index.js';
import type { NodeKey } from '../../../lib/identity/node-key.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { readAccount } from '../../../services/consensus/ledger/state-view.js';
import { TxError } from '../../../services/consensus/ledger/transactions.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { commitment, finalizeBlock, makeNet } from '../consensus/ledger-fixture.js';
import { answerFile, makeFile, replicaRoot } from '../rewards/world.js';

/** Keys, seeds and files, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/chain/client-ledger.test.ts');
logSeedOnFailure(test);

const crypto = { hash: (...p: Uint8Array[]) => sha256(...p) };
const VERIFIER_STAKE = 10n;
const JOINER_BALANCE = 5000n;
const clientKey = (k: NodeKey): ClientKey => ({ publicKey: k.signPublicKey, secretKey: k.signSecretKey });

/** The cases of Transaction.body, read from the contract (snake_case field names to ts-proto's camelCase). */
function bodyKindsInProto(): string[] {
  const proto = readFileSync(new URL('../../../proto/wolk/common/v1/tx.proto', import.meta.url), 'utf8');
  const message = /message Transaction \{([\s\S]*?)\n\}/.exec(proto)?.[1] ?? '';
  const oneof = /oneof body \{([\s\S]*?)\}/.exec(message)?.[1] ?? '';
  return [...oneof.matchAll(/^\s*\w+\s+(\w+)\s*=\s*\d+;/gm)].map((m) => m[1]!.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
}

/** Assembles, validates and commits a block of `txs` (agreement is not under test); the messages of refused ones. */
async function finalize(ledger: Ledger, txs: SignedTransaction[], seed: Uint8Array = new Uint8Array(seeded.bytes(32))): Promise<{ included: number; refused: string[] }> {
  const { included, rejected } = await finalizeBlock(ledger, txs, seed);
  return { included: included.length, refused: rejected.map((r) => r.error.message) };
}

test('a transaction of every kind, built and signed by the client library, is applied by the ledger', async (t) => {
  const base = makeNet();
  const verifier = seeded.nodeKey();
  const joiner = seeded.nodeKey();
  const alice = seeded.nodeKey();
  const genesis: Genesis = {
    ...base.genesis,
    nodes: [...base.genesis.nodes, { id: verifier.id, vrfPublicKey: toHex(verifier.vrfPublicKey), endpoint: '127.0.0.1:7100', roles: ['rewards'], stake: String(VERIFIER_STAKE) }],
    accounts: [{ id: joiner.id, balance: String(JOINER_BALANCE) }],
  };
  const chain = genesis.network;
  const ledger = await Ledger.open({ kv: createMemoryKv(), genesis, crypto });
  const state = () => ledger.latestState();
  const covered = new Set<string>();
  const sent = (stxs: SignedTransaction[]) => {
    for (const s of stxs) covered.add(s.tx!.body!.$case);
    return stxs;
  };
  const a = clientKey(alice);

  // SetName and SetBucket, as `wolk name` / `wolk bucket` send them (lib/client/client.ts).
  const names = sent([
    signTransaction(setNameTransaction('alice', alice.signPublicKey, 0n, chain), a),
    signTransaction(setBucketTransaction('alice', 'docs', { replication: 3 }, alice.signPublicKey, 1n, chain), a),
  ]);
  t.deepEqual(await finalize(ledger, names), { included: 2, refused: [] });
  t.deepEqual(NameRecord.decode((await state().get(pathStateKey('alice')))!).owner, Buffer.from(alice.signPublicKey));
  t.is(BucketRecord.decode((await state().get(pathStateKey('alice', 'docs')))!).settings?.replication, 3);

  // SetKey: the user signs the intent (setKeyTransaction + signTransaction), the gateway adds the
  // storers' commitments and co-signs (cosignSetKey), as services/gateway/put-file.ts does.
  const files = [makeFile(3 * 4096 + 100), makeFile(4096)];
  const seedRound = ledger.tip().round;
  const seed = ledger.seedAt(seedRound)!;
  const total = BigInt(base.storers.length) * 1000n;
  const storers = base.storers.slice(0, 3);
  const gateway = { publicKey: base.gateway.signPublicKey, secretKey: base.gateway.signSecretKey };
  const setKeys = sent(
    files.map((f, i) => {
      const file = { filehash: Buffer.from(f.filehash), size: BigInt(f.size), chunkSize: 4096 };
      const intent = signTransaction(setKeyTransaction({ owner: 'alice', collection: 'docs', key: `f${i}`, file, contentType: 'text/plain' }, alice.signPublicKey, BigInt(2 + i), chain), a);
      const cs = storers.map((s) => commitment(s, file, seed, seedRound, total, { replicaRoot: Buffer.from(replicaRoot(s, f)) }));
      return cosignSetKey(intent, cs, gateway);
    }),
  );
  t.deepEqual(await finalize(ledger, setKeys), { included: 2, refused: [] });
  const audited = ledger.tip().round;
  const rec = KeyRecord.decode((await state().get(pathStateKey('alice', 'docs', 'f0')))!);
  t.deepEqual(rec.txId, Buffer.from(txId(setKeys[0]!)), 'the key record holds the id the client computes');
  t.is(rec.commitments.length, 3);

  // RegisterNode, then UpdateNode, as a storer that is not in the genesis registers itself
  // (services/storer/register.ts: a Transaction body signed with signTransaction).
  const joinerKey = clientKey(joiner);
  const register: Transaction = {
    sender: Buffer.from(joiner.signPublicKey),
    nonce: 0n,
    fee: 0n,
    chainId: chain,
    body: { $case: 'registerNode', value: { vrfPublicKey: Buffer.from(joiner.vrfPublicKey), endpoint: '127.0.0.1:7200', stake: 1000n, roles: [NodeRole.NODE_ROLE_STORER] } },
  };
  t.deepEqual(await finalize(ledger, sent([signTransaction(register, joinerKey)])), { included: 1, refused: [] });
  const update: Transaction = {
    ...register,
    nonce: 1n,
    body: { $case: 'updateNode', value: { endpoint: '127.0.0.1:7201', stake: 1500n, roles: { roles: [NodeRole.NODE_ROLE_STORER, NodeRole.NODE_ROLE_INDEXER] } } },
  };
  t.deepEqual(await finalize(ledger, sent([signTransaction(update, joinerKey)])), { included: 1, refused: [] });
  const joined = await readAccount(state(), joiner.signPublicKey);
  t.is(joined.node?.endpoint, '127.0.0.1:7201');
  t.is(joined.node?.stake, 1500n);
  t.deepEqual(joined.node?.roles, [NodeRole.NODE_ROLE_STORER, NodeRole.NODE_ROLE_INDEXER]);
  t.is(joined.balance, JOINER_BALANCE - 1500n, 'the stake is locked from the balance');

  // Reward: the verifier's audit of block `audited`, Q rounds later, signed as services/rewards/rewarder.ts does.
  const rewardRound = audited + genesis.params.auditDepth;
  while (ledger.tip().round < rewardRound - 2) await finalize(ledger, []);
  let prevSeed: Uint8Array;
  do prevSeed = new Uint8Array(seeded.bytes(32));
  while (proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers) === null);
  await finalize(ledger, [], prevSeed);
  const credential = proveVerifier(verifier.vrfSecretKey, prevSeed, rewardRound, { stake: VERIFIER_STAKE, totalStake: VERIFIER_STAKE }, DEFAULT_REWARD_PARAMS.expectedVerifiers)!;
  const outcomes: ObjectOutcome[] = storers.flatMap((s) =>
    files.map((f) => ({
      kind: 'file' as const,
      storerId: s.signPublicKey,
      objectId: f.filehash,
      outcome: 'valid' as const,
      proof: answerFile(s, f, objectChallenge(prevSeed, audited, f.filehash, s.signPublicKey), DEFAULT_REWARD_PARAMS.leavesPerFile),
    })),
  );
  const reward = buildReward({ auditedRound: audited, verifier: credential, challengeSeed: prevSeed, outcomes, samplesPerStorer: DEFAULT_REWARD_PARAMS.samplesPerStorer });
  const rewardTx: Transaction = { sender: Buffer.from(verifier.signPublicKey), nonce: 0n, fee: 0n, chainId: chain, body: { $case: 'reward', value: reward } };
  t.deepEqual(await finalize(ledger, sent([signTransaction(rewardTx, clientKey(verifier))])), { included: 1, refused: [] });
  t.truthy(await state().get(rewardedRoundKey(audited)), 'the audited round is marked rewarded');
  t.is((await readAccount(state(), storers[0]!.signPublicKey)).balance, BigInt(files.length) * DEFAULT_REWARD_PARAMS.rewardPerValid);

  // Repair (docs/repair.md): storer 0 leaves (an UpdateNode without the storer role), then the rewards
  // node, in its repairer role, replaces storer 0's commitment to f0 with storer 3's on the latest seed.
  const leaver = storers[0]!;
  const leave: Transaction = { sender: Buffer.from(leaver.signPublicKey), nonce: 0n, fee: 0n, chainId: chain, body: { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } } };
  t.deepEqual(await finalize(ledger, sent([signTransaction(leave, clientKey(leaver))])), { included: 1, refused: [] });
  const f0 = KeyRecord.decode((await state().get(pathStateKey('alice', 'docs', 'f0')))!);
  const at = ledger.tip().round;
  // Storers 1-3 (1000 each) and the joiner (1500) remain: the sortition total is 4500.
  const replacement = commitment(base.storers[3]!, f0.file!, ledger.seedAt(at)!, at, 4500n, { replicaRoot: Buffer.from(replicaRoot(base.storers[3]!, files[0]!)) }, Number(total));
  const repairTx: Transaction = {
    sender: Buffer.from(verifier.signPublicKey),
    nonce: 1n,
    fee: 0n,
    chainId: chain,
    body: { $case: 'repair', value: { owner: 'alice', collection: 'docs', key: 'f0', recordRound: f0.round, chunkSetRound: 0n, replaced: [{ commitment: f0.commitments[0]!, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] } },
  };
  t.deepEqual(await finalize(ledger, sent([signTransaction(repairTx, clientKey(verifier))])), { included: 1, refused: [] });
  const repaired = KeyRecord.decode((await state().get(pathStateKey('alice', 'docs', 'f0')))!);
  t.deepEqual(repaired.commitments.map((c) => toHex(c.storerId)), [base.storers[3]!, storers[1]!, storers[2]!].map((k) => k.id));

  const kinds = bodyKindsInProto();
  t.is(kinds.length, 7, `tx.proto Transaction.body cases: ${kinds.join(', ')}`);
  t.deepEqual([...covered].sort(), [...kinds].sort(), 'every kind of Transaction.body was sent');
});

test('the ledger checks exactly the bytes the client signs: a signature or co-signature over other bytes is refused', async (t) => {
  const net = makeNet();
  const ledger = await Ledger.open({ kv: createMemoryKv(), genesis: net.genesis, crypto });
  const alice = seeded.nodeKey();
  const gateway = { publicKey: net.gateway.signPublicKey, secretKey: net.gateway.signSecretKey };
  const file = { filehash: seeded.bytes(32), size: 10_000n, chunkSize: 4096 };
  const intent = setKeyTransaction({ owner: 'alice', collection: 'docs', key: 'k', file, contentType: '' }, alice.signPublicKey, 0n, net.genesis.network);
  const good = cosignSetKey(signTransaction(intent, clientKey(alice)), [], gateway);
  const run = (stx: SignedTransaction) => ledger.execute(ledger.tip().round + 1, new Uint8Array(ledger.tipHeader().stateRoot), [stx], false);
  const refused = async (stx: SignedTransaction, code: TxError['code'], re: RegExp) => {
    const err = await t.throwsAsync(run(stx), { instanceOf: TxError });
    t.is(err?.code, code, err?.message);
    t.regex(err?.message ?? '', re);
  };
  // The client library's transaction passes every signature check and fails only on state (no name yet).
  await refused(good, 'FAILED_PRECONDITION', /name "alice" is not registered/);
  // A user signature over the whole transaction (gateway fields not cleared): other bytes, refused.
  const whole = { tx: good.tx, signature: Buffer.from(sign(SignDomain.Tx, alice.signSecretKey, Transaction.encode(good.tx!).finish())) };
  await refused(whole, 'INVALID_ARGUMENT', /bad sender signature/);
  // A gateway co-signature over the user's intent bytes instead of the whole transaction: refused.
  const body = good.tx!.body as Extract<Transaction['body'], { $case: 'setKey' }>;
  const cosig = Buffer.from(sign(SignDomain.GatewayCosign, gateway.secretKey, userSignedBytes(good.tx!)));
  await refused({ ...good, tx: { ...good.tx!, body: { $case: 'setKey', value: { ...body.value, gatewaySignature: cosig } } } }, 'INVALID_ARGUMENT', /bad gateway co-signature/);
});
