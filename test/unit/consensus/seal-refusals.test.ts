// The record of refused seal proofs a consensus node keeps (services/consensus/seal-refusals.ts): what it
// answers for a (storer, file) and for a storer, that entries expire and are bounded, and which pending
// transactions a proposer leaves out because of it.
import test from 'ava';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { RepairReason, type SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { SealRefusals } from '../../../services/consensus/seal-refusals.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/seal-refusals.test.ts');
logSeedOnFailure(test);

const id = () => new Uint8Array(seeded.bytes(32));

function commitment(storerId: Uint8Array, filehash: Uint8Array): StorageCommitment {
  return { storerId: Buffer.from(storerId), vrfPublicKey: Buffer.alloc(32), vrf: undefined, weight: 1, replicaRoot: Buffer.alloc(32), filehash: Buffer.from(filehash), size: 1n, chunkSize: 4096, seed: Buffer.alloc(32), seedRound: 0n, signature: Buffer.alloc(64) };
}

function signed(body: Transaction['body']): SignedTransaction {
  return { tx: { sender: Buffer.alloc(32), nonce: 0n, fee: 0n, chainId: 'x', body }, signature: Buffer.alloc(64) };
}

test('a refusal is found by (storer, file) and by storer, not for another file or storer', (t) => {
  const r = new SealRefusals();
  const [s1, s2, f1, f2] = [id(), id(), id(), id()];
  t.is(r.refused(s1, f1), undefined);
  r.refuse(s1, f1, 'seal proof refused: label mismatch');
  t.is(r.refused(s1, f1)?.reason, 'seal proof refused: label mismatch');
  t.is(r.refused(s1, f2), undefined, 'another file of the same storer is not refused');
  t.is(r.refused(s2, f1), undefined, 'another storer of the same file is not refused');
  t.truthy(r.refusedStorer(s1), 'the storer is known to have had a proof refused');
  t.is(r.refusedStorer(s2), undefined);
});

test('refusals expire after ttlMs and are bounded by capacity, least recently used first out', (t) => {
  let now = 1_000;
  const r = new SealRefusals({ ttlMs: 500, capacity: 2, now: () => now });
  const [s1, s2, s3, f] = [id(), id(), id(), id()];
  r.refuse(s1, f, 'x');
  now += 499;
  t.truthy(r.refused(s1, f), 'still counts just before the ttl');
  now += 2;
  t.is(r.refused(s1, f), undefined, 'gone after the ttl');
  t.is(r.refusedStorer(s1), undefined);
  r.refuse(s1, f, 'a');
  r.refuse(s2, f, 'b');
  r.refuse(s3, f, 'c');
  t.is(r.size, 2);
  t.is(r.refused(s1, f), undefined, 'the oldest left when a third came');
  t.truthy(r.refused(s3, f));
  t.throws(() => new SealRefusals({ capacity: 0 }), { instanceOf: RangeError });
  t.throws(() => new SealRefusals({ ttlMs: 0 }), { instanceOf: RangeError });
});

test('leaveOut names a SetKey or a Repair that brings a refused commitment, and nothing else', (t) => {
  const r = new SealRefusals();
  const [bad, good, f] = [id(), id(), id()];
  r.refuse(bad, f, 'seal proof refused: comm_r_last does not open');
  const file = { filehash: Buffer.from(f), size: 1n, chunkSize: 4096 };
  const setKey = (cs: StorageCommitment[]) => signed({ $case: 'setKey', value: { owner: 'o', collection: 'c', key: 'k', file, contentType: '', commitments: cs, gatewayId: Buffer.alloc(32), gatewaySignature: Buffer.alloc(64) } });
  const repair = (cs: StorageCommitment[]) =>
    signed({ $case: 'repair', value: { owner: 'o', collection: 'c', key: 'k', recordRound: 1n, replaced: [{ commitment: commitment(id(), f), reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: cs } });
  t.regex(r.leaveOut(setKey([commitment(good, f), commitment(bad, f)])) ?? '', new RegExp(`storer ${Buffer.from(bad).toString('hex').slice(0, 16)}'s seal proof .* was refused .*comm_r_last does not open`));
  t.is(r.leaveOut(setKey([commitment(good, f)])), null, 'honest storers only');
  t.is(r.leaveOut(setKey([commitment(bad, id())])), null, 'the refused storer on another file: that file was not refused');
  t.truthy(r.leaveOut(repair([commitment(bad, f)])), 'a Repair bringing it');
  t.is(r.leaveOut(repair([commitment(good, f)])), null);
  t.is(r.leaveOut(signed({ $case: 'setName', value: { name: 'alice', owner: Buffer.from(bad) } })), null, 'other kinds are never left out for this');
});
