// A small fixture for driving one agreement player by hand in unit tests: a set of voters with
// stakes and the simulator's keyed-hash crypto, and helpers that build correctly signed votes and
// proposals as other nodes would send them.

import { blockHash, deriveSeed, voteSigningBytes } from '../../services/consensus/agreement/codec.js';
import { expectedSizeOf, smallNetworkParams, type AgreementParams } from '../../services/consensus/agreement/params.js';
import { createPlayer, type Player } from '../../services/consensus/agreement/player.js';
import {
  Step,
  type AgreementAction,
  type AgreementEvent,
  type Block,
  type Message,
  type Proposal,
  type Value,
  type Vote,
  type VoterId,
} from '../../services/consensus/agreement/types.js';
import { SimCrypto, SimKeyring, sha256 } from './sim-crypto.js';
import { SimLedger } from './sim-ledger.js';

const enc = new TextEncoder();

export interface Fixture {
  readonly ids: readonly VoterId[];
  readonly params: AgreementParams;
  readonly crypto: ReadonlyMap<VoterId, SimCrypto>;
  readonly stakes: ReadonlyMap<VoterId, bigint>;
  readonly total: bigint;
  readonly genesis: { round: number; hash: Uint8Array; seed: Uint8Array };
  ledger(): SimLedger;
}

export function makeFixture(stakes: readonly number[], params?: Partial<AgreementParams>): Fixture {
  const ids = stakes.map((_, i) => `v${i}`);
  const keyring = new SimKeyring();
  const stakeMap = new Map<VoterId, bigint>();
  let total = 0n;
  ids.forEach((id, i) => {
    keyring.add(id, sha256(enc.encode(`fixture/${id}`)));
    stakeMap.set(id, BigInt(stakes[i]!));
    total += BigInt(stakes[i]!);
  });
  const genesis = { round: 0, hash: sha256(enc.encode('fixture/genesis')), seed: sha256(enc.encode('fixture/seed')) };
  return {
    ids,
    params: smallNetworkParams(total, params),
    crypto: new Map(ids.map((id) => [id, new SimCrypto(id, keyring)])),
    stakes: stakeMap,
    total,
    genesis,
    ledger: () => new SimLedger(genesis, stakeMap, total),
  };
}

/** A player for voter `id`, started at time 0; returns it with its start actions. */
export function startPlayer(
  f: Fixture,
  id: VoterId,
  ledger = f.ledger(),
  persisted: Uint8Array | null = null,
  persistedProposals: readonly Proposal[] = [],
): { player: Player; actions: AgreementAction[]; ledger: SimLedger } {
  const player = createPlayer({ crypto: f.crypto.get(id)!, ledger, params: f.params, persisted, persistedProposals });
  const actions = player.handle({ kind: 'start' }, 0);
  return { player, actions, ledger };
}

/** A correctly signed vote by `id` (credential proven with its stake), or throws if not selected. */
export function voteBy(f: Fixture, id: VoterId, v: { round: number; period: number; step: number; value: Value; seed?: Uint8Array }): Vote {
  const c = f.crypto.get(id)!;
  const cred = c.proveCredential(
    { seed: v.seed ?? f.genesis.seed, round: v.round, period: v.period, step: v.step, expectedSize: expectedSizeOf(f.params, v.step), totalStake: f.total },
    f.stakes.get(id)!,
  );
  if (cred === null) throw new Error(`voteBy: ${id} is not selected for step ${v.step}`);
  const signature = c.sign(voteSigningBytes(id, v.round, v.period, v.step, v.value));
  return { round: v.round, period: v.period, step: v.step, value: v.value, credential: cred, signature };
}

/** Is `id` selected as a proposer for (round, period) on the genesis seed? */
export function isProposer(f: Fixture, id: VoterId, round: number, period: number): boolean {
  const cred = f.crypto.get(id)!.proveCredential(
    { seed: f.genesis.seed, round, period, step: Step.propose, expectedSize: f.params.proposerSize, totalStake: f.total },
    f.stakes.get(id)!,
  );
  return cred !== null;
}

/** A valid block and proposal by `id` for round 1 (on genesis) in `period`. */
export function proposalBy(f: Fixture, id: VoterId, period: number, body = enc.encode(`body of ${id} p${period}`)): Proposal {
  const vote0 = voteBy(f, id, { round: 1, period, step: Step.propose, value: new Uint8Array(32) });
  const c = f.crypto.get(id)!;
  const header = {
    round: 1,
    prevHash: f.genesis.hash,
    seed: deriveSeed(c, f.genesis.seed, 1, period, vote0.credential.vrfOutput),
    proposer: id,
    period,
    credential: vote0.credential,
    body,
  };
  const block: Block = { ...header, hash: blockHash(c, header) };
  return { vote: voteBy(f, id, { round: 1, period, step: Step.propose, value: block.hash }), block };
}

/** The same block reproposed by `id` in a later `period` (a fresh proposal-vote, the original block). */
export function reproposalBy(f: Fixture, id: VoterId, period: number, block: Block): Proposal {
  return { vote: voteBy(f, id, { round: block.round, period, step: Step.propose, value: block.hash }), block };
}

export function msg(m: Message, from = 'peer'): AgreementEvent {
  return { kind: 'message', message: m, from };
}

export function voteMsg(v: Vote, from = 'peer'): AgreementEvent {
  return msg({ kind: 'vote', vote: v }, from);
}

export function proposalMsg(p: Proposal, from = 'peer'): AgreementEvent {
  return msg({ kind: 'proposal', proposal: p }, from);
}

/** Our own broadcast votes among `actions`. */
export function sentVotes(actions: readonly AgreementAction[]): Vote[] {
  const out: Vote[] = [];
  for (const a of actions) if (a.kind === 'broadcast' && a.message.kind === 'vote') out.push(a.message.vote);
  return out;
}

export function lastTimer(actions: readonly AgreementAction[]): number | undefined {
  let at: number | undefined;
  for (const a of actions) if (a.kind === 'setTimer') at = a.at;
  return at;
}

export function ofKind<K extends AgreementAction['kind']>(actions: readonly AgreementAction[], kind: K): Extract<AgreementAction, { kind: K }>[] {
  return actions.filter((a): a is Extract<AgreementAction, { kind: K }> => a.kind === kind);
}
