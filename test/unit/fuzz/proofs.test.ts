// Property tests over proofs that arrive from outside (issue #20.5): sparse-Merkle state proofs in
// both wire forms (lib/smt's compact encoding and chain.proto's SmtProof, lib/chain/smt-proof.ts),
// Merkle multiproofs (lib/merkle/tree.ts) and file / replica multiproofs (lib/merkle/file.ts,
// replica.ts). Decoders return null on garbage and never throw; encode -> decode is the identity;
// a valid proof with any single byte (or bit) changed does not verify.
import test from 'ava';
import fc from 'fast-check';
import { SmtProof as PbSmtProof } from '../../../gen/wolk/common/v1/chain.js';
import { smtProofFromProto, smtProofToProto } from '../../../lib/chain/smt-proof.js';
import { decodeNode, decodeSmtProof, decodeValue, encodeSmtProof, SmtError, SparseMerkleTree, verifySmtProof } from '../../../lib/smt/index.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { decodeHashes, encodeHashes, leafHash, MerkleTree, rootFromMultiproof, verifyMultiproof } from '../../../lib/merkle/tree.js';
import { FileHasher, verifyFileMultiproof } from '../../../lib/merkle/file.js';
import { ReplicaHasher, verifyReplicaMultiproof } from '../../../lib/merkle/replica.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { anyBytes, byteMutation, check, checkAsync, mutateByte } from './fuzz.js';

logSeedOnFailure(test);
const random = testRandom('fuzz/proofs');

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

// One tree with a few hundred keys, shared by the SMT properties.
const tree = new SparseMerkleTree({ kv: createMemoryKv() });
const keys = Array.from({ length: 300 }, () => new Uint8Array(random.bytes(32)));
const root = await tree.update(SparseMerkleTree.emptyRoot, keys.map((key, i) => ({ key, value: new Uint8Array(random.bytes(1 + (i % 40))) })));

test('SMT decoders (proof, node, value, proto proof) never throw anything but SmtError on arbitrary bytes', (t) => {
  check('smt-decode-garbage', fc.property(anyBytes, (bytes) => {
    const p = decodeSmtProof(bytes);
    if (p !== null) t.deepEqual(decodeSmtProof(encodeSmtProof(p)), p); // what decodes re-encodes canonically
    for (const decode of [decodeNode, decodeValue]) {
      try {
        decode(bytes);
      } catch (err) {
        if (!(err instanceof SmtError)) throw err;
      }
    }
    let pb: PbSmtProof | null = null;
    try {
      pb = PbSmtProof.decode(bytes);
    } catch {
      // protobuf refuses it: the consensus client answers INVALID_ARGUMENT / treats the proof as bad
    }
    if (pb !== null) {
      const q = smtProofFromProto(pb);
      if (q !== null) verifySmtProof(root, new Uint8Array(pb.key), pb.value === undefined ? null : new Uint8Array(pb.value), q);
    }
    // verify with the bytes as the proof, any root and key: a boolean, never a throw.
    return typeof verifySmtProof(bytes.length >= 32 ? bytes.subarray(0, 32) : root, keys[0]!, null, bytes) === 'boolean';
  }), 2000);
  t.pass();
});

test('SMT proofs of present and absent keys round-trip through both wire forms and verify', async (t) => {
  await checkAsync('smt-roundtrip', fc.asyncProperty(fc.oneof(fc.nat(keys.length - 1).map((i) => keys[i]!), key32), async (key) => {
    const proof = await tree.prove(root, key);
    const value = await tree.get(root, key);
    const wire = encodeSmtProof(proof);
    const back = decodeSmtProof(wire);
    const pb = PbSmtProof.decode(PbSmtProof.encode(smtProofToProto(key, value, root, proof)).finish());
    const fromPb = smtProofFromProto(pb);
    return back !== null && fromPb !== null && verifySmtProof(root, key, value, back) && verifySmtProof(root, key, value, fromPb) && verifySmtProof(root, key, value, wire);
  }), 200);
  t.pass();
});

test('an SMT proof with any single byte changed (compact or proto form) does not verify, and every claim it verifies for is true in the tree', async (t) => {
  const present = keys[7]!;
  const absent = new Uint8Array(random.bytes(32));
  for (const key of [present, absent]) {
    const proof = await tree.prove(root, key);
    const value = await tree.get(root, key);
    t.true(verifySmtProof(root, key, value, proof));
    const wire = encodeSmtProof(proof);
    const pbBytes = PbSmtProof.encode(smtProofToProto(key, value, root, proof)).finish();
    check(`smt-mutation-${value === null ? 'absent' : 'present'}`, fc.property(byteMutation, ({ index, flip }) => {
      if (verifySmtProof(root, key, value, mutateByte(wire, index, flip))) return false;
      let pb: PbSmtProof;
      try {
        pb = PbSmtProof.decode(mutateByte(pbBytes, index, flip));
      } catch {
        return true;
      }
      const p = smtProofFromProto(pb);
      // What a client checks: the proof against the root it trusts (never the proof's own informative
      // `root` field), for the key and value it asked about. Accepted only if it is the same proof.
      return p === null || !verifySmtProof(root, key, value, p) || Buffer.from(encodeSmtProof(p)).equals(Buffer.from(wire));
    }), 600);
    // Soundness: whatever (key, value) claim this proof is accepted for is true in the tree.
    await checkAsync(`smt-claims-${value === null ? 'absent' : 'present'}`, fc.asyncProperty(fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }), fc.oneof(fc.constant(key), key32), async (claimValue, claimKey) => {
      if (!verifySmtProof(root, claimKey, claimValue, proof)) return true;
      return sameValue(claimValue, await tree.get(root, claimKey));
    }), 300);
  }
});

const sameValue = (a: Uint8Array | undefined | null, b: Uint8Array | null) => (a === undefined || a === null ? b === null : b !== null && Buffer.from(a).equals(Buffer.from(b)));

test('Merkle multiproofs: encodeHashes/decodeHashes round-trip; garbage never throws; any changed proof hash, leaf or index is refused', (t) => {
  check('merkle-decode-garbage', fc.property(anyBytes, fc.integer({ min: -2, max: 70 }), fc.array(fc.integer({ min: -3, max: 70 }), { maxLength: 5 }), (bytes, leafCount, indices) => {
    const hashes = decodeHashes(bytes);
    if (hashes !== null && !Buffer.from(encodeHashes(hashes)).equals(Buffer.from(bytes))) return false;
    const r = rootFromMultiproof(leafCount, indices, (hashes ?? []).slice(0, indices.length), hashes ?? []);
    return r === null || r.length === 32;
  }), 1500);
  check('merkle-multiproof-mutation', fc.property(
    fc.integer({ min: 1, max: 64 }).chain((n) => fc.record({ n: fc.constant(n), picks: fc.uniqueArray(fc.nat(n - 1), { minLength: 1, maxLength: Math.min(n, 6) }), mutation: byteMutation, target: fc.constantFrom('proof', 'leaf', 'index') })),
    ({ n, picks, mutation, target }) => {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(Uint8Array.of(i, n)));
      const mt = MerkleTree.fromLeaves(leaves);
      const indices = [...picks].sort((a, b) => a - b);
      const { hashes } = mt.multiproof(indices);
      const leafHashes = indices.map((i) => leaves[i]!);
      if (!verifyMultiproof(mt.root(), n, indices, leafHashes, hashes)) return false;
      if (target === 'proof') {
        if (hashes.length === 0) return true;
        const flat = mutateByte(encodeHashes(hashes), mutation.index, mutation.flip);
        return !verifyMultiproof(mt.root(), n, indices, leafHashes, decodeHashes(flat)!);
      }
      if (target === 'leaf') {
        const j = mutation.index % leafHashes.length;
        const changed = leafHashes.map((h, k) => (k === j ? mutateByte(h, mutation.index >> 3, mutation.flip) : h));
        return !verifyMultiproof(mt.root(), n, indices, changed, hashes);
      }
      const j = mutation.index % indices.length;
      const moved = indices.map((q, k) => (k === j ? q + 1 + (mutation.flip % 3) : q));
      return !verifyMultiproof(mt.root(), n, moved, leafHashes, hashes);
    },
  ), 400);
  t.pass();
});

test('file and replica multiproofs: a changed chunk byte or proof byte is refused', (t) => {
  const chunkSize = 4096;
  const storerId = new Uint8Array(random.bytes(32));
  check('file-multiproof-mutation', fc.property(
    fc.integer({ min: 1, max: 9 * chunkSize }).chain((size) => fc.record({ size: fc.constant(size), picks: fc.uniqueArray(fc.nat(Math.ceil(size / chunkSize) - 1), { minLength: 1, maxLength: 3 }), mutation: byteMutation, inChunk: fc.boolean() })),
    ({ size, picks, mutation, inChunk }) => {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + size) & 0xff;
      const fileLeaves: Uint8Array[] = [];
      const replicaLeaves: Uint8Array[] = [];
      const digest = new FileHasher({ chunkSize, onChunk: (_i, _c, leaf) => fileLeaves.push(leaf) }).update(data).digest();
      const replica = new ReplicaHasher(storerId, digest.filehash, { chunkSize, onChunk: (_i, _c, leaf) => replicaLeaves.push(leaf) }).update(data).digest();
      const indices = [...picks].sort((a, b) => a - b);
      const chunks = indices.map((i) => data.subarray(i * chunkSize, Math.min(size, (i + 1) * chunkSize)));
      const fileProof = MerkleTree.fromLeaves(fileLeaves).multiproof(indices).hashes;
      const replicaProof = MerkleTree.fromLeaves(replicaLeaves).multiproof(indices).hashes;
      if (!verifyFileMultiproof(digest.filehash, size, chunkSize, indices, chunks, fileProof)) return false;
      if (!verifyReplicaMultiproof(replica.replicaRoot, storerId, digest.filehash, size, chunkSize, indices, chunks, replicaProof)) return false;
      if (inChunk || fileProof.length === 0) {
        const j = mutation.index % chunks.length;
        const changed = chunks.map((c, k) => (k === j ? mutateByte(c, mutation.index, mutation.flip) : c));
        return !verifyFileMultiproof(digest.filehash, size, chunkSize, indices, changed, fileProof) && !verifyReplicaMultiproof(replica.replicaRoot, storerId, digest.filehash, size, chunkSize, indices, changed, replicaProof);
      }
      const badFile = decodeHashes(mutateByte(encodeHashes(fileProof), mutation.index, mutation.flip))!;
      const badReplica = decodeHashes(mutateByte(encodeHashes(replicaProof), mutation.index, mutation.flip))!;
      return !verifyFileMultiproof(digest.filehash, size, chunkSize, indices, chunks, badFile) && !verifyReplicaMultiproof(replica.replicaRoot, storerId, digest.filehash, size, chunkSize, indices, chunks, badReplica);
    },
  ), 150);
  t.pass();
});
