// Sortition honesty: the verifier in lib/chain/commitment.ts accepts a storer's honest commitment and
// rejects forged, reused, replayed or inflated ones, and checks "not selected" answers too.
import test from 'ava';
import type { StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import {
  signStorageCommitment,
  storerAlpha,
  verifyNotSelected,
  verifyStorageCommitment,
  type CommitmentContext,
  type RegisteredStorer,
} from '../../../lib/chain/commitment.js';
import { proveSortition } from '../../../lib/crypto/sortition.js';
import { nodeKeyFromSeeds, type NodeKey } from '../../../lib/identity/node-key.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/storer/commitment.test.ts');
logSeedOnFailure(test);

const keyOf = (i: number) => nodeKeyFromSeeds(sha256(Buffer.from(`sign ${i}`)), sha256(Buffer.from(`vrf ${i}`)));
const storers = [keyOf(1), keyOf(2), keyOf(3)];
const STAKE = 1000n;
const TOTAL = 3000n;
const TAU = 2; // p = 2/3000 per stake unit: each storer is selected about half the time

const registry = new Map<string, RegisteredStorer>(storers.map((k) => [k.id, { vrfPublicKey: k.vrfPublicKey, stake: STAKE }]));
const lookup = (id: Uint8Array) => registry.get(Buffer.from(id).toString('hex'));
const filehash = sha256(Buffer.from('a file'));
const ctxFor = (seed: Uint8Array, fh = filehash): CommitmentContext => ({ lookupStorer: lookup, totalWeight: TOTAL, expectedSize: TAU, seed, filehash: fh });

/** A seed for which `key` is (or is not) selected for `fh`. */
function seedWhere(key: NodeKey, selected: boolean, fh = filehash): Uint8Array {
  for (let i = 0; ; i++) {
    const seed = sha256(Buffer.from(`seed ${i}`));
    const { j } = proveSortition(key.vrfSecretKey, storerAlpha(seed, fh), STAKE, TOTAL, TAU);
    if ((j > 0) === selected) return seed;
  }
}

/** What an honest storer signs (solicit.ts does the same). */
function commit(key: NodeKey, seed: Uint8Array, fh = filehash, overrides: Partial<StorageCommitment> = {}): StorageCommitment {
  const d = proveSortition(key.vrfSecretKey, storerAlpha(seed, fh), STAKE, TOTAL, TAU);
  return signStorageCommitment(
    {
      storerId: Buffer.from(key.signPublicKey),
      vrfPublicKey: Buffer.from(key.vrfPublicKey),
      vrf: { proof: Buffer.from(d.proof), output: Buffer.from(d.beta) },
      weight: d.j,
      replicaRoot: seeded.bytes(32),
      filehash: Buffer.from(fh),
      size: 12345n,
      chunkSize: 4096,
      seed: Buffer.from(seed),
      seedRound: 7n,
      ...overrides,
    },
    key.signSecretKey,
  );
}

const A = storers[0]!;
const B = storers[1]!;

test('an honest commitment verifies, with its weight', (t) => {
  const seed = seedWhere(A, true);
  const c = commit(A, seed);
  const v = verifyStorageCommitment(c, { ...ctxFor(seed), seedRound: 7n, size: 12345n, chunkSize: 4096 });
  t.true(v.ok, JSON.stringify(v));
  if (v.ok) t.is(v.weight, c.weight);
});

test('a forged VRF proof or output is rejected', (t) => {
  const seed = seedWhere(A, true);
  const c = commit(A, seed);
  const proof = Buffer.from(c.vrf!.proof);
  proof[40]! ^= 1;
  // Re-signed by A itself: the signature is fine, only the proof is forged.
  const forged = commit(A, seed, filehash, { vrf: { proof, output: c.vrf!.output } });
  t.regex((verifyStorageCommitment(forged, ctxFor(seed)) as { reason: string }).reason, /VRF proof is not valid/);
  const otherOutput = commit(A, seed, filehash, { vrf: { proof: c.vrf!.proof, output: seeded.bytes(64) } });
  t.regex((verifyStorageCommitment(otherOutput, ctxFor(seed)) as { reason: string }).reason, /VRF output/);
  const random = commit(A, seed, filehash, { vrf: { proof: seeded.bytes(80), output: c.vrf!.output } });
  t.false(verifyStorageCommitment(random, ctxFor(seed)).ok);
});

test('a VRF proof reused for another seed or another file is rejected', (t) => {
  const seed = seedWhere(A, true);
  const honest = commit(A, seed);
  // The storer copies a winning proof into a commitment for another seed / file and signs that.
  const seed2 = sha256(Buffer.from('another seed'));
  const reusedSeed = commit(A, seed, filehash, { seed: Buffer.from(seed2) });
  t.regex((verifyStorageCommitment(reusedSeed, ctxFor(seed2)) as { reason: string }).reason, /VRF proof is not valid/);
  const fh2 = sha256(Buffer.from('another file'));
  const reusedFile = commit(A, seed, filehash, { filehash: Buffer.from(fh2) });
  t.regex((verifyStorageCommitment(reusedFile, ctxFor(seed, fh2)) as { reason: string }).reason, /VRF proof is not valid/);
  // The whole commitment replayed for another store request.
  t.regex((verifyStorageCommitment(honest, ctxFor(seed2)) as { reason: string }).reason, /another seed/);
  t.regex((verifyStorageCommitment(honest, ctxFor(seed, fh2)) as { reason: string }).reason, /another file/);
});

test("another storer's proof or commitment cannot be passed off", (t) => {
  const seed = seedWhere(A, true);
  const ofA = commit(A, seed);
  // B signs A's winning proof under its own id, with its own VRF key: the proof is not B's.
  const stolen = commit(B, seed, filehash, { vrf: ofA.vrf!, weight: ofA.weight });
  t.regex((verifyStorageCommitment(stolen, ctxFor(seed)) as { reason: string }).reason, /VRF proof is not valid/);
  // ...or claiming A's VRF key: the registry says otherwise.
  const claimed = commit(B, seed, filehash, { vrf: ofA.vrf!, weight: ofA.weight, vrfPublicKey: Buffer.from(A.vrfPublicKey) });
  t.regex((verifyStorageCommitment(claimed, ctxFor(seed)) as { reason: string }).reason, /VRF key differs/);
  // A's commitment with B's id swapped in: the signature no longer verifies.
  const swapped = { ...ofA, storerId: Buffer.from(B.signPublicKey), vrfPublicKey: Buffer.from(B.vrfPublicKey) };
  t.false(verifyStorageCommitment(swapped, ctxFor(seed)).ok);
  // An unregistered storer.
  const stranger = keyOf(99);
  t.regex((verifyStorageCommitment(commit(stranger, seed, filehash, { weight: 1 }), ctxFor(seed)) as { reason: string }).reason, /not registered/);
});

test('an inflated or unselected weight is rejected; a changed field breaks the signature', (t) => {
  const seed = seedWhere(A, true);
  const c = commit(A, seed);
  const inflated = commit(A, seed, filehash, { weight: c.weight + 1 });
  t.regex((verifyStorageCommitment(inflated, ctxFor(seed)) as { reason: string }).reason, /claims weight/);
  const loser = seedWhere(A, false);
  const unselected = commit(A, loser, filehash, { weight: 1 });
  t.regex((verifyStorageCommitment(unselected, ctxFor(loser)) as { reason: string }).reason, /does not select/);
  const zero = commit(A, loser);
  t.regex((verifyStorageCommitment(zero, ctxFor(loser)) as { reason: string }).reason, /weight 0/);
  const tampered = { ...c, replicaRoot: seeded.bytes(32) };
  t.regex((verifyStorageCommitment(tampered, ctxFor(seed)) as { reason: string }).reason, /bad signature/);
  t.regex((verifyStorageCommitment({ ...c, signature: Buffer.alloc(3) }, ctxFor(seed)) as { reason: string }).reason, /64 bytes/);
  t.regex((verifyStorageCommitment(c, { ...ctxFor(seed), seedRound: 8n }) as { reason: string }).reason, /seed_round/);
  t.regex((verifyStorageCommitment(c, { ...ctxFor(seed), size: 1n }) as { reason: string }).reason, /size/);
});

test('not-selected answers: honest ones verify, a selected storer cannot claim it was not', (t) => {
  const answer = (key: NodeKey, seed: Uint8Array) => {
    const d = proveSortition(key.vrfSecretKey, storerAlpha(seed, filehash), STAKE, TOTAL, TAU);
    return { storerId: key.signPublicKey, vrfPublicKey: key.vrfPublicKey, vrf: { proof: d.proof, output: d.beta } };
  };
  const loser = seedWhere(A, false);
  t.deepEqual(verifyNotSelected(answer(A, loser), ctxFor(loser)), { ok: true });
  const winner = seedWhere(A, true);
  t.regex((verifyNotSelected(answer(A, winner), ctxFor(winner)) as { reason: string }).reason, /sortition gives weight/);
  // A proof for another seed does not show anything about this one.
  t.false(verifyNotSelected(answer(A, loser), ctxFor(winner)).ok);
});
