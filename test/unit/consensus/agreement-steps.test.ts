// The BA* steps one at a time, driving a single player (v0) with messages from three other voters
// of equal stake. Quorum = floor(2/3 · 400) + 1 = 267, so any three of the four voters make one.
import test from 'ava';
import { proposalPriority, compareBytes, valueKey } from '../../../services/consensus/agreement/codec.js';
import { Step, type AgreementAction, type Proposal } from '../../../services/consensus/agreement/types.js';
import { verifyCertificate } from '../../../services/consensus/agreement/votes.js';
import { isProposer, lastTimer, makeFixture, ofKind, proposalBy, proposalMsg, reproposalBy, sentVotes, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';

const f = makeFixture([100, 100, 100, 100]);

function fire(player: ReturnType<typeof startPlayer>['player'], at: number): AgreementAction[] {
  return player.handle({ kind: 'timeout', at, entropy: 12345 }, at);
}

test('start: enters round 1 period 0, arms the filter timeout, asks to assemble only if selected to propose', (t) => {
  const { player, actions } = startPlayer(f, 'v0');
  t.deepEqual({ round: player.status().round, period: player.status().period }, { round: 1, period: 0 });
  t.is(lastTimer(actions), f.params.filterTimeout0);
  t.is(ofKind(actions, 'assemble').length, isProposer(f, 'v0', 1, 0) ? 1 : 0);
});

test('assembled body becomes a proposal: persisted, broadcast with a block that links to genesis', (t) => {
  const id = f.ids.find((x) => isProposer(f, x, 1, 0));
  if (id === undefined) return t.fail('the fixture must have a proposer for round 1');
  const { player } = startPlayer(f, id);
  const out = player.handle({ kind: 'assembled', round: 1, period: 0, body: new Uint8Array([1, 2, 3]) }, 5);
  t.is(out[0]?.kind, 'persist', 'state is persisted before the proposal leaves');
  const b = ofKind(out, 'broadcast')[0];
  t.is(b?.message.kind, 'proposal');
  if (b?.message.kind !== 'proposal') return;
  t.deepEqual(b.message.proposal.block.prevHash, f.genesis.hash);
  t.deepEqual(b.message.proposal.vote.value, b.message.proposal.block.hash);
  t.is(ofKind(out, 'validate').length, 1, 'our own block is validated like any other');
});

test('soft step: at the filter timeout, soft-votes the proposal with the lowest priority', (t) => {
  const { player } = startPlayer(f, 'v0');
  const p1 = proposalBy(f, 'v1', 0);
  const p2 = proposalBy(f, 'v2', 0);
  const a1 = player.handle(proposalMsg(p1), 10);
  t.is(ofKind(a1, 'validate').length, 1);
  player.handle(proposalMsg(p2), 11);
  t.is(sentVotes(player.handle(proposalMsg(p2), 12)).length, 0, 'no vote before the filter timeout');
  const best = compareBytes(proposalPriority(f.crypto.get('v0')!, p1.vote.credential), proposalPriority(f.crypto.get('v0')!, p2.vote.credential)) < 0 ? p1 : p2;
  const votes = sentVotes(fire(player, f.params.filterTimeout0));
  t.is(votes.length, 1);
  t.is(votes[0]!.step, Step.soft);
  t.is(valueKey(votes[0]!.value), valueKey(best.block.hash));
});

function toSoftQuorum(): { player: ReturnType<typeof startPlayer>['player']; p: Proposal; at: number } {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(p), 10);
  fire(player, f.params.filterTimeout0);
  for (const id of ['v1', 'v2']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 120);
  return { player, p, at: 121 };
}

test('cert step: cert-votes the soft-quorum value only once the ledger says the block is valid', (t) => {
  const { player, p, at } = toSoftQuorum();
  const before = player.handle(voteMsg(voteBy(f, 'v3', { round: 1, period: 0, step: Step.soft, value: p.block.hash })), at);
  t.is(sentVotes(before).filter((v) => v.step === Step.cert).length, 0, 'no cert vote while validation is pending');
  const after = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, at + 1);
  const cert = sentVotes(after).filter((v) => v.step === Step.cert);
  t.is(cert.length, 1);
  t.is(valueKey(cert[0]!.value), valueKey(p.block.hash));
  t.is(after[0]?.kind, 'persist', 'the cert vote is persisted before it is sent');
});

test('cert step: an invalid block is never cert-voted', (t) => {
  const { player, p, at } = toSoftQuorum();
  const out = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: false }, at);
  t.is(sentVotes(out).length, 0);
  t.is(player.counters()['drop.invalid-block'], 1);
  // At the deadline it next-votes bottom, not the invalid staged value.
  const next = sentVotes(fire(player, f.params.deadlineTimeout));
  t.is(next.length, 1);
  t.is(next[0]!.step, Step.next);
  t.is(next[0]!.value, null);
});

test('a block we do not vouch for (storage not verified here) gets no vote from us, yet is committed when others certify it', (t) => {
  const { player, p, at } = toSoftQuorum();
  const out = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false, reason: 'storage' }, at);
  t.is(sentVotes(out).filter((v) => v.step === Step.cert).length, 0, 'no cert vote');
  t.is(player.counters()['unvouched-blocks'], 1);
  let commits: ReturnType<typeof ofKind<'commit'>> = [];
  for (const [i, id] of ['v1', 'v2', 'v3'].entries()) {
    const o = player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.cert, value: p.block.hash })), at + 5 + i);
    t.is(sentVotes(o).filter((v) => v.step === Step.cert).length, 0, 'still no cert vote of ours');
    commits = commits.concat(ofKind(o, 'commit'));
  }
  t.is(commits.length, 1, "three others' cert votes are a quorum: the block is committed");
  t.deepEqual(commits[0]!.block.hash, p.block.hash);
  t.is(player.status().round, 2);
});

test('a certificate for a block that arrives before our unvouched verdict commits it at the verdict', (t) => {
  const { player, p, at } = toSoftQuorum();
  for (const [i, id] of ['v1', 'v2', 'v3'].entries()) {
    player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.cert, value: p.block.hash })), at + i);
  }
  t.is(player.status().round, 1, 'validation pending: not committed yet');
  const out = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false }, at + 10);
  t.is(ofKind(out, 'commit').length, 1);
  t.is(player.status().round, 2);
});

test('finalize: a cert quorum commits the block with a certificate that verifies, then round 2 starts', (t) => {
  const { player, p, at } = toSoftQuorum();
  player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, at);
  const out = player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 0, step: Step.cert, value: p.block.hash })), at + 5);
  t.is(ofKind(out, 'commit').length, 0, 'two cert votes of four are not a quorum');
  const out2 = player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.cert, value: p.block.hash })), at + 6);
  const commits = ofKind(out2, 'commit');
  t.is(commits.length, 1);
  t.deepEqual(commits[0]!.block.hash, p.block.hash);
  const ledger = f.ledger();
  const ok = verifyCertificate(commits[0]!.certificate, {
    crypto: f.crypto.get('v3')!,
    params: f.params,
    seed: f.genesis.seed,
    totalStake: f.total,
    stakeOf: (id) => ledger.stakeOf(id, 1),
  });
  t.true(ok.ok);
  t.is(player.status().round, 2);
  t.deepEqual(player.status().tip.hash, p.block.hash);
});

test('next step: with no soft quorum, next-votes bottom at the deadline; a bottom quorum starts period 1', (t) => {
  const { player } = startPlayer(f, 'v0');
  t.is(sentVotes(fire(player, f.params.filterTimeout0)).length, 0, 'nothing proposed, nothing soft-voted');
  const next = sentVotes(fire(player, f.params.deadlineTimeout));
  t.deepEqual(
    next.map((v) => [v.step, v.value]),
    [[Step.next, null]],
  );
  player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 0, step: Step.next, value: null })), 210);
  const out = player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.next, value: null })), 211);
  t.is(player.status().period, 1);
  t.is(lastTimer(out), 211 + f.params.filterTimeout);
  t.is(ofKind(out, 'assemble').length, isProposer(f, 'v0', 1, 1) ? 1 : 0, 'a bottom quorum means fresh proposals');
});

test('recovery: a next-value quorum carries the value into period 1, where it is soft-voted over fresher proposals', (t) => {
  const { player } = startPlayer(f, 'v0');
  const px = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(px), 5);
  for (const id of ['v1', 'v2', 'v3']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.next, value: px.block.hash })), 150);
  t.is(player.status().period, 1);
  // A fresh proposal of period 1 and a reproposal of the carried block.
  player.handle(proposalMsg(proposalBy(f, 'v2', 1)), 160);
  player.handle(proposalMsg(reproposalBy(f, 'v3', 1, px.block)), 161);
  const soft = sentVotes(fire(player, 150 + f.params.filterTimeout)).filter((v) => v.step === Step.soft);
  t.is(soft.length, 1);
  t.is(valueKey(soft[0]!.value), valueKey(px.block.hash));
});

test('recovery: later next steps nap at random inside doubling windows, then vote', (t) => {
  const { player } = startPlayer(f, 'v0');
  fire(player, f.params.filterTimeout0);
  const a3 = fire(player, f.params.deadlineTimeout);
  const t3 = lastTimer(a3)!;
  const nap = fire(player, t3); // enter step 4, napping
  t.is(sentVotes(nap).length, 0);
  const napAt = lastTimer(nap)!;
  t.true(napAt >= t3 && napAt < t3 + 2 * f.params.lambda, `nap ${napAt} inside step 4's window`);
  const v4 = sentVotes(fire(player, napAt));
  t.deepEqual(
    v4.map((v) => v.step),
    [Step.next + 1],
  );
});

test('a soft quorum of a later period moves us to that period (fast-forward)', (t) => {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  for (const id of ['v1', 'v2', 'v3']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 1, step: Step.soft, value: p.block.hash })), 30);
  t.is(player.status().period, 1);
});

test('only the leading proposal is validated on arrival; another is validated when a vote, a quorum or a verdict needs it', (t) => {
  const priority = (p: Proposal) => proposalPriority(f.crypto.get('v0')!, p.vote.credential);
  const ps = ['v1', 'v2', 'v3'].map((id) => proposalBy(f, id, 0)).sort((a, b) => compareBytes(priority(a), priority(b)));
  const [best, second, third] = ps as [Proposal, Proposal, Proposal];
  const validated = (out: readonly AgreementAction[]) => ofKind(out, 'validate').map((a) => valueKey(a.block.hash));

  // Best first: the two worse ones arrive and are kept, not validated.
  const { player } = startPlayer(f, 'v0');
  t.deepEqual(validated(player.handle(proposalMsg(best), 10)), [valueKey(best.block.hash)]);
  t.deepEqual(validated(player.handle(proposalMsg(third), 11)), []);
  t.deepEqual(validated(player.handle(proposalMsg(second), 12)), []);
  t.is(player.counters()['validations-deferred'], 2);
  // The leader is invalid: the next best is validated at once, in time for the soft vote.
  t.deepEqual(validated(player.handle({ kind: 'verdict', round: 1, hash: best.block.hash, valid: false }, 13)), [valueKey(second.block.hash)]);
  // A soft quorum for the third (others saw it first): validated now, so that our cert vote can follow.
  const quorum = player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 0, step: Step.soft, value: third.block.hash })), 20);
  t.deepEqual(validated(quorum), []);
  const staged = [...quorum, ...player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.soft, value: third.block.hash })), 21), ...player.handle(voteMsg(voteBy(f, 'v3', { round: 1, period: 0, step: Step.soft, value: third.block.hash })), 22)];
  t.deepEqual(validated(staged), [valueKey(third.block.hash)]);
  const cert = sentVotes(player.handle({ kind: 'verdict', round: 1, hash: third.block.hash, valid: true }, 23)).filter((v) => v.step === Step.cert);
  t.is(cert.length, 1);
  t.is(valueKey(cert[0]!.value), valueKey(third.block.hash));

  // Worst first: each arrival is the new leader and is validated (as many as leaders seen, not proposals).
  const other = startPlayer(f, 'v0').player;
  const asked = [third, second, best].flatMap((p, i) => validated(other.handle(proposalMsg(p), 10 + i)));
  t.deepEqual(asked, [third, second, best].map((p) => valueKey(p.block.hash)));
});
