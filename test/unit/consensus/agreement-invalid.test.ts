// Invalid and useless messages are ignored (no relay, no effect on tallies) and counted by reason.
import test from 'ava';
import { expectedSizeOf } from '../../../services/consensus/agreement/params.js';
import { Step, type AgreementAction, type Vote } from '../../../services/consensus/agreement/types.js';
import { isProposer, makeFixture, ofKind, proposalBy, proposalMsg, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';

const f = makeFixture([100, 100, 100, 100]);
const value = new Uint8Array(32).fill(7);

function soft(id: string): Vote {
  return voteBy(f, id, { round: 1, period: 0, step: Step.soft, value });
}

function relayed(actions: readonly AgreementAction[]): number {
  return ofKind(actions, 'relay').length;
}

test('a valid vote is counted and relayed (the baseline the cases below differ from)', (t) => {
  const { player } = startPlayer(f, 'v0');
  t.is(relayed(player.handle(voteMsg(soft('v1')), 1)), 1);
  t.deepEqual(player.counters(), { rounds: 1 });
});

test('bad VRF proof: dropped as bad-proof', (t) => {
  const { player } = startPlayer(f, 'v0');
  const v = soft('v1');
  const forged = new Uint8Array(v.credential.vrfProof);
  forged[0]! ^= 1;
  const out = player.handle(voteMsg({ ...v, credential: { ...v.credential, vrfProof: forged, vrfOutput: forged } }), 1);
  t.is(relayed(out), 0);
  t.is(player.counters()['drop.bad-proof'], 1);
});

test('claimed weight that sortition does not give: dropped as weight-mismatch', (t) => {
  const { player } = startPlayer(f, 'v0');
  const v = soft('v1');
  player.handle(voteMsg({ ...v, credential: { ...v.credential, weight: v.credential.weight + 100 } }), 1);
  t.is(player.counters()['drop.weight-mismatch'], 1);
});

test('bad signature: dropped as bad-signature', (t) => {
  const { player } = startPlayer(f, 'v0');
  const v = soft('v1');
  const sig = new Uint8Array(v.signature);
  sig[3]! ^= 0x80;
  t.is(relayed(player.handle(voteMsg({ ...v, signature: sig }), 1)), 0);
  t.is(player.counters()['drop.bad-signature'], 1);
});

test('a signature over another value (vote tampered in flight): dropped as bad-signature', (t) => {
  const { player } = startPlayer(f, 'v0');
  player.handle(voteMsg({ ...soft('v1'), value: new Uint8Array(32).fill(8) }), 1);
  t.is(player.counters()['drop.bad-signature'], 1);
});

test('wrong round: an old round and a far-future round are dropped as wrong-round', (t) => {
  const { player } = startPlayer(f, 'v0');
  player.handle(voteMsg(voteBy(f, 'v1', { round: 0, period: 0, step: Step.soft, value })), 1);
  player.handle(voteMsg(voteBy(f, 'v1', { round: 7, period: 0, step: Step.soft, value })), 2);
  t.is(player.counters()['drop.wrong-round'], 2);
});

test('periods out of reach: stale and future periods are dropped', (t) => {
  const { player } = startPlayer(f, 'v0');
  player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 5, step: Step.soft, value })), 1);
  t.is(player.counters()['drop.future-period'], 1);
  // Two bottom quorums take us to period 2; a soft vote of period 0 is then stale.
  for (const period of [0, 1]) {
    for (const id of ['v1', 'v2', 'v3']) player.handle(voteMsg(voteBy(f, id, { round: 1, period, step: Step.next, value: null })), 2);
  }
  t.is(player.status().period, 2);
  player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.soft, value })), 3);
  t.is(player.counters()['drop.stale-period'], 1);
});

test('duplicate: the same vote twice is counted once and relayed once', (t) => {
  const { player } = startPlayer(f, 'v0');
  const v = soft('v1');
  t.is(relayed(player.handle(voteMsg(v), 1)), 1);
  t.is(relayed(player.handle(voteMsg(v), 2)), 0);
  t.is(player.counters()['drop.duplicate'], 1);
});

test('unknown voter (no stake): dropped as unknown-voter', (t) => {
  const { player } = startPlayer(f, 'v0');
  const v = soft('v1');
  player.handle(voteMsg({ ...v, credential: { ...v.credential, voterId: 'mallory' } }), 1);
  t.is(player.counters()['drop.unknown-voter'], 1);
});

test('not selected: a credential that sortition gives weight 0 is dropped as not-selected', (t) => {
  // v3 holds 1 of 301 stake units: with 20 expected proposers it is selected with probability ~0.07.
  const g = makeFixture([100, 100, 100, 1]);
  const sel = { seed: g.genesis.seed, round: 1, period: 0, step: Step.propose, expectedSize: expectedSizeOf(g.params, Step.propose), totalStake: g.total };
  if (isProposer(g, 'v3', 1, 0)) return t.fail('v3 happens to be selected: pick another fixture');
  const honest = proposalBy(g, g.ids.find((id) => isProposer(g, id, 1, 0))!, 0);
  const vote: Vote = {
    round: 1,
    period: 0,
    step: Step.propose,
    value: honest.block.hash,
    credential: g.crypto.get('v3')!.claimCredential(sel, 1), // its true VRF output, claiming a seat
    signature: new Uint8Array(32),
  };
  const { player } = startPlayer(g, 'v0');
  const out = player.handle(proposalMsg({ vote, block: honest.block }), 1);
  t.is(relayed(out), 0);
  t.is(player.counters()['drop.not-selected'], 1);
});

test('equivocation: two values from one voter make it an equivocator, counted for both; a third vote is dropped', (t) => {
  const { player } = startPlayer(f, 'v0');
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const c = new Uint8Array(32).fill(3);
  const at = (id: string, v: Uint8Array): Vote => voteBy(f, id, { round: 1, period: 0, step: Step.next, value: v });
  player.handle(voteMsg(at('v3', a)), 1);
  player.handle(voteMsg(at('v3', b)), 2);
  t.is(player.counters()['equivocations-seen'], 1);
  player.handle(voteMsg(at('v3', c)), 3);
  t.is(player.counters()['drop.equivocator'], 1);
  // v3's weight counts for value b too: v1 + v2 + v3 (equivocating) = 300 >= 267 ends period 0.
  player.handle(voteMsg(at('v1', b)), 4);
  t.is(player.status().period, 0);
  player.handle(voteMsg(at('v2', b)), 5);
  t.is(player.status().period, 1);
});

test('a proposal whose block does not match its vote, or does not link to our tip, is dropped as bad-block', (t) => {
  const { player } = startPlayer(f, 'v0');
  const id = f.ids.find((x) => isProposer(f, x, 1, 0))!;
  const p = proposalBy(f, id, 0);
  player.handle(proposalMsg({ vote: p.vote, block: { ...p.block, body: new Uint8Array([9]) } }), 1);
  player.handle(proposalMsg({ vote: p.vote, block: { ...p.block, prevHash: new Uint8Array(32) } }), 2);
  t.is(player.counters()['drop.bad-block'], 2);
  t.is(ofKind(player.handle(proposalMsg(p), 3), 'validate').length, 1, 'the genuine proposal still goes through');
});
