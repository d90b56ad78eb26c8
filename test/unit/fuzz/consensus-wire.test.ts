// Property tests over what consensus nodes, the indexer and clients decode from peers (issue #20.5):
// votes, proposals, vote bundles, block headers and certificates (lib/chain/certificate.ts,
// services/consensus/wire.ts). Arbitrary bytes and decoded garbage raise only the documented errors
// (protobuf's Error while decoding, WireError while converting); real certificates of a real chain
// (test/unit/indexer/chain.ts) with any single byte changed are refused, or decode to the same
// certificate (a field the verifier ignores, such as a credential's empty public_key).
import test from 'ava';
import fc from 'fast-check';
import { BlockHeader, Certificate, Proposal, Vote } from '../../../gen/wolk/common/v1/chain.js';
import { VoteBundle, VoteRequest } from '../../../gen/wolk/consensus/v1/consensus.js';
import { blockHashOfHeader } from '../../../lib/chain/block-hash.js';
import { certificateFromProto, certificateToProto, createCertificateVerifier, voteFromProto, voteToProto, WireError } from '../../../lib/chain/certificate.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { blockFromHeader, bundleFromProto, bundleToProto, headerOf, looseVoteFromProto, proposalFromProto, receivedVoteFromProto } from '../../../services/consensus/wire.js';
import type { AgreementCrypto } from '../../../services/consensus/agreement/types.js';
import { makeChain } from '../indexer/chain.js';
import { newUser, setName } from '../consensus/ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';
import { anyBytes, byteMutation, check, mutateByte } from './fuzz.js';

logSeedOnFailure(test);

const crypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as unknown as AgreementCrypto;

/** Runs `convert`; true when it returns or throws a WireError, rethrows anything else (a crash). */
function onlyWireError(convert: () => unknown): boolean {
  try {
    convert();
    return true;
  } catch (err) {
    if (err instanceof WireError) return true;
    throw err;
  }
}

/** Decodes with the generated decoder; null when protobuf refuses the bytes (it throws an Error). */
function decoded<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T | null {
  try {
    return decode(bytes);
  } catch (err) {
    if (err instanceof Error) return null;
    throw err;
  }
}

const chain = await makeChain();
const user = newUser();
await chain.finalize([setName(user, 'fuzz-owner')]);
await chain.finalize([]);
const genesisBlock = await chain.certified(0);
const first = await chain.certified(1);
const second = await chain.certified(2);
const verifier = createCertificateVerifier(chain.net.genesis);

test('votes, proposals, bundles, vote requests, headers and certificates from arbitrary bytes: only protobuf Errors and WireErrors', (t) => {
  check('wire-garbage', fc.property(anyBytes, (bytes) => {
    const vote = decoded(Vote.decode, bytes);
    if (vote) {
      onlyWireError(() => voteFromProto(vote));
      onlyWireError(() => receivedVoteFromProto(vote));
      onlyWireError(() => looseVoteFromProto(vote));
    }
    const proposal = decoded(Proposal.decode, bytes);
    if (proposal) onlyWireError(() => proposalFromProto(crypto, proposal));
    const bundle = decoded(VoteBundle.decode, bytes);
    if (bundle) onlyWireError(() => bundleFromProto(bundle));
    const request = decoded(VoteRequest.decode, bytes);
    if (request) for (const v of request.votes) onlyWireError(() => looseVoteFromProto(v));
    const header = decoded(BlockHeader.decode, bytes);
    if (header) onlyWireError(() => blockFromHeader(crypto, header));
    const cert = decoded(Certificate.decode, bytes);
    if (cert) onlyWireError(() => certificateFromProto(cert));
    return true;
  }), 1500);
  t.pass();
});

test('the certificate verifier never throws and refuses garbage headers and certificates', (t) => {
  const prevSeed = new Uint8Array(genesisBlock.block!.header!.seed);
  check('cert-verify-garbage', fc.property(anyBytes, anyBytes, (hb, cb) => {
    const header = decoded(BlockHeader.decode, hb) ?? BlockHeader.fromPartial({});
    const cert = decoded(Certificate.decode, cb) ?? undefined;
    return verifier.verify(header, cert, prevSeed).ok === false;
  }), 400);
  t.pass();
});

test('round trips: a real certificate, its votes and a bundle of them convert to proto and back unchanged', (t) => {
  const cert = certificateFromProto(first.certificate);
  t.deepEqual(certificateFromProto(certificateToProto(cert)), cert);
  for (const v of cert.votes) t.deepEqual(voteFromProto(Vote.decode(Vote.encode(voteToProto(v)).finish())), v);
  const bundle = { round: cert.round, period: cert.period, step: cert.votes[0]!.step, value: cert.value, votes: cert.votes, equivocations: [] };
  t.deepEqual(bundleFromProto(VoteBundle.decode(VoteBundle.encode(bundleToProto(bundle)).finish())), bundle);
  // A block header survives the agreement form: blockFromHeader then headerOf gives the same hash.
  const header = second.block!.header!;
  const block = blockFromHeader(crypto, header);
  t.deepEqual(Buffer.from(blockHashOfHeader(headerOf(block))), Buffer.from(blockHashOfHeader(header)));
  t.deepEqual(Buffer.from(block.hash), Buffer.from(blockHashOfHeader(header)));
});

test('a real certificate with any single byte changed is refused, unless it decodes to the same certificate', (t) => {
  const header = second.block!.header!;
  const prevSeed = new Uint8Array(first.block!.header!.seed);
  t.true(verifier.verify(header, second.certificate, prevSeed).ok, 'the unchanged certificate verifies');
  const bytes = Certificate.encode(second.certificate!).finish();
  const same = JSON.stringify(certificateFromProto(second.certificate), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  check('cert-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const cert = decoded(Certificate.decode, mutateByte(bytes, index, flip));
    if (cert === null) return true;
    if (!verifier.verify(header, cert, prevSeed).ok) return true;
    const got = JSON.stringify(certificateFromProto(cert), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    return got === same;
  }), Math.min(bytes.length * 4, 3000));
  t.pass();
});

test('a real block header with any single byte changed no longer matches its certificate, unless its hash is unchanged', (t) => {
  const header = second.block!.header!;
  const prevSeed = new Uint8Array(first.block!.header!.seed);
  const hash = Buffer.from(blockHashOfHeader(header));
  const bytes = BlockHeader.encode(header).finish();
  check('header-mutation', fc.property(byteMutation, ({ index, flip }) => {
    const h = decoded(BlockHeader.decode, mutateByte(bytes, index, flip));
    if (h === null) return true;
    if (!verifier.verify(h, second.certificate, prevSeed).ok) return true;
    return Buffer.from(blockHashOfHeader(h)).equals(hash);
  }), Math.min(bytes.length * 4, 2000));
  t.pass();
});
