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
