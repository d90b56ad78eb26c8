// The Bundle message (issue #5): a quorum travels as one VoteBundle. Its proto form round-trips and
// malformed ones are refused with a reason; the Bundle RPC of a real node answers INVALID_ARGUMENT
// for those and survives forged ones; and the reason it exists: the same votes sent loose are
// dropped by a node more than one period behind, while as a bundle they move it forward.
import test from 'ava';
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient, type VoteBundle } from '../../../gen/wolk/consensus/v1/consensus.js';
import { blockHashOfHeader as clientBlockHash } from '../../../lib/client/proof.js';
import { blockHashOfHeader } from '../../../lib/chain/block-hash.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { blockHash } from '../../../services/consensus/agreement/codec.js';
import { Step, type Block, type Bundle, type Vote } from '../../../services/consensus/agreement/types.js';
import { bundlesFromVotes } from '../../../services/consensus/agreement/votes.js';
import { createConsensusNode } from '../../../services/consensus/node.js';
import { bundleFromProto, bundleToProto, encodeLedgerPart, headerOf, MAX_BUNDLE_VOTES, voteToProto, WireError } from '../../../services/consensus/wire.js';
import { startInProcess } from '../../helpers/service.js';
import { makeFixture, msg, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/consensus/liveness-bundle.test.ts');
logSeedOnFailure(test);

const rnd = (n: number) => new Uint8Array(seeded.bytes(n));

function sampleVote(step: number, value: Uint8Array | null, voter = 'ab'.repeat(32)): Vote {
  return { round: 7, period: 4, step, value, credential: { voterId: voter, vrfProof: rnd(80), vrfOutput: rnd(64), weight: 3 }, signature: rnd(64) };
}

test('a bundle round-trips through its proto form; malformed ones are refused with a reason', (t) => {
  const value = rnd(32);
  const b: Bundle = { round: 7, period: 4, step: Step.cert, value, votes: [sampleVote(Step.cert, value)], equivocations: [[sampleVote(Step.cert, rnd(32), 'cd'.repeat(32)), sampleVote(Step.cert, rnd(32), 'cd'.repeat(32))]] };
  t.deepEqual(bundleFromProto(bundleToProto(b)), b);
  const bottom: Bundle = { round: 7, period: 4, step: Step.next + 1, value: null, votes: [sampleVote(Step.next + 1, null)], equivocations: [] };
  t.deepEqual(bundleFromProto(bundleToProto(bottom)), bottom);
  const pb = bundleToProto(b);
  t.throws(() => bundleFromProto(undefined), { instanceOf: WireError, message: /missing/ });
  t.throws(() => bundleFromProto({ ...pb, value: Buffer.alloc(5) }), { instanceOf: WireError, message: /value/ });
  t.throws(() => bundleFromProto({ ...pb, votes: [], equivocations: [] }), { instanceOf: WireError, message: /no votes/ });
  t.throws(() => bundleFromProto({ ...pb, equivocations: [{ first: pb.votes[0]!, second: undefined }] }), { instanceOf: WireError, message: /two votes/ });
  const many = Array.from({ length: MAX_BUNDLE_VOTES + 1 }, () => pb.votes[0]!);
  t.throws(() => bundleFromProto({ ...pb, votes: many, equivocations: [] }), { instanceOf: WireError, message: /at most 8192/ });
});

test('the node, the indexer and clients hash a header with one rule', (t) => {
  const crypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockHash>[0];
  const b: Omit<Block, 'hash'> = {
    round: 9,
    prevHash: rnd(32),
    seed: rnd(32),
    proposer: 'ef'.repeat(32),
    period: 1,
    credential: { voterId: 'ef'.repeat(32), vrfProof: rnd(80), vrfOutput: rnd(64), weight: 2 },
    body: encodeLedgerPart({ stateRoot: Buffer.from(rnd(32)), txRoot: Buffer.from(rnd(32)), newChunksHash: Buffer.from(rnd(32)), timestampMs: 99n }),
  };
  const h = headerOf({ ...b, hash: new Uint8Array(32) });
  const core = blockHash(crypto, b);
  t.deepEqual(blockHashOfHeader(h), core);
  t.deepEqual(clientBlockHash(h), core);
  t.notDeepEqual(blockHashOfHeader({ ...h, originalPeriod: 2n }), core);
});

test('a quorum from four periods ahead: dropped as loose votes, followed as a bundle', (t) => {
  const f = makeFixture([100, 100, 100, 100]);
  const votes = ['v1', 'v2', 'v3'].map((id) => voteBy(f, id, { round: 1, period: 4, step: Step.next, value: null }));
  const loose = startPlayer(f, 'v0').player;
  for (const v of votes) loose.handle(voteMsg(v), 1);
  t.is(loose.status().period, 0, 'loose votes more than one period ahead do not move the node');
  t.is(loose.counters()['drop.future-period'], 3);
  const bundled = startPlayer(f, 'v0').player;
  const [bundle] = bundlesFromVotes(votes);
  bundled.handle(msg({ kind: 'bundle', bundle: bundle! }), 1);
  t.is(bundled.status().period, 5, 'the ⊥ next quorum of period 4 starts period 5');
});

test('the Bundle RPC refuses malformed bundles with INVALID_ARGUMENT and survives forged ones', async (t) => {
  const node = await startInProcess('consensus', createConsensusNode);
  t.teardown(() => node.close());
  const client = new ConsensusServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(() => client.close());
  const call = (bundle: VoteBundle | undefined) =>
    new Promise<ServiceError | null>((resolve) => client.bundle(bundle ? { bundle } : {}, new Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err)));
  const value = rnd(32);
  const pb = bundleToProto({ round: 1, period: 0, step: Step.cert, value, votes: [sampleVote(Step.cert, value)], equivocations: [] });
  const missing = await call(undefined);
  t.is(missing?.code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(missing?.details ?? '', /Bundle: bundle is missing/);
  const bad = await call({ ...pb, value: Buffer.alloc(7) });
  t.is(bad?.code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(bad?.details ?? '', /value must be empty or 32 bytes/);
  const badVote = await call({ ...pb, votes: [{ ...voteToProto(sampleVote(Step.cert, value)), voterId: Buffer.alloc(3) }] });
  t.is(badVote?.code, GrpcStatus.INVALID_ARGUMENT);
  // Well-formed but forged (unknown voter, random signature): accepted for asynchronous checking and
  // dropped by the core; the node goes on answering.
  t.is(await call(pb), null);
  const st = await new Promise<ServiceError | null>((resolve) => client.getStatus({}, new Metadata(), { deadline: Date.now() + 20_000 }, (err) => resolve(err)));
  t.is(st, null);
});
