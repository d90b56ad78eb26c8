// ConsensusService input validation through the generated client on a real in-process node (issues
// #24.8, #25.6): uint64 rounds past 2^53 are never wrapped or rounded (GetBlock of round 2^64 − 1 used
// to answer the genesis block; messages printed "18446744073709552000"), and an empty or malformed
// Vote is refused like an empty Propose or Bundle.
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Vote as PbVote } from '../../../gen/wolk/common/v1/chain.js';
import { ConsensusServiceClient, type GetBlockResponse, type GetStateProofResponse, type StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { Step, type Vote } from '../../../services/consensus/agreement/types.js';
import { createConsensusNode } from '../../../services/consensus/node.js';
import { bundleToProto, looseVoteFromProto, voteToProto, WireError } from '../../../services/consensus/wire.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { startInProcess } from '../../helpers/service.js';

const seeded = testRandom('unit/consensus/server-validation.test.ts');
logSeedOnFailure(test);
const rnd = (n: number) => new Uint8Array(seeded.bytes(n));

const U64_MAX = 2n ** 64n - 1n;
/** 2^53 + 1: the first integer Number() cannot hold (it becomes 2^53). */
const PAST_SAFE = 2n ** 53n + 1n;

function sampleVote(step: number, value: Uint8Array | null): Vote {
  return { round: 1, period: 0, step, value, credential: { voterId: 'ab'.repeat(32), vrfProof: rnd(80), vrfOutput: rnd(64), weight: 3 }, signature: rnd(64) };
}

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

/** The call's error (null when it answered OK) and its answer. */
function call<Req, Res>(method: Unary<Req, Res>, req: Req): Promise<{ err: ServiceError | null; res: Res | undefined }> {
  return new Promise((resolve) => method(req, new Metadata(), { deadline: Date.now() + 20_000 }, (err, res) => resolve({ err, res })));
}

/** Reads a StreamBlocks stream to its end (or its error) within `deadlineMs`. */
async function streamBlocks(client: ConsensusServiceClient, fromRound: bigint, follow: boolean, deadlineMs: number): Promise<{ err: ServiceError | null; blocks: StreamBlocksResponse[] }> {
  const s = client.streamBlocks({ fromRound, follow }, new Metadata(), { deadline: Date.now() + deadlineMs });
  const blocks: StreamBlocksResponse[] = [];
  try {
    for await (const b of s as AsyncIterable<StreamBlocksResponse>) blocks.push(b);
    return { err: null, blocks };
  } catch (err) {
    return { err: err as ServiceError, blocks };
  }
}

async function startNode(t: import('ava').ExecutionContext) {
  const node = await startInProcess('consensus', createConsensusNode);
  const client = new ConsensusServiceClient(node.endpoints['grpc']!, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await node.close();
  });
  return client;
}

test('uint64 rounds past 2^53 are refused or not found, never wrapped to genesis, and printed exactly', async (t) => {
  const client = await startNode(t);
  const getBlock = client.getBlock.bind(client) as Unary<{ selector: { $case: 'round'; value: bigint } }, GetBlockResponse>;

  const genesis = await call(getBlock, { selector: { $case: 'round', value: 0n } });
  t.is(genesis.err, null);
  t.is(genesis.res?.block?.block?.header?.round, 0n, 'round 0 is the genesis block');

  for (const round of [U64_MAX, PAST_SAFE, 2n ** 64n - 2n ** 11n]) {
    const { err, res } = await call(getBlock, { selector: { $case: 'round', value: round } });
    t.is(err?.code, status.NOT_FOUND, `GetBlock round ${round}: answered ${err ? err.details : `the block of round ${res?.block?.block?.header?.round}`}`);
    t.true(err?.details.includes(`no finalized block at round ${round} `), `GetBlock round ${round}: "${err?.details}"`);
  }

  const getStateProof = client.getStateProof.bind(client) as Unary<{ key: Buffer; round?: bigint }, GetStateProofResponse>;
  const proof = await call(getStateProof, { key: Buffer.alloc(32, 7), round: U64_MAX });
  t.is(proof.err?.code, status.NOT_FOUND);
  t.regex(proof.err?.details ?? '', /^round 18446744073709551615 is not finalized yet \(latest is \d+\)$/);
  t.is((await call(getStateProof, { key: Buffer.alloc(32, 7), round: 0n })).err, null, 'the genesis state is proven');

  // Following from a round the chain never reaches would wait forever: refused at once.
  const far = await streamBlocks(client, U64_MAX, true, 10_000);
  t.is(far.err?.code, status.INVALID_ARGUMENT, far.err?.details);
  t.is(far.err?.details, 'StreamBlocks: from_round 18446744073709551615 is beyond any round this chain reaches (at most 9007199254740991)');
  const past = await streamBlocks(client, PAST_SAFE, false, 10_000);
  t.is(past.err?.code, status.INVALID_ARGUMENT);
  t.true(past.err?.details.includes('from_round 9007199254740993 '), past.err?.details);
  const fromGenesis = await streamBlocks(client, 0n, false, 10_000);
  t.is(fromGenesis.err, null);
  t.is(fromGenesis.blocks[0]?.block?.block?.header?.round, 0n, 'StreamBlocks from 0 still starts at genesis');
});

test('Vote {} and malformed votes are refused with INVALID_ARGUMENT, like Propose {} and Bundle {}', async (t) => {
  const client = await startNode(t);
  const vote = client.vote.bind(client) as Unary<{ votes: PbVote[] }, object>;
  const propose = client.propose.bind(client) as Unary<object, object>;
  const bundle = client.bundle.bind(client) as Unary<object, object>;

  t.is((await call(propose, {})).err?.code, status.INVALID_ARGUMENT, 'Propose {}');
  t.is((await call(bundle, {})).err?.code, status.INVALID_ARGUMENT, 'Bundle {}');
  const empty = await call(vote, { votes: [] });
  t.is(empty.err?.code, status.INVALID_ARGUMENT, 'Vote {}');
  t.is(empty.err?.details, 'Vote: no votes (give 1 to 1024)');

  const value = rnd(32);
  const good = voteToProto(sampleVote(Step.soft, value));
  const malformed: [string, PbVote, RegExp][] = [
    ['an empty vote', { round: 0n, period: 0n, step: 0n, value: Buffer.alloc(0), voterId: Buffer.alloc(0), credential: undefined, signature: Buffer.alloc(0) }, /credential is missing/],
    ['a short signature', { ...good, signature: Buffer.alloc(10) }, /signature must be 64 bytes, got 10/],
    ['no signature', { ...good, signature: Buffer.alloc(0) }, /signature must be 64 bytes, got 0/],
    ['a short VRF proof', { ...good, credential: { ...good.credential!, vrf: { proof: Buffer.alloc(5), output: good.credential!.vrf!.output } } }, /VRF proof must be 80 bytes, got 5/],
    ['a short VRF output', { ...good, credential: { ...good.credential!, vrf: { proof: good.credential!.vrf!.proof, output: Buffer.alloc(63) } } }, /VRF output must be 64 bytes, got 63/],
    ['weight 0', { ...good, credential: { ...good.credential!, weight: 0 } }, /weight must be at least 1/],
    ['a step 0 vote without its block', voteToProto(sampleVote(Step.propose, value)), /travels inside its Proposal/],
    ['a soft vote for ⊥', voteToProto(sampleVote(Step.soft, null)), /soft vote \(step 1\) needs a 32-byte value/],
    ['a cert vote for ⊥', voteToProto(sampleVote(Step.cert, null)), /cert vote \(step 2\) needs a 32-byte value/],
    ['a round past 2^53', { ...good, round: U64_MAX }, /round 18446744073709551615 is out of range/],
  ];
  for (const [what, v, reason] of malformed) {
    const { err } = await call(vote, { votes: [v] });
    t.is(err?.code, status.INVALID_ARGUMENT, `Vote with ${what}: ${err ? err.details : 'answered OK'}`);
    t.regex(err?.details ?? '', /^Vote: 1 malformed vote\(s\): votes\[0\]: /, what);
    t.regex(err?.details ?? '', reason, what);
  }

  // Well-formed but forged (an unknown voter, random signature): acknowledged, the core drops it.
  t.is((await call(vote, { votes: [good, voteToProto(sampleVote(Step.next, null))] })).err, null);

  // The same sizes are checked for the votes a Bundle carries.
  const b = bundleToProto({ round: 1, period: 0, step: Step.cert, value, votes: [sampleVote(Step.cert, value)], equivocations: [] });
  const shortSig = await call(bundle, { bundle: { ...b, votes: [{ ...b.votes[0]!, signature: Buffer.alloc(3) }] } });
  t.is(shortSig.err?.code, status.INVALID_ARGUMENT);
  t.regex(shortSig.err?.details ?? '', /^Bundle: signature must be 64 bytes, got 3$/);
  t.is((await call(bundle, { bundle: b })).err, null, 'a well-formed bundle is acknowledged');

  // The node goes on answering.
  t.is((await call(client.getStatus.bind(client) as Unary<object, object>, {})).err, null);
});

test('looseVoteFromProto keeps every field of a well-formed vote and names what is wrong otherwise', (t) => {
  const v = sampleVote(Step.next + 2, null);
  t.deepEqual(looseVoteFromProto(voteToProto(v)), v);
  const cert = sampleVote(Step.cert, rnd(32));
  t.deepEqual(looseVoteFromProto(voteToProto(cert)), cert);
  t.throws(() => looseVoteFromProto({ ...voteToProto(cert), voterId: Buffer.alloc(31) }), { instanceOf: WireError, message: 'voter id must be 32 bytes' });
});
