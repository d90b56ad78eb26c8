// Property tests over what storers sign and others check (issue #20.5): storage commitments
// (verifyStorageCommitment: the gateway, validators and auditors), file audits (verifyFileAudit:
// VerifyFile answers) and share proofs (verifyShareProof). The verifiers never throw on decoded
// garbage; a valid one with any single byte of its encoding changed is refused, or decodes to the
// very same message.
import test from 'ava';
import fc from 'fast-check';
import { FileAudit, ShareProof, StorageCommitment } from '../../../gen/wolk/common/v1/storage.js';
import { signStorageCommitment, storerAlpha, verifyFileAudit, verifyShareProof, verifyStorageCommitment, type CommitmentContext, type RegisteredStorer } from '../../../lib/chain/commitment.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { proveSortition } from '../../../lib/crypto/sortition.js';
import { answerFile, answerShare, commitmentOf, makeFile, newKey } from '../rewards/world.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { anyBytes, byteMutation, check, mutateByte } from './fuzz.js';

logSeedOnFailure(test);
const random = testRandom('fuzz/commitments');

const decoded = <T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T | null => {
  try {
    return decode(bytes);
  } catch {
    return null;
  }
};
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

// A registered storer selected for one file on one seed.
const storer = newKey();
const STAKE = 1000n;
const TOTAL = 3000n;
const TAU = 2;
const registry = new Map<string, RegisteredStorer>([[storer.id, { vrfPublicKey: storer.vrfPublicKey, stake: STAKE }]]);
const filehash = new Uint8Array(random.bytes(32));
let seed: Uint8Array = new Uint8Array(32);
let draw = proveSortition(storer.vrfSecretKey, storerAlpha(seed, filehash), STAKE, TOTAL, TAU);
for (let i = 0; draw.j === 0; i++) {
  seed = sha256(Buffer.from(`fuzz seed ${i}`));
  draw = proveSortition(storer.vrfSecretKey, storerAlpha(seed, filehash), STAKE, TOTAL, TAU);
}
const ctx: CommitmentContext = { lookupStorer: (id) => registry.get(Buffer.from(id).toString('hex')), totalWeight: TOTAL, expectedSize: TAU, seed, filehash, seedRound: 9n, size: 12_345n, chunkSize: 4096 };
const valid = signStorageCommitment(
  {
    storerId: Buffer.from(storer.signPublicKey),
    vrfPublicKey: Buffer.from(storer.vrfPublicKey),
    vrf: { proof: Buffer.from(draw.proof), output: Buffer.from(draw.beta) },
    weight: draw.j,
    replicaRoot: random.bytes(32),
    filehash: Buffer.from(filehash),
    size: 12_345n,
    chunkSize: 4096,
    seed: Buffer.from(seed),
    seedRound: 9n,
  },
  storer.signSecretKey,
);

test('storage commitments: the verifier never throws on decoded garbage and accepts none of it', (t) => {
  t.true(verifyStorageCommitment(valid, ctx).ok, 'the honest commitment verifies');
  check('commitment-garbage', fc.property(anyBytes, (bytes) => {
    const c = decoded(StorageCommitment.decode, bytes);
    return c === null || verifyStorageCommitment(c, ctx).ok === false;
  }), 1500);
});

test('storage commitments: any single changed byte is refused or decodes to the same commitment; a round trip is the identity', (t) => {
  const bytes = StorageCommitment.encode(valid).finish();
  t.true(sameBytes(StorageCommitment.encode(StorageCommitment.decode(bytes)).finish(), bytes));
  check('commitment-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const c = decoded(StorageCommitment.decode, mutateByte(bytes, index, flip));
    return c === null || !verifyStorageCommitment(c, ctx).ok || sameBytes(StorageCommitment.encode(c).finish(), bytes);
  }), bytes.length * 6);
});

const file = makeFile(3 * 4096 + 100);
const target = commitmentOf(storer, file);
const challenge = new Uint8Array(random.bytes(32));
const audit = answerFile(storer, file, challenge, 3);

test('file audits: the verifier never throws on garbage, and an honest audit with any single changed byte is refused', (t) => {
  t.deepEqual(verifyFileAudit(audit, target, challenge, 3), { ok: true });
  check('audit-garbage', fc.property(anyBytes, fc.integer({ min: -1, max: 70 }), (bytes, k) => {
    const a = decoded(FileAudit.decode, bytes);
    return a === null || verifyFileAudit(a, target, challenge, k).ok === false;
  }), 1000);
  const bytes = FileAudit.encode(audit).finish();
  check('audit-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const a = decoded(FileAudit.decode, mutateByte(bytes, index, flip));
    return a === null || !verifyFileAudit(a, target, challenge, 3).ok || sameBytes(FileAudit.encode(a).finish(), bytes);
  }), Math.min(bytes.length, 4000));
});

test('share proofs: the verifier never throws on garbage, and an honest proof with any single changed byte is refused', (t) => {
  const chunk = new Uint8Array(random.bytes(4096));
  const nonce = new Uint8Array(random.bytes(32));
  const proof = answerShare(storer, chunk, nonce);
  const expected = { chunkId: sha256(chunk), nonce, storerId: storer.signPublicKey, chunk };
  t.deepEqual(verifyShareProof(proof, expected), { ok: true });
  check('share-garbage', fc.property(anyBytes, (bytes) => {
    const p = decoded(ShareProof.decode, bytes);
    return p === null || verifyShareProof(p, expected).ok === false;
  }), 1000);
  const bytes = ShareProof.encode(proof).finish();
  check('share-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const p = decoded(ShareProof.decode, mutateByte(bytes, index, flip));
    return p === null || !verifyShareProof(p, expected).ok || sameBytes(ShareProof.encode(p).finish(), bytes);
  }), bytes.length * 6);
});
