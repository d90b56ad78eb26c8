// Re-checking the storage of an unvouched block (agreement README "Unvouched blocks"): a block whose
// storage check failed here gets no vote from us; when a quorum soft-votes it anyway, the core asks the
// host to check again (`recheck`), once per step and one at a time. A `vouched` answer upgrades the block
// (cert vote before the deadline, next vote in a later step); a failing one keeps our next votes on ⊥.
// One player (v0) driven by three other voters of equal stake: any three of the four are a quorum.
import test from 'ava';
import { valueKey } from '../../../services/consensus/agreement/codec.js';
import { Step, type AgreementAction, type Proposal } from '../../../services/consensus/agreement/types.js';
import { lastTimer, makeFixture, ofKind, proposalBy, proposalMsg, sentVotes, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';

const f = makeFixture([100, 100, 100, 100]);
type P = ReturnType<typeof startPlayer>['player'];

function fire(player: P, at: number): AgreementAction[] {
  return player.handle({ kind: 'timeout', at, entropy: 12345 }, at);
}

function votesOf(actions: readonly AgreementAction[], step: number) {
  return sentVotes(actions).filter((v) => v.step === step);
}

/** v0 soft-voted p while its check was running; a soft quorum formed; then the check failed here. */
function unvouchedStaged(): { player: P; p: Proposal; at: number } {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(p), 10);
  fire(player, f.params.filterTimeout0);
  for (const id of ['v1', 'v2']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 120);
  const out = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false, reason: 'no storer proved possession' }, 125);
  if (votesOf(out, Step.cert).length !== 0) throw new Error('an unvouched block got a cert vote');
  return { player, p, at: 126 };
}

test('a soft quorum for a block we did not vouch for asks for one re-check; a pass upgrades it and we cert-vote it', (t) => {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(p), 10);
  player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false }, 20);
  t.is(sentVotes(fire(player, f.params.filterTimeout0)).length, 0, 'no soft vote for an unvouched block');
  t.is(ofKind(player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 110), 'recheck').length, 0, 'no re-check without a quorum');
  t.is(ofKind(player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 111), 'recheck').length, 0);
  const q = player.handle(voteMsg(voteBy(f, 'v3', { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 112);
  const rc = ofKind(q, 'recheck');
  t.is(rc.length, 1, 'the soft quorum asks for a re-check');
  t.deepEqual(rc[0]!.block.hash, p.block.hash);
  t.is(votesOf(q, Step.cert).length, 0, 'still no cert vote');
  const up = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: true }, 130);
  const cert = votesOf(up, Step.cert);
  t.is(cert.length, 1, 'vouched on re-check, before the deadline: cert vote');
  t.is(valueKey(cert[0]!.value), valueKey(p.block.hash));
  t.is(player.counters()['storage-rechecks-passed'], 1);
  // Others' cert votes and ours: a quorum, committed.
  player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 0, step: Step.cert, value: p.block.hash })), 131);
  const fin = player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 0, step: Step.cert, value: p.block.hash })), 132);
  t.is(ofKind(fin, 'commit').length, 1);
  t.is(player.status().round, 2);
});

test('upgrade after the deadline: next-votes ⊥ with the failed check, the re-check passes, the next step votes the value and it is certified in period 1', (t) => {
  const { player, p } = unvouchedStaged();
  const d = fire(player, f.params.deadlineTimeout);
  t.deepEqual(
    votesOf(d, Step.next).map((v) => v.value),
    [null],
    'the first next vote is ⊥: we do not vouch for the staged value',
  );
  t.is(ofKind(d, 'recheck').length, 1, 'the next step asks for a re-check of the staged value');
  const upgrade = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: true }, f.params.deadlineTimeout + 10);
  t.is(sentVotes(upgrade).length, 0, 'no cert vote after next-voting in this period, and no second vote in this step');
  const nap = fire(player, lastTimer(d)!);
  const v4 = votesOf(fire(player, lastTimer(nap)!), Step.next + 1);
  t.is(v4.length, 1);
  t.is(valueKey(v4[0]!.value), valueKey(p.block.hash), 'the next step next-votes the now vouched value');
  // With two others' next votes for it: period 1, the value carried, soft- and cert-voted there.
  const at = lastTimer(nap)! + 5;
  for (const id of ['v1', 'v2']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.next + 1, value: p.block.hash })), at);
  t.is(player.status().period, 1);
  const soft = votesOf(fire(player, at + f.params.filterTimeout), Step.soft);
  t.is(valueKey(soft[0]!.value), valueKey(p.block.hash));
  player.handle(voteMsg(voteBy(f, 'v1', { round: 1, period: 1, step: Step.soft, value: p.block.hash })), at + 200);
  const c = player.handle(voteMsg(voteBy(f, 'v2', { round: 1, period: 1, step: Step.soft, value: p.block.hash })), at + 201);
  t.is(votesOf(c, Step.cert).length, 1, 'cert vote in period 1');
});

test('a block whose storage keeps failing is never voted for: one re-check per step, none while one is in flight, ⊥ until the period moves on', (t) => {
  const { player, p } = unvouchedStaged();
  const d = fire(player, f.params.deadlineTimeout);
  t.is(ofKind(d, 'recheck').length, 1);
  t.deepEqual(
    votesOf(d, Step.next).map((v) => v.value),
    [null],
  );
  // Step next+1 while the re-check is still running: no second one.
  const nap = fire(player, lastTimer(d)!);
  const s4 = fire(player, lastTimer(nap)!);
  t.deepEqual(
    votesOf(s4, Step.next + 1).map((v) => v.value),
    [null],
  );
  t.is(ofKind(s4, 'recheck').length, 0, 'one re-check in flight at a time');
  // It fails: the block stays unvouched, nothing is voted for it.
  const fail = player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false, reason: 'still missing' }, lastTimer(nap)! + 1);
  t.is(sentVotes(fail).length, 0);
  t.is(player.counters()['storage-rechecks-failed'], 1);
  // The next step asks again (once), and votes ⊥ again.
  const nap2 = fire(player, lastTimer(s4)!);
  const s5 = fire(player, lastTimer(nap2)!);
  t.is(ofKind(s5, 'recheck').length, 1, 'a new step, no check in flight: one more re-check');
  t.deepEqual(
    votesOf(s5, Step.next + 2).map((v) => v.value),
    [null],
  );
  // A duplicate quorum event in the same step does not ask again.
  const again = player.handle(voteMsg(voteBy(f, 'v3', { round: 1, period: 0, step: Step.soft, value: p.block.hash })), lastTimer(nap2)! + 2);
  t.is(ofKind(again, 'recheck').length, 0);
  player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false }, lastTimer(nap2)! + 3);
  // Two others next-vote ⊥ in that step too: with ours a ⊥ quorum, period 1 with fresh proposals.
  const at = lastTimer(nap2)! + 4;
  for (const id of ['v2', 'v3']) player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.next + 2, value: null })), at);
  t.is(player.status().period, 1);
  // In period 1 nothing carries the block: no soft vote for it, no more re-checks of it.
  const soft = fire(player, at + f.params.filterTimeout);
  t.is(votesOf(soft, Step.soft).filter((v) => v.value !== null && valueKey(v.value) === valueKey(p.block.hash)).length, 0);
  const n1 = fire(player, at + f.params.deadlineTimeout);
  t.is(ofKind(n1, 'recheck').length, 0, 'not staged, not carried: not re-checked');
  t.deepEqual(
    votesOf(n1, Step.next).map((v) => v.value),
    [null],
  );
  t.is(player.counters()['storage-rechecks'], 2);
  for (const v of [...votesOf(d, Step.cert), ...votesOf(s4, Step.cert), ...votesOf(s5, Step.cert)]) t.not(valueKey(v.value), valueKey(p.block.hash));
});

test('an unvouched block no quorum voted for is never re-checked (a bad block cannot make us hammer storers)', (t) => {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(p), 10);
  player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true, vouched: false }, 20);
  const all: AgreementAction[] = [...fire(player, f.params.filterTimeout0)];
  let at = f.params.deadlineTimeout;
  for (let i = 0; i < 6; i++) {
    const out = fire(player, at);
    all.push(...out);
    at = lastTimer(out)!;
  }
  t.is(ofKind(all, 'recheck').length, 0);
  t.true(votesOf(all, Step.next).every((v) => v.value === null));
});
