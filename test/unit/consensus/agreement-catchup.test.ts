// Catch-up and bundles: a node that fell behind commits a certified block only after checking the
// certificate itself; forged bundles and certificates are refused.
import test from 'ava';
import { valueKey } from '../../../services/consensus/agreement/codec.js';
import { Step, type Bundle, type Certificate } from '../../../services/consensus/agreement/types.js';
import { makeFixture, msg, ofKind, proposalBy, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';

const f = makeFixture([100, 100, 100, 100]);

function certificateFor(ids: readonly string[]): { cert: Certificate; p: ReturnType<typeof proposalBy> } {
  const p = proposalBy(f, 'v1', 0);
  const votes = ids.map((id) => voteBy(f, id, { round: 1, period: 0, step: Step.cert, value: p.block.hash }));
  return { p, cert: { round: 1, period: 0, value: p.block.hash, votes, equivocations: [] } };
}

test('messages from later rounds make a node that has waited a while ask to catch up', (t) => {
  const { player } = startPlayer(f, 'v0');
  const early = player.handle(voteMsg(voteBy(f, 'v1', { round: 2, period: 0, step: Step.soft, value: new Uint8Array(32) })), 1);
  t.is(ofKind(early, 'catchup').length, 0, 'not right after entering the round');
  const later = player.handle(voteMsg(voteBy(f, 'v2', { round: 3, period: 0, step: Step.soft, value: new Uint8Array(32) })), f.params.catchupInterval);
  t.deepEqual(
    ofKind(later, 'catchup').map((a) => a.round),
    [1],
  );
});

test('a certified block from a peer is validated, then committed, and the next round is requested', (t) => {
  const { player } = startPlayer(f, 'v0');
  const { cert, p } = certificateFor(['v1', 'v2', 'v3']);
  const out = player.handle({ kind: 'certified', block: p.block, certificate: cert }, 10);
  t.is(ofKind(out, 'commit').length, 0, 'not before the ledger has validated the block');
  t.is(ofKind(out, 'validate').length, 1);
  const out2 = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, 11);
  const commits = ofKind(out2, 'commit');
  t.is(commits.length, 1);
  t.is(valueKey(commits[0]!.block.hash), valueKey(p.block.hash));
  t.is(player.status().round, 2);
  t.deepEqual(
    ofKind(out2, 'catchup').map((a) => a.round),
    [2],
  );
});

test('a certificate below the threshold, or with a forged vote, is refused', (t) => {
  const { player } = startPlayer(f, 'v0');
  const small = certificateFor(['v1', 'v2']);
  t.is(ofKind(player.handle({ kind: 'certified', block: small.p.block, certificate: small.cert }, 10), 'validate').length, 0);
  const { cert, p } = certificateFor(['v1', 'v2', 'v3']);
  const sig = new Uint8Array(cert.votes[2]!.signature);
  sig[0]! ^= 1;
  const forged: Certificate = { ...cert, votes: [cert.votes[0]!, cert.votes[1]!, { ...cert.votes[2]!, signature: sig }] };
  player.handle({ kind: 'certified', block: p.block, certificate: forged }, 11);
  t.is(player.counters()['drop.bad-certificate'], 2);
  t.is(player.status().round, 1);
});

test('a next-quorum bundle from a later period moves a lagging node there; a forged one is refused', (t) => {
  const { player } = startPlayer(f, 'v0');
  const votes = ['v1', 'v2', 'v3'].map((id) => voteBy(f, id, { round: 1, period: 4, step: Step.next + 2, value: null }));
  const bundle: Bundle = { round: 1, period: 4, step: Step.next + 2, value: null, votes, equivocations: [] };
  const forged: Bundle = { ...bundle, votes: [votes[0]!, votes[1]!, { ...votes[2]!, value: new Uint8Array(32) }] };
  player.handle(msg({ kind: 'bundle', bundle: forged }), 1);
  t.is(player.counters()['drop.bad-bundle'], 1);
  t.is(player.status().period, 0);
  const out = player.handle(msg({ kind: 'bundle', bundle }), 2);
  t.is(player.status().period, 5);
  t.is(ofKind(out, 'relay').length, 1, 'a bundle that taught us something is relayed');
  t.is(ofKind(player.handle(msg({ kind: 'bundle', bundle }), 3), 'relay').length, 0, 'a known one is not');
});

test('a flood of proposals cannot crowd out the block that gets certified (the block store evicts)', (t) => {
  const { player } = startPlayer(f, 'v0');
  // 100 equivocating blocks from one proposer fill the bounded store.
  for (let i = 0; i < 100; i++) player.handle(msg({ kind: 'proposal', proposal: proposalBy(f, 'v1', 0, new TextEncoder().encode(`flood ${i}`)) }), 1 + i);
  const p = proposalBy(f, 'v2', 0, new TextEncoder().encode('the certified one'));
  const votes = ['v1', 'v2', 'v3'].map((id) => voteBy(f, id, { round: 1, period: 0, step: Step.cert, value: p.block.hash }));
  const out = player.handle({ kind: 'certified', block: p.block, certificate: { round: 1, period: 0, value: p.block.hash, votes, equivocations: [] } }, 200);
  t.is(ofKind(out, 'validate').length, 1);
  const done = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, 201);
  t.is(ofKind(done, 'commit').length, 1);
});

test('a bundle flattened to votes by the transport is regrouped and still pulls a lagging node forward', async (t) => {
  const { bundlesFromVotes } = await import('../../../services/consensus/agreement/votes.js');
  const { player } = startPlayer(f, 'v0');
  const x = new Uint8Array(32).fill(1);
  const votes = [
    voteBy(f, 'v1', { round: 1, period: 3, step: Step.next, value: null }),
    voteBy(f, 'v2', { round: 1, period: 3, step: Step.next, value: null }),
    voteBy(f, 'v3', { round: 1, period: 3, step: Step.next, value: null }),
    voteBy(f, 'v3', { round: 1, period: 3, step: Step.next, value: x }),
  ];
  // One by one, votes three periods ahead are dropped.
  for (const v of votes) player.handle(voteMsg(v), 1);
  t.is(player.status().period, 0);
  const bundles = bundlesFromVotes(votes);
  t.is(bundles.length, 1);
  t.is(bundles[0]!.equivocations.length, 1, 'v3 voted twice: an equivocation pair');
  for (const b of bundles) player.handle(msg({ kind: 'bundle', bundle: b }), 2);
  t.is(player.status().period, 4);
});
