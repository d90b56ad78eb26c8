// Property tests over transactions as the chain receives them (issue #20.5): the SignedTransaction
// decoder, the ledger's stateless checks (checkStateless) and its execution against state (execute ->
// applyTx), with arbitrary bytes, arbitrary field values signed by real keys, and single-byte
// mutations of valid transactions. A non-TxError escaping execute would crash block assembly.
import test from 'ava';
import fc from 'fast-check';
import { Reward, SignedTransaction, Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { SignDomain, sign } from '../../../lib/crypto/index.js';
import { cosignBytes, txId, userSignedBytes } from '../../../lib/chain/tx-bytes.js';
import { checkStateless, TxError } from '../../../services/consensus/ledger/transactions.js';
import { CHAIN, makeNet, newUser, openLedger, setName, signTx } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';
import { anyBytes, anyString, byteMutation, check, checkAsync, mutateByte } from './fuzz.js';

logSeedOnFailure(test);

const net = makeNet();
const users = [newUser(), newUser(), newUser()];

const decodeOrNull = <T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T | null => {
  try {
    return decode(bytes);
  } catch {
    return null;
  }
};

const nameArb = fc.oneof(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), anyString);
const collectionArb = fc.oneof(fc.stringMatching(/^[a-z0-9._-]{1,12}$/), anyString);
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 10n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const bytesOf = (n: number) => fc.oneof({ weight: 3, arbitrary: fc.uint8Array({ minLength: n, maxLength: n }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: n + 8 }) }).map((b) => Buffer.from(b));
const roles = fc.array(fc.integer({ min: -1, max: 8 }), { maxLength: 4 });
const commitmentArb = fc.oneof(
  anyBytes.map((b) => decodeOrNull(StorageCommitment.decode, b) ?? StorageCommitment.fromPartial({})),
  fc.record({ storerId: bytesOf(32), filehash: bytesOf(32), replicaRoot: bytesOf(32), seed: bytesOf(32), size: u64, chunkSize: fc.integer({ min: 0, max: 70000 }), weight: fc.nat(50), seedRound: u64 }).map((r) => StorageCommitment.fromPartial(r)),
);

/** Any transaction body, with field values from valid to absurd. */
const bodyArb: fc.Arbitrary<Transaction['body']> = fc.oneof(
  fc.record({ name: nameArb, owner: bytesOf(32) }).map((value) => ({ $case: 'setName' as const, value })),
  fc.record({ owner: nameArb, collection: collectionArb, settings: fc.option(fc.record({ replication: fc.nat(100), maxFileSize: u64, chunkSize: fc.oneof(fc.constantFrom(0, 4096, 8192, 32768), fc.nat()) }), { nil: undefined }) }).map((value) => ({ $case: 'setBucket' as const, value })),
  fc
    .record({
      owner: nameArb,
      collection: collectionArb,
      key: anyString,
      file: fc.option(fc.record({ filehash: bytesOf(32), size: u64, chunkSize: fc.oneof(fc.constant(4096), fc.nat()) }), { nil: undefined }),
      contentType: fc.string({ maxLength: 20 }),
      commitments: fc.array(commitmentArb, { maxLength: 4 }),
      gatewayId: fc.oneof(fc.constant(Buffer.from(net.gateway.signPublicKey)), bytesOf(32)),
      gatewaySignature: bytesOf(64),
    })
    .map((value) => ({ $case: 'setKey' as const, value })),
  fc.record({ vrfPublicKey: bytesOf(32), endpoint: fc.oneof(fc.constant('127.0.0.1:7001'), anyString), stake: u64, roles }).map((value) => ({ $case: 'registerNode' as const, value })),
  fc
    .record({
      vrfPublicKey: fc.option(bytesOf(32), { nil: undefined }),
      endpoint: fc.option(anyString, { nil: undefined }),
      stake: fc.option(u64, { nil: undefined }),
      roles: fc.option(roles.map((r) => ({ roles: r })), { nil: undefined }),
    })
    .map((value) => ({ $case: 'updateNode' as const, value })),
  anyBytes.map((b) => ({ $case: 'reward' as const, value: decodeOrNull(Reward.decode, b) ?? Reward.fromPartial({ auditedRound: 1n, challengeSeed: Buffer.alloc(32) }) })),
);

/** A transaction from one of the users, signed with the user's key (so it gets past the signature check). */
const signedTxArb = fc
  .record({ user: fc.nat(users.length - 1), nonce: fc.oneof(fc.constant(0n), u64), fee: fc.oneof(fc.constant(0n), u64), chainId: fc.oneof(fc.constant(CHAIN), fc.string({ maxLength: 12 })), body: fc.option(bodyArb, { nil: undefined }), cosign: fc.boolean() })
  .map(({ user, nonce, fee, chainId, body, cosign }) => {
    const u = users[user]!;
    let tx: Transaction = { sender: u.publicKey, nonce, fee, chainId, body };
    if (cosign && tx.body?.$case === 'setKey') {
      const sig = sign(SignDomain.GatewayCosign, net.gateway.signSecretKey, cosignBytes(tx));
      tx = { ...tx, body: { $case: 'setKey', value: { ...tx.body.value, gatewayId: Buffer.from(net.gateway.signPublicKey), gatewaySignature: Buffer.from(sig) } } };
    }
    return signTx(u, tx);
  });

test('SignedTransaction.decode of arbitrary bytes returns a message or throws an Error, and a decoded message re-encodes to a decodable equal', (t) => {
  check('tx-decode', fc.property(anyBytes, (bytes) => {
    let stx: SignedTransaction;
    try {
      stx = SignedTransaction.decode(bytes);
    } catch (err) {
      return err instanceof Error;
    }
    const again = SignedTransaction.decode(SignedTransaction.encode(stx).finish());
    return Buffer.from(SignedTransaction.encode(again).finish()).equals(Buffer.from(SignedTransaction.encode(stx).finish()));
  }), 2000);
  t.pass();
});

test('round trip: every signed transaction encodes and decodes to an equal message with the same id and signing bytes', (t) => {
  check('tx-roundtrip', fc.property(signedTxArb, (stx) => {
    const back = SignedTransaction.decode(SignedTransaction.encode(stx).finish());
    return Buffer.from(txId(back)).equals(Buffer.from(txId(stx))) && Buffer.from(userSignedBytes(back.tx!)).equals(Buffer.from(userSignedBytes(stx.tx!)));
  }), 300);
  t.pass();
});

test('checkStateless throws nothing but TxError on decoded garbage and on arbitrary signed transactions', async (t) => {
  const ledger = await openLedger(net);
  const onlyTxError = (stx: SignedTransaction): boolean => {
    try {
      checkStateless(stx, ledger.rules);
      return true;
    } catch (err) {
      if (err instanceof TxError && err.code === 'INVALID_ARGUMENT') return true;
      throw err;
    }
  };
  check('tx-stateless-garbage', fc.property(anyBytes, (bytes) => {
    const stx = decodeOrNull(SignedTransaction.decode, bytes);
    return stx === null || onlyTxError(stx);
  }), 1000);
  check('tx-stateless-signed', fc.property(signedTxArb, onlyTxError), 400);
  t.pass();
});

test('block execution (stateless checks then applyTx) never throws on arbitrary transactions; each one is included or refused with a TxError', async (t) => {
  const ledger = await openLedger(net);
  const tip = ledger.tip();
  const parent = new Uint8Array((await ledger.certifiedBlock(tip.round))!.block!.header!.stateRoot);
  await checkAsync('tx-execute', fc.asyncProperty(fc.array(signedTxArb, { minLength: 1, maxLength: 6 }), async (txs) => {
    const res = await ledger.execute(tip.round + 1, parent, txs, true);
    if (res.included.length + res.rejected.length !== txs.length) return false;
    return res.rejected.every((r) => r.error instanceof TxError);
  }), 120);
  t.pass();
});

test('a valid signed transaction with any single byte changed is refused or decodes to the very same transaction', async (t) => {
  const ledger = await openLedger(net);
  const u = newUser();
  const valid = setName(u, 'fuzz-name');
  const bytes = SignedTransaction.encode(valid).finish();
  checkStateless(valid, ledger.rules); // the unmutated one passes
  check('tx-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const stx = decodeOrNull(SignedTransaction.decode, mutateByte(bytes, index, flip));
    if (stx === null) return true;
    try {
      checkStateless(stx, ledger.rules);
    } catch (err) {
      if (err instanceof TxError) return true;
      throw err;
    }
    // Accepted: only if it is the same transaction (same id).
    return Buffer.from(txId(stx)).equals(Buffer.from(txId(valid)));
  }), bytes.length * 8);
  t.pass();
});
