// Crash recovery: a node restarted from its persisted state never sends a vote that differs from one
// it sent before the crash, and gets back to the period it had reached.
import test from 'ava';
import { decodeState, encodeState, valueKey } from '../../../services/consensus/agreement/codec.js';
import { Step, type AgreementAction } from '../../../services/consensus/agreement/types.js';
import { lastTimer, makeFixture, ofKind, proposalBy, proposalMsg, sentVotes, startPlayer, voteBy, voteMsg } from '../../sim/fixture.js';

const f = makeFixture([100, 100, 100, 100]);

function lastPersist(actions: readonly AgreementAction[]): Uint8Array {
  const p = ofKind(actions, 'persist');
  if (p.length === 0) throw new Error('no persist action');
  return p[p.length - 1]!.state;
}

test('every own vote is preceded by a persist of state that already contains it', (t) => {
  const { player } = startPlayer(f, 'v0');
  player.handle(proposalMsg(proposalBy(f, 'v1', 0)), 5);
  const out = player.handle({ kind: 'timeout', at: f.params.filterTimeout0, entropy: 0 }, f.params.filterTimeout0);
  const iPersist = out.findIndex((a) => a.kind === 'persist');
  const iSend = out.findIndex((a) => a.kind === 'broadcast');
  t.true(iPersist >= 0 && iPersist < iSend);
  const s = decodeState(lastPersist(out));
  const soft = sentVotes(out)[0]!;
  t.deepEqual(
    s.votes.map((v) => [v.period, v.step, valueKey(v.value)]),
    [[0, Step.soft, valueKey(soft.value)]],
  );
});

test('restarted after a soft vote, a node re-sends the same value even if it now sees another proposal', (t) => {
  const pa = proposalBy(f, 'v1', 0, new TextEncoder().encode('A'));
  const pb = proposalBy(f, 'v2', 0, new TextEncoder().encode('B'));
  const ledger = f.ledger();
  const first = startPlayer(f, 'v0', ledger);
  first.player.handle(proposalMsg(pa), 5);
  const out = first.player.handle({ kind: 'timeout', at: f.params.filterTimeout0, entropy: 0 }, f.params.filterTimeout0);
  t.is(valueKey(sentVotes(out)[0]!.value), valueKey(pa.block.hash));
  const persisted = lastPersist(out);

  // Crash. The new process only ever hears of proposal B.
  const second = startPlayer(f, 'v0', ledger, persisted);
  second.player.handle(proposalMsg(pb), 1005);
  const at = lastTimer(second.actions)!;
  const again = sentVotes(second.player.handle({ kind: 'timeout', at, entropy: 0 }, at));
  t.is(again.length, 1);
  t.is(again[0]!.step, Step.soft);
  t.is(valueKey(again[0]!.value), valueKey(pa.block.hash), 'same value as before the crash');
  t.is(second.player.counters()['self-equivocation-prevented'], 1);
});

test('restarted after next-voting bottom, a node never cert-votes in that period even when it sees a soft quorum', (t) => {
  const ledger = f.ledger();
  const first = startPlayer(f, 'v0', ledger);
  first.player.handle({ kind: 'timeout', at: f.params.filterTimeout0, entropy: 0 }, f.params.filterTimeout0);
  const out = first.player.handle({ kind: 'timeout', at: f.params.deadlineTimeout, entropy: 0 }, f.params.deadlineTimeout);
  t.deepEqual(
    sentVotes(out).map((v) => [v.step, v.value]),
    [[Step.next, null]],
  );
  const second = startPlayer(f, 'v0', ledger, lastPersist(out));
  const p = proposalBy(f, 'v1', 0);
  const acts: AgreementAction[] = [];
  acts.push(...second.player.handle(proposalMsg(p), 500));
  acts.push(...second.player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, 501));
  for (const id of ['v1', 'v2', 'v3']) acts.push(...second.player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 502));
  t.is(sentVotes(acts).filter((v) => v.step === Step.cert).length, 0);
});

test('restarted after cert-voting, a node next-votes the certified value (never bottom) in that period', (t) => {
  const ledger = f.ledger();
  const first = startPlayer(f, 'v0', ledger);
  const p = proposalBy(f, 'v1', 0);
  first.player.handle(proposalMsg(p), 5);
  first.player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, 6);
  const acts: AgreementAction[] = [];
  for (const id of ['v1', 'v2', 'v3']) acts.push(...first.player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 50));
  t.is(sentVotes(acts).filter((v) => v.step === Step.cert).length, 1);

  // The restarted node lost the block and the soft quorum; at the deadline it must still carry the value.
  const second = startPlayer(f, 'v0', ledger, lastPersist(acts));
  const filter = lastTimer(second.actions)!;
  second.player.handle({ kind: 'timeout', at: filter, entropy: 0 }, filter);
  const deadline = filter - f.params.filterTimeout0 + f.params.deadlineTimeout;
  const next = sentVotes(second.player.handle({ kind: 'timeout', at: deadline, entropy: 0 }, deadline));
  t.deepEqual(
    next.map((v) => [v.step, valueKey(v.value)]),
    [[Step.next, valueKey(p.block.hash)]],
  );
});

test('the persisted freshest quorum brings a restarted node back to the period it had reached', (t) => {
  const ledger = f.ledger();
  const first = startPlayer(f, 'v0', ledger);
  for (const id of ['v1', 'v2', 'v3']) first.player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.next, value: null })), 10);
  t.is(first.player.status().period, 1);
  const out = first.player.handle({ kind: 'timeout', at: 10 + f.params.filterTimeout, entropy: 0 }, 10 + f.params.filterTimeout);
  const deadline = 10 + f.params.deadlineTimeout;
  const out2 = first.player.handle({ kind: 'timeout', at: deadline, entropy: 0 }, deadline);
  const state = lastPersist([...out, ...out2]);
  const second = startPlayer(f, 'v0', ledger, state);
  t.is(second.player.status().period, 1);
  t.true(ofKind(second.actions, 'relay').some((a) => a.message.kind === 'bundle'), 'and relays that quorum to its peers');
});

test('state of a round that is already in the ledger is ignored on restart', (t) => {
  const ledger = f.ledger();
  const stale = encodeState({ round: 0, period: 3, step: Step.next, votes: [{ period: 3, step: Step.next, value: null }], bundle: null });
  const { player } = startPlayer(f, 'v0', ledger, stale);
  t.deepEqual({ round: player.status().round, period: player.status().period }, { round: 1, period: 0 });
});

test('persisted state round-trips through its encoding', (t) => {
  const v = voteBy(f, 'v2', { round: 4, period: 1, step: Step.next, value: null });
  const w = voteBy(f, 'v2', { round: 4, period: 1, step: Step.next, value: new Uint8Array(32).fill(5) });
  const s = {
    round: 4,
    period: 1,
    step: 5,
    votes: [
      { period: 0, step: Step.soft, value: new Uint8Array(32).fill(9) },
      { period: 1, step: 5, value: null },
    ],
    bundle: { round: 4, period: 1, step: Step.next, value: null, votes: [v], equivocations: [[v, w]] as const },
  };
  t.deepEqual(decodeState(encodeState(s)), s);
  t.throws(() => decodeState(new TextEncoder().encode('{"v":2}')), { message: /version/ });
});

// ---------------------------------------------------------------------------------------------
// Blocks we vote for are persisted before the vote leaves and handed back on restart (the
// crash-recovery liveness hole: docs/consensus.md, agreement/README.md "Persistence").

test('the block of our first vote for it is persisted before that vote, once per round', (t) => {
  const { player } = startPlayer(f, 'v0');
  const p = proposalBy(f, 'v1', 0);
  player.handle(proposalMsg(p), 5);
  player.handle({ kind: 'verdict', round: 1, hash: p.block.hash, valid: true }, 6);
  const soft = player.handle({ kind: 'timeout', at: f.params.filterTimeout0, entropy: 0 }, f.params.filterTimeout0);
  const kinds = soft.map((a) => a.kind).filter((k) => k === 'persistProposal' || k === 'persist' || k === 'broadcast');
  t.deepEqual(kinds, ['persistProposal', 'persist', 'broadcast'], 'block, then vote record, then the vote');
  const saved = ofKind(soft, 'persistProposal')[0]!.proposal;
  t.is(valueKey(saved.block.hash), valueKey(p.block.hash));
  t.deepEqual(saved.block.body, p.block.body);
  // The soft quorum leads to a cert vote for the same block: not written again.
  const acts: AgreementAction[] = [];
  for (const id of ['v1', 'v2', 'v3']) acts.push(...player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: p.block.hash })), 150));
  t.is(sentVotes(acts).filter((v) => v.step === Step.cert).length, 1);
  t.is(ofKind(acts, 'persistProposal').length, 0);
  t.is(player.counters()['blocks-persisted'], 1);
});

test('a next vote for bottom persists no block', (t) => {
  const { player } = startPlayer(f, 'v0');
  player.handle({ kind: 'timeout', at: f.params.filterTimeout0, entropy: 0 }, f.params.filterTimeout0);
  const out = player.handle({ kind: 'timeout', at: f.params.deadlineTimeout, entropy: 0 }, f.params.deadlineTimeout);
  t.deepEqual(sentVotes(out).map((v) => v.value), [null]);
  t.is(ofKind(out, 'persistProposal').length, 0);
});

/**
 * Node v0 holds block A, cert-votes it in period 0; a next quorum carries A into period 1, where v0
 * soft-votes it; then v0 crashes. Returns what it had persisted.
 */
function carriedThenCrash(): { a: ReturnType<typeof proposalBy>; state: Uint8Array; proposals: ReturnType<typeof proposalBy>[]; ledger: ReturnType<typeof f.ledger> } {
  const ledger = f.ledger();
  const first = startPlayer(f, 'v0', ledger);
  const a = proposalBy(f, 'v1', 0);
  const acts: AgreementAction[] = [];
  acts.push(...first.player.handle(proposalMsg(a), 5));
  acts.push(...first.player.handle({ kind: 'verdict', round: 1, hash: a.block.hash, valid: true }, 6));
  for (const id of ['v1', 'v2', 'v3']) acts.push(...first.player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.soft, value: a.block.hash })), 50));
  for (const id of ['v1', 'v2', 'v3']) acts.push(...first.player.handle(voteMsg(voteBy(f, id, { round: 1, period: 0, step: Step.next, value: a.block.hash })), 60));
  if (first.player.status().period !== 1) throw new Error('expected period 1');
  const filter = lastTimer(acts)!;
  acts.push(...first.player.handle({ kind: 'timeout', at: filter, entropy: 0 }, filter));
  const softs = sentVotes(acts).filter((v) => v.step === Step.soft && v.period === 1);
  if (softs.length !== 1 || valueKey(softs[0]!.value) !== valueKey(a.block.hash)) throw new Error('expected a soft vote for A in period 1');
  return { a, state: lastPersist(acts), proposals: ofKind(acts, 'persistProposal').map((x) => x.proposal), ledger };
}

function softQuorumP1(player: ReturnType<typeof startPlayer>['player'], value: Uint8Array, now: number): AgreementAction[] {
  const acts: AgreementAction[] = [];
  for (const id of ['v1', 'v2', 'v3']) acts.push(...player.handle(voteMsg(voteBy(f, id, { round: 1, period: 1, step: Step.soft, value })), now));
  return acts;
}

test('restart without the persisted block (the old hole): back in period 1 with A carried, a soft quorum for A gets no cert vote', (t) => {
  const { a, state, ledger } = carriedThenCrash();
  const second = startPlayer(f, 'v0', ledger, state);
  t.is(second.player.status().period, 1);
  const acts = softQuorumP1(second.player, a.block.hash, 10);
  t.is(sentVotes(acts).filter((v) => v.step === Step.cert).length, 0, 'nobody can cert-vote a block nobody holds');
});

test('restart with the persisted block: it is checked and validated again, then A is cert-voted in period 1', (t) => {
  const { a, state, proposals, ledger } = carriedThenCrash();
  t.is(proposals.length, 1);
  const second = startPlayer(f, 'v0', ledger, state, proposals);
  t.is(second.player.status().period, 1);
  t.is(second.player.counters()['blocks-restored'], 1);
  const validate = ofKind(second.actions, 'validate');
  t.deepEqual(validate.map((v) => valueKey(v.block.hash)), [valueKey(a.block.hash)], 'the host validates it again (payload from disk)');
  // No cert vote before the verdict; the verdict then completes it.
  const early = softQuorumP1(second.player, a.block.hash, 10);
  t.is(sentVotes(early).filter((v) => v.step === Step.cert).length, 0);
  const acts = second.player.handle({ kind: 'verdict', round: 1, hash: a.block.hash, valid: true }, 11);
  const certs = sentVotes(acts).filter((v) => v.step === Step.cert);
  t.deepEqual(certs.map((v) => [v.period, valueKey(v.value)]), [[1, valueKey(a.block.hash)]]);
  t.is(ofKind(acts, 'persistProposal').length, 0, 'a restored block is on disk already');
});

test('restored proposals are checked: a tampered block is dropped, one of another round ignored', (t) => {
  const { state, proposals, ledger } = carriedThenCrash();
  const good = proposals[0]!;
  const tampered = { ...good, block: { ...good.block, body: new TextEncoder().encode('not what was hashed') } };
  const otherRound = { ...good, block: { ...good.block, round: 2 } };
  const second = startPlayer(f, 'v0', ledger, state, [tampered, otherRound]);
  t.is(ofKind(second.actions, 'validate').length, 0);
  t.is(second.player.counters()['blocks-restored'] ?? 0, 0);
  t.is(second.player.counters()['drop.bad-block'], 1);
});
