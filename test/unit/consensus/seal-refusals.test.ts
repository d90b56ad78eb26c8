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
  return { storerId: Buffer.from(storerId), vrfPublicKey: Buffer.alloc(32), vrf: undefined, weight: 1, replicaRoot: Buffer.alloc(32, 7), filehash: Buffer.from(filehash), size: 1n, chunkSize: 4096, seed: Buffer.alloc(32), seedRound: 0n, signature: Buffer.alloc(64) };
}

function signed(body: Transaction['body']): SignedTransaction {
  return { tx: { sender: Buffer.alloc(32), nonce: 0n, fee: 0n, chainId: 'x', body }, signature: Buffer.alloc(64) };
}

test('a refusal is found for the commitment (storer, file, replica root) and by storer, not for another file, storer or replica', (t) => {
  const r = new SealRefusals();
  const [s1, s2, f1, f2] = [id(), id(), id(), id()];
  const c = commitment(s1, f1);
  t.is(r.refused(c), undefined);
  r.refuse(c, 'seal proof refused: label mismatch');
  t.is(r.refused(c)?.reason, 'seal proof refused: label mismatch');
  t.is(r.refused(commitment(s1, f2)), undefined, 'another file of the same storer is not refused');
  t.is(r.refused(commitment(s2, f1)), undefined, 'another storer of the same file is not refused');
  t.is(r.refused({ ...c, replicaRoot: Buffer.from(id()) }), undefined, 'the same storer and file sealed again (another replica root) is not refused by it');
  t.truthy(r.refusedStorer(s1), 'the storer is known to have had a proof refused');
  t.is(r.refusedStorer(s2), undefined);
});

test('refusals expire after ttlMs and are bounded by capacity, least recently used first out', (t) => {
  let now = 1_000;
  const r = new SealRefusals({ ttlMs: 500, capacity: 2, now: () => now });
  const f = id();
  const [c1, c2, c3] = [commitment(id(), f), commitment(id(), f), commitment(id(), f)];
  r.refuse(c1, 'x');
  now += 499;
  t.truthy(r.refused(c1), 'still counts just before the ttl');
  now += 2;
  t.is(r.refused(c1), undefined, 'gone after the ttl');
  t.is(r.refusedStorer(c1.storerId), undefined);
  r.refuse(c1, 'a');
  r.refuse(c2, 'b');
  r.refuse(c3, 'c');
  t.is(r.size, 2);
  t.is(r.refused(c1), undefined, 'the oldest left when a third came');
  t.truthy(r.refused(c3));
  t.throws(() => new SealRefusals({ capacity: 0 }), { instanceOf: RangeError });
  t.throws(() => new SealRefusals({ ttlMs: 0 }), { instanceOf: RangeError });
});

test('leaveOut names a SetKey or a Repair that brings a refused commitment, and nothing else', (t) => {
  const r = new SealRefusals();
  const [bad, good, f] = [id(), id(), id()];
  r.refuse(commitment(bad, f), 'seal proof refused: comm_r_last does not open');
  const file = { filehash: Buffer.from(f), size: 1n, chunkSize: 4096 };
  const setKey = (cs: StorageCommitment[]) => signed({ $case: 'setKey', value: { owner: 'o', collection: 'c', key: 'k', file, contentType: '', commitments: cs, gatewayId: Buffer.alloc(32), gatewaySignature: Buffer.alloc(64) } });
  const repair = (cs: StorageCommitment[]) =>
    signed({ $case: 'repair', value: { owner: 'o', collection: 'c', key: 'k', recordRound: 1n, chunkSetRound: 0n, replaced: [{ commitment: commitment(id(), f), reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: cs } });
  t.regex(r.leaveOut(setKey([commitment(good, f), commitment(bad, f)])) ?? '', new RegExp(`storer ${Buffer.from(bad).toString('hex').slice(0, 16)}'s seal proof .* was refused .*comm_r_last does not open`));
  t.is(r.leaveOut(setKey([commitment(good, f)])), null, 'honest storers only');
  t.is(r.leaveOut(setKey([commitment(bad, id())])), null, 'the refused storer on another file: that file was not refused');
  t.truthy(r.leaveOut(repair([commitment(bad, f)])), 'a Repair bringing it');
  t.is(r.leaveOut(repair([commitment(good, f)])), null);
  t.is(r.leaveOut(signed({ $case: 'setName', value: { name: 'alice', owner: Buffer.from(bad) } })), null, 'other kinds are never left out for this');
});
