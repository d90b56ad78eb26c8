// Deterministic simulation of many agreement nodes in one process (TigerBeetle VOPR / FoundationDB
// style). One seeded PRNG drives every choice: stakes, delays, drops, duplicates, partitions,
// crashes, Byzantine behaviour, timer entropy. A failing seed therefore replays exactly.
//
// Timeline of a run: faults are active from t = 0 until `healAt`; then the network heals (no drops,
// duplicates or partitions, short delays) and every crashed node restarts from its persisted state.
// Byzantine nodes (always below one third of stake) misbehave for the whole run.
//
// Checks, after every event:
//   fork         no two different blocks committed for one round by honest nodes (safety)
//   chain        every committed block links to the agreed block of the round before (prefix chains)
//   certificate  every commit carries a certificate that verifies against the REFERENCE thresholds
//   equivocation no honest node ever sends two different votes for one (round, period, step),
//                across crashes and restarts
//   liveness     after healing, every honest node reaches the target height within a bound
//   storage      no honest node commits a block whose files nobody holds (storage-missing): honest
//                nodes never vouch for it, so it can never gather a certificate
//   exception    the core never throws

import { blockHash, hex, voteSigningBytes } from '../../services/consensus/agreement/codec.js';
import { smallNetworkParams, type AgreementParams } from '../../services/consensus/agreement/params.js';
import { createPlayer, type Player } from '../../services/consensus/agreement/player.js';
import type {
  AgreementAction,
  AgreementCrypto,
  AgreementEvent,
  Block,
  Certificate,
  Hash,
  Message,
  Proposal,
  Vote,
  VoterId,
} from '../../services/consensus/agreement/types.js';
import { Step } from '../../services/consensus/agreement/types.js';
import { verifyCertificate } from '../../services/consensus/agreement/votes.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';
import { SimCrypto, SimKeyring, sha256 } from './sim-crypto.js';
import { INVALID_MARK, MISSING_MARK, SimLedger } from './sim-ledger.js';

export const ALL_FAULTS = ['delay', 'drop', 'duplicate', 'reorder', 'partition', 'crash', 'byzantine', 'storage-flaky', 'storage-missing'] as const;
export type Fault = (typeof ALL_FAULTS)[number];

export function parseFaults(s: string): Set<Fault> {
  const out = new Set<Fault>();
  if (s === '' || s === 'none') return out;
  for (const f of s.split(',')) {
    const name = f.trim();
    if (name === 'all') ALL_FAULTS.forEach((x) => out.add(x));
    else if ((ALL_FAULTS as readonly string[]).includes(name)) out.add(name as Fault);
    else throw new RangeError(`unknown fault "${name}"; expected some of ${ALL_FAULTS.join(',')} or all`);
  }
  return out;
}

/** Builds each node's crypto; the default is the simulator's fast keyed-hash scheme. */
export type CryptoFactory = (ids: readonly VoterId[], prng: Prng) => ReadonlyMap<VoterId, AgreementCrypto>;

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly rounds: number;
  readonly faults: ReadonlySet<Fault>;
  /** λ in ms (default 50: a loopback devnet). */
  readonly lambda?: number;
  /**
   * Overrides of the agreement params the NODES run with (a deliberately broken core for checker
   * tests), given the reference params of this run. The checker always uses the reference.
   */
  readonly params?: (reference: AgreementParams) => Partial<AgreementParams>;
  /** Check every commit's certificate against the reference thresholds (default true). */
  readonly checkCertificates?: boolean;
  /** Gossip relay of accepted messages (default true). */
  readonly relay?: boolean;
  /**
   * Hosts answer the core's `recheck` actions (default true). false: they ignore them, as hosts did
   * before the action existed; an unvouched verdict then stands for the round (the pre-fix rule).
   */
  readonly rechecks?: boolean;
  /** Checker test only: honest hosts skip the storage check and vouch for every valid block. */
  readonly skipStorageCheck?: boolean;
  readonly crypto?: CryptoFactory;
  /** Debug hook: called with every event delivered to a node and the actions it returned. */
  readonly trace?: (time: number, node: VoterId, event: AgreementEvent, actions: readonly AgreementAction[], status: string) => void;
  /** Safety valve against runaway runs. */
  readonly maxEvents?: number;
}

export type ViolationKind = 'fork' | 'chain' | 'certificate' | 'equivocation' | 'liveness' | 'exception' | 'storage';

export interface Violation {
  readonly kind: ViolationKind;
  readonly time: number;
  readonly message: string;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Honest nodes' final heights. */
  readonly heights: readonly number[];
  readonly target: number;
  /** Each honest node's block hash (hex) at height `target` ('' if it has none). */
  readonly atTarget: readonly string[];
  readonly healAt: number;
  readonly simTime: number;
  readonly events: number;
  readonly messages: number;
  readonly byzantine: number;
  readonly crashes: number;
  readonly partitions: number;
  /** Storage checks run (validate + recheck) and how many of them failed (flaky or missing). */
  readonly storageChecks: number;
  /** Of those, re-checks asked by the core (`recheck` actions). */
  readonly rechecks: number;
  readonly storageFailures: number;
  /** Blocks proposed whose files nobody holds (storage-missing). */
  readonly missingProposed: number;
  readonly counters: Readonly<Record<string, number>>;
}

type SimEvent =
  | { readonly t: 'msg'; readonly to: number; readonly from: number; readonly msg: Message }
  | { readonly t: 'timer'; readonly node: number; readonly inc: number; readonly at: number }
  | { readonly t: 'input'; readonly node: number; readonly inc: number; readonly ev: AgreementEvent }
  | { readonly t: 'catchup'; readonly node: number; readonly inc: number; readonly peer: number; readonly round: number }
  | { readonly t: 'crash'; readonly node: number }
  | { readonly t: 'restart'; readonly node: number }
  | { readonly t: 'partition'; readonly id: number; readonly side: readonly boolean[] | null }
  | { readonly t: 'heal' };

interface SimNode {
  readonly index: number;
  readonly id: VoterId;
  readonly stake: bigint;
  readonly byzantine: boolean;
  readonly crypto: AgreementCrypto;
  readonly ledger: SimLedger;
  readonly prng: Prng;
  player: Player | null;
  up: boolean;
  inc: number;
  timerAt: number;
  persisted: Uint8Array | null;
  /**
   * The node's disk of proposals (`persistProposal`), by block hash: as host.ts keeps them in RocksDB,
   * pruned to rounds after the ledger tip on commit; a restart hands back those of the current round.
   */
  readonly proposals: Map<string, Proposal>;
  /** Honest nodes: votes sent, by "round:period:step" (checked across restarts). */
  readonly sent: Map<string, string>;
  /** Byzantine nodes: the invalid block they proposed this round, which they then vote for. */
  badBlock: { round: number; hash: Hash } | null;
}

const enc = new TextEncoder();

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly prng: Prng;
  private readonly lambda: number;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly violations: Violation[] = [];
  private readonly reference: AgreementParams;
  private readonly nodeParams: AgreementParams;
  private readonly relay: boolean;
  private readonly genesisHash: Hash;
  private readonly genesisSeed: Hash;
  private readonly committed = new Map<number, { hash: string; block: Block }>();
  private now = 0;
  private events = 0;
  private messages = 0;
  private crashes = 0;
  private partitions = 0;
  private healed = false;
  private healAt = 0;
  private side: readonly boolean[] | null = null;
  private partitionId = 0;
  private dropP = 0;
  private dupP = 0;
  /**
   * Storage faults draw from their own stream, so that adding them leaves every other draw of a seed
   * (stakes, delays, partitions, crashes, Byzantine choices) as it was without them.
   */
  private readonly storagePrng: Prng;
  /** storage-flaky: the chance that one storage check of one block by one node fails (until healing). */
  private flakyP = 0;
  /** storage-missing: the chance that an honest proposer's block has a file nobody holds (whole run). */
  private missingP = 0;
  private storageChecks = 0;
  private rechecks = 0;
  private storageFailures = 0;
  private missingProposed = 0;
  private target: number;
  private deadline = Infinity;
  private readonly total: bigint;

  constructor(private readonly opts: SimOptions) {
    if (opts.nodes < 1) throw new RangeError(`nodes must be >= 1, got ${opts.nodes}`);
    this.prng = new Prng(opts.seed);
    this.storagePrng = new Prng((opts.seed ^ 0x5702a6e5) >>> 0);
    this.lambda = opts.lambda ?? 50;
    this.relay = opts.relay ?? true;
    this.target = opts.rounds;
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i}`);
    const stakes = new Map<VoterId, bigint>();
    for (const id of ids) stakes.set(id, BigInt(this.prng.range(50, 150)));
    let total = 0n;
    for (const s of stakes.values()) total += s;
    this.total = total;
    this.reference = smallNetworkParams(total, { lambda: this.lambda });
    this.nodeParams = { ...this.reference, ...(opts.params?.(this.reference) ?? {}) };
    this.genesisHash = sha256(enc.encode('sim/genesis'), enc.encode(String(opts.seed)));
    this.genesisSeed = sha256(enc.encode('sim/genesis-seed'), enc.encode(String(opts.seed)));

    // Byzantine nodes: a random set holding strictly less than one third of the stake.
    const byz = new Set<VoterId>();
    if (opts.faults.has('byzantine')) {
      let byzStake = 0n;
      for (const id of this.prng.shuffle([...ids])) {
        const s = stakes.get(id)!;
        if ((byzStake + s) * 3n < total && this.prng.chance(0.8)) {
          byz.add(id);
          byzStake += s;
        }
      }
    }

    let cryptos: ReadonlyMap<VoterId, AgreementCrypto>;
    if (opts.crypto !== undefined) cryptos = opts.crypto(ids, this.prng);
    else {
      const keyring = new SimKeyring();
      for (const id of ids) keyring.add(id, sha256(enc.encode(`sim/secret/${opts.seed}/${id}`)));
      cryptos = new Map(ids.map((id) => [id, new SimCrypto(id, keyring)]));
    }

    const genesis = { round: 0, hash: this.genesisHash, seed: this.genesisSeed };
    ids.forEach((id, index) => {
      this.nodes.push({
        index,
        id,
        stake: stakes.get(id)!,
        byzantine: byz.has(id),
        crypto: cryptos.get(id)!,
        ledger: new SimLedger(genesis, stakes, total),
        prng: this.prng.fork(),
        player: null,
        up: true,
        inc: 0,
        timerAt: -1,
        persisted: null,
        proposals: new Map(),
        sent: new Map(),
        badBlock: null,
      });
    });
  }

  private get λ(): number {
    return this.lambda;
  }

  run(): SimResult {
    this.schedule();
    for (const n of this.nodes) this.boot(n);
    const maxEvents = this.opts.maxEvents ?? 5_000_000;
    while (this.violations.length === 0) {
      const e = this.queue.pop();
      if (e === undefined) break;
      this.now = e.time;
      if (this.now > this.deadline) break;
      this.events++;
      if (this.events > maxEvents) {
        this.violate('liveness', `no progress to height ${this.target} within ${maxEvents} events`);
        break;
      }
      this.step(e.item);
      if (this.healed && this.honest().every((n) => n.ledger.height() >= this.target)) break;
    }
    for (const n of this.nodes) this.checkConflicts(n);
    if (this.violations.length === 0 && !this.honest().every((n) => n.ledger.height() >= this.target)) {
      const hs = this.honest().map((n) => `${n.id}:${n.ledger.height()}`).join(' ');
      this.violate('liveness', `after healing at ${this.healAt} ms, honest nodes did not all reach height ${this.target} by ${this.deadline} ms (${hs})`);
    }
    const counters: Record<string, number> = {};
    for (const n of this.nodes) {
      for (const [k, v] of Object.entries(n.player?.counters() ?? {})) counters[k] = (counters[k] ?? 0) + v;
    }
    return {
      seed: this.opts.seed,
      ok: this.violations.length === 0,
      violations: this.violations,
      heights: this.honest().map((n) => n.ledger.height()),
      target: this.target,
      atTarget: this.honest().map((n) => {
        const b = n.ledger.blockAt(this.target);
        return b === undefined ? '' : hex(b.hash);
      }),
      healAt: this.healAt,
      simTime: this.now,
      events: this.events,
      messages: this.messages,
      byzantine: this.nodes.filter((n) => n.byzantine).length,
      crashes: this.crashes,
      partitions: this.partitions,
      storageChecks: this.storageChecks,
      rechecks: this.rechecks,
      storageFailures: this.storageFailures,
      missingProposed: this.missingProposed,
      counters,
    };
  }

  private honest(): SimNode[] {
    return this.nodes.filter((n) => !n.byzantine);
  }

  /** Draws the fault schedule for this seed. */
  private schedule(): void {
    const f = this.opts.faults;
    const λ = this.λ;
    const anyTimed =
      f.has('partition') || f.has('crash') || f.has('drop') || f.has('delay') || f.has('duplicate') || f.has('reorder') || f.has('storage-flaky');
    this.healAt = anyTimed ? this.prng.range(20 * λ, 120 * λ) : 0;
    // Transient storage-check failures (a storer slow or unreachable from this node for a while) are
    // frequent enough that honest nodes disagree on many blocks; they stop at healing.
    if (f.has('storage-flaky')) this.flakyP = 0.15 + this.storagePrng.float() * 0.45;
    // Blocks with a file nobody holds keep coming for the whole run: the chain must move on past them.
    if (f.has('storage-missing')) this.missingP = 0.1 + this.storagePrng.float() * 0.3;
    if (f.has('drop')) this.dropP = 0.02 + this.prng.float() * 0.28;
    if (f.has('duplicate')) this.dupP = 0.02 + this.prng.float() * 0.2;
    if (f.has('partition')) {
      const k = this.prng.range(1, 3);
      for (let i = 0; i < k; i++) {
        const start = this.prng.int(this.healAt);
        const end = Math.min(this.healAt, start + this.prng.range(5 * λ, 60 * λ));
        const side = this.nodes.length === 0 ? [] : Array.from({ length: this.opts.nodes }, () => this.prng.chance(0.5));
        const id = i + 1;
        this.queue.push(start, { t: 'partition', id, side });
        this.queue.push(end, { t: 'partition', id, side: null });
      }
    }
    if (f.has('crash')) {
      const k = this.prng.range(1, Math.max(1, this.opts.nodes));
      for (let i = 0; i < k; i++) {
        const node = this.prng.int(this.opts.nodes);
        const at = this.prng.int(this.healAt);
        this.queue.push(at, { t: 'crash', node });
        this.queue.push(Math.min(this.healAt, at + this.prng.range(2 * λ, 40 * λ)), { t: 'restart', node });
      }
    }
    this.queue.push(this.healAt, { t: 'heal' });
  }

  private boot(n: SimNode): void {
    const round = n.ledger.tip().round + 1;
    const persistedProposals = [...n.proposals.values()].filter((p) => p.block.round === round);
    n.player = createPlayer({ crypto: n.crypto, ledger: n.ledger, params: this.nodeParams, persisted: n.persisted, persistedProposals });
    n.up = true;
    n.timerAt = -1;
    this.deliver(n, { kind: 'start' });
  }

  private violate(kind: ViolationKind, message: string): void {
    this.violations.push({ kind, time: this.now, message });
  }

  private step(e: SimEvent): void {
    switch (e.t) {
      case 'msg': {
        const n = this.nodes[e.to]!;
        if (n.up) this.deliver(n, { kind: 'message', message: e.msg, from: this.nodes[e.from]!.id });
        return;
      }
      case 'timer': {
        const n = this.nodes[e.node]!;
        if (n.up && n.inc === e.inc && n.timerAt === e.at) this.deliver(n, { kind: 'timeout', at: e.at, entropy: n.prng.next() });
        return;
      }
      case 'input': {
        const n = this.nodes[e.node]!;
        if (n.up && n.inc === e.inc) this.deliver(n, e.ev);
        return;
      }
      case 'catchup': {
        const peer = this.nodes[e.peer]!;
        const n = this.nodes[e.node]!;
        if (!peer.up || this.cut(e.peer, e.node)) return;
        const c = peer.ledger.certified(e.round);
        if (c === null) return;
        this.queue.push(this.now + this.delay(), { t: 'input', node: n.index, inc: e.inc, ev: { kind: 'certified', block: c.block, certificate: c.certificate } });
        return;
      }
      case 'crash': {
        const n = this.nodes[e.node]!;
        if (!this.healed && n.up && !n.byzantine) this.crash(n);
        return;
      }
      case 'restart': {
        const n = this.nodes[e.node]!;
        if (!n.up) this.boot(n);
        return;
      }
      case 'partition':
        if (this.healed) return;
        if (e.side !== null) {
          this.side = e.side;
          this.partitionId = e.id;
          this.partitions++;
        } else if (this.partitionId === e.id) this.side = null;
        return;
      case 'heal': {
        this.healed = true;
        this.side = null;
        this.dropP = 0;
        this.dupP = 0;
        this.flakyP = 0;
        for (const n of this.nodes) if (!n.up) this.boot(n);
        const maxHeight = Math.max(0, ...this.honest().map((n) => n.ledger.height()));
        this.target = Math.max(this.opts.rounds, maxHeight + 2);
        // Liveness bound after healing: a few recovery periods (their next-vote naps are capped at
        // maxRecoveryExtra) plus generous time per block.
        this.deadline = this.healAt + 300 * this.λ + 15 * this.λ * (this.target - maxHeight);
        return;
      }
    }
  }

  /** A node that saw two cert quorums for different values in one round has seen a fork, committed or not. */
  private checkConflicts(n: SimNode): void {
    if (n.byzantine || n.player === null) return;
    const c = n.player.counters()['conflicting-certificates'] ?? 0;
    if (c > 0) this.violate('fork', `${n.id} observed cert quorums for two different values in round ${n.player.status().round}`);
  }

  private crash(n: SimNode): void {
    this.checkConflicts(n);
    n.up = false;
    n.inc++;
    n.player = null;
    n.timerAt = -1;
    this.crashes++;
  }

  private deliver(n: SimNode, ev: AgreementEvent): void {
    const p = n.player;
    if (p === null) return;
    let actions: AgreementAction[];
    try {
      actions = p.handle(ev, this.now);
    } catch (err) {
      this.violate('exception', `${n.id} threw on ${ev.kind}: ${(err as Error).stack ?? String(err)}`);
      return;
    }
    if (this.opts.trace !== undefined) {
      const st = p.status();
      this.opts.trace(this.now, n.id, ev, actions, `r${st.round} p${st.period} s${st.step}`);
    }
    this.execute(n, actions);
  }

  // -------------------------------------------------------------------------------------------
  // Network

  private cut(a: number, b: number): boolean {
    return this.side !== null && this.side[a] !== this.side[b];
  }

  private delay(): number {
    const λ = this.λ;
    let d = 1 + this.prng.int(Math.max(1, Math.floor(λ / 5)));
    if (!this.healed) {
      if (this.opts.faults.has('reorder')) d += this.prng.int(λ);
      if (this.opts.faults.has('delay') && this.prng.chance(0.15)) d += this.prng.int(6 * λ);
    }
    return d;
  }

  private send(from: number, to: number, msg: Message): void {
    if (from === to) return;
    this.messages++;
    if (this.cut(from, to)) return;
    if (this.dropP > 0 && this.prng.chance(this.dropP)) return;
    this.queue.push(this.now + this.delay(), { t: 'msg', to, from, msg });
    if (this.dupP > 0 && this.prng.chance(this.dupP)) this.queue.push(this.now + this.delay(), { t: 'msg', to, from, msg });
  }

  private sendAll(from: number, msg: Message, except?: number): void {
    for (const m of this.nodes) if (m.index !== except) this.send(from, m.index, msg);
  }

  private indexOf(id: string | undefined): number | undefined {
    if (id === undefined) return undefined;
    const i = Number(id.slice(1));
    return Number.isInteger(i) ? i : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  private execute(n: SimNode, actions: readonly AgreementAction[]): void {
    const crashy = this.opts.faults.has('crash') && !this.healed && !n.byzantine;
    for (const a of actions) {
      if (!n.up) return;
      switch (a.kind) {
        case 'persist':
          n.persisted = a.state;
          // A crash right after persisting and before sending: the restarted node must re-send the same vote.
          if (crashy && this.prng.chance(0.003)) {
            this.crash(n);
            this.queue.push(Math.min(this.healAt, this.now + this.prng.range(this.λ, 20 * this.λ)), { t: 'restart', node: n.index });
            return;
          }
          break;
        case 'persistProposal':
          // On "disk" at once, before the vote that follows (host.ts: a synced RocksDB write).
          n.proposals.set(hex(a.proposal.block.hash), a.proposal);
          break;
        case 'broadcast':
          if (n.byzantine) this.byzantineBroadcast(n, a.message);
          else {
            this.checkOwnMessage(n, a.message);
            this.sendAll(n.index, a.message);
          }
          break;
        case 'relay':
          // --no-relay turns off gossip forwarding of received messages, not a node's own rebroadcasts
          // (partition recovery, restart), which carry no `from`.
          if (!this.relay && a.from !== undefined) break;
          if (n.byzantine && this.prng.chance(0.5)) break;
          this.sendAll(n.index, a.message, this.indexOf(a.from));
          break;
        case 'setTimer': {
          n.timerAt = a.at;
          this.queue.push(Math.max(a.at, this.now), { t: 'timer', node: n.index, inc: n.inc, at: a.at });
          break;
        }
        case 'assemble': {
          let body = enc.encode(`block r${a.round} p${a.period} by ${n.id} #${this.prng.next()}`);
          if (n.byzantine && this.prng.chance(0.5)) body = Uint8Array.of(INVALID_MARK, ...body);
          else if (this.opts.faults.has('storage-missing') && body[0] !== INVALID_MARK) {
            // A Byzantine proposer's block whose storage nobody holds (half of its valid ones), or an
            // unlucky honest proposer's (the uploader's storers lost the file before it was checked).
            if (this.storagePrng.chance(n.byzantine ? 0.5 : this.missingP)) {
              body = Uint8Array.of(MISSING_MARK, ...body);
              this.missingProposed++;
            }
          }
          const ev: AgreementEvent = { kind: 'assembled', round: a.round, period: a.period, body };
          this.queue.push(this.now + this.prng.int(Math.max(1, Math.floor(this.λ / 5))), { t: 'input', node: n.index, inc: n.inc, ev });
          break;
        }
        case 'validate': {
          const { ev, checkMs } = this.verdictEvent(n, a.block);
          this.queue.push(this.now + this.prng.int(Math.max(1, Math.floor(this.λ / 2))) + checkMs, { t: 'input', node: n.index, inc: n.inc, ev });
          break;
        }
        case 'recheck': {
          if (this.opts.rechecks === false) break;
          // host.ts runs the storage check alone (the block is known valid) and pushes a verdict.
          const { ev, checkMs } = this.verdictEvent(n, a.block);
          this.rechecks++;
          this.queue.push(this.now + 1 + checkMs, { t: 'input', node: n.index, inc: n.inc, ev });
          break;
        }
        case 'commit':
          this.onCommit(n, a.block, a.certificate);
          break;
        case 'catchup': {
          const peers = this.nodes.filter((m) => m.index !== n.index);
          if (peers.length === 0) break;
          const peer = this.prng.pick(peers);
          if (this.dropP > 0 && this.prng.chance(this.dropP)) break;
          this.queue.push(this.now + this.delay(), { t: 'catchup', node: n.index, inc: n.inc, peer: peer.index, round: a.round });
          break;
        }
      }
    }
  }

  /**
   * The verdict host.ts pushes for a block: ledger validity, then (valid blocks only) the storage
   * check, which fails for a block whose files nobody holds and, under storage-flaky before healing,
   * transiently with probability flakyP per attempt (each node, each block, each attempt drawn anew).
   */
  private verdictEvent(n: SimNode, block: Block): { ev: AgreementEvent; checkMs: number } {
    let passed = true;
    let checkMs = 0;
    const f = this.opts.faults;
    if (n.ledger.validBody(block.body) && (f.has('storage-flaky') || f.has('storage-missing'))) {
      this.storageChecks++;
      if (this.flakyP > 0 && this.storagePrng.chance(this.flakyP)) passed = false;
      const failed = !passed || !n.ledger.storageHeld(block.body);
      if (failed) this.storageFailures++;
      // With storage faults on, the check takes time as on the node (storage-check.ts): a passing one
      // up to the time box (3λ, longer than the filter timeout, so a node often soft-votes a block
      // whose check is still running), a failing one the whole time box (no storer answered).
      const box = 3 * this.λ;
      checkMs = failed ? box : this.storagePrng.int(box);
    }
    let v = n.ledger.verdict(block.body, passed);
    if (this.opts.skipStorageCheck === true && !n.byzantine && v.valid) v = { valid: true, vouched: true };
    const ev: AgreementEvent = { kind: 'verdict', round: block.round, hash: block.hash, valid: v.valid, vouched: v.vouched, ...(v.reason !== undefined ? { reason: v.reason } : {}) };
    return { ev, checkMs };
  }

  // -------------------------------------------------------------------------------------------
  // Checker

  private checkOwnMessage(n: SimNode, m: Message): void {
    if (m.kind === 'bundle') return;
    const v = m.kind === 'vote' ? m.vote : m.proposal.vote;
    const key = `${v.round}:${v.period}:${v.step}`;
    const value = v.value === null ? '⊥' : hex(v.value);
    const prior = n.sent.get(key);
    if (prior !== undefined && prior !== value) {
      this.violate('equivocation', `honest ${n.id} sent two votes for round ${v.round} period ${v.period} step ${v.step}: ${prior.slice(0, 12)} and ${value.slice(0, 12)}`);
    }
    n.sent.set(key, value);
  }

  private onCommit(n: SimNode, block: Block, cert: Certificate): void {
    const prevTip = n.ledger.tip();
    try {
      n.ledger.commit(block, cert);
    } catch (err) {
      this.violate('chain', `${n.id}: ${(err as Error).message}`);
      return;
    }
    // host.ts prunes the proposals of final rounds.
    for (const [k, p] of n.proposals) if (p.block.round <= block.round) n.proposals.delete(k);
    if (n.byzantine) return;
    if (!n.ledger.storageHeld(block.body)) {
      this.violate('storage', `round ${block.round}: ${n.id} committed a block whose files nobody holds (every honest storage check fails on it)`);
      return;
    }
    // Forget sent-vote records of finished rounds (bounded memory over long runs).
    for (const k of n.sent.keys()) if (Number(k.slice(0, k.indexOf(':'))) < block.round) n.sent.delete(k);
    const h = hex(block.hash);
    const prior = this.committed.get(block.round);
    if (prior === undefined) this.committed.set(block.round, { hash: h, block });
    else if (prior.hash !== h) {
      this.violate('fork', `round ${block.round}: ${n.id} committed ${h.slice(0, 16)} but another honest node committed ${prior.hash.slice(0, 16)}`);
      return;
    }
    const parent = this.committed.get(block.round - 1);
    const parentHash = block.round === 1 ? hex(this.genesisHash) : parent?.hash;
    if (parentHash !== undefined && parentHash !== hex(block.prevHash)) {
      this.violate('chain', `round ${block.round}: ${n.id}'s block does not extend the agreed block of round ${block.round - 1}`);
      return;
    }
    if (this.opts.checkCertificates === false) return;
    const ok = verifyCertificate(cert, {
      crypto: n.crypto,
      params: this.reference,
      seed: prevTip.seed,
      totalStake: this.total,
      stakeOf: (id) => n.ledger.stakeOf(id, block.round),
    });
    if (!ok.ok) this.violate('certificate', `round ${block.round}: ${n.id} committed with a certificate that does not verify against the reference thresholds: ${ok.reason}`);
  }

  // -------------------------------------------------------------------------------------------
  // Byzantine behaviour: equivocating proposals and votes, votes for invalid blocks, selective relay.

  private randomHash(n: SimNode): Hash {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) new DataView(out.buffer).setUint32(i, n.prng.next());
    return out;
  }

  private signAs(n: SimNode, v: Vote, value: Vote['value']): Vote {
    const signature = n.crypto.sign(voteSigningBytes(v.credential.voterId, v.round, v.period, v.step, value));
    return { ...v, value, signature };
  }

  /** Send `a` to a random half of the peers and `b` to the rest. */
  private split(n: SimNode, a: Message, b: Message): void {
    for (const m of this.nodes) {
      if (m.index === n.index) continue;
      this.send(n.index, m.index, this.prng.chance(0.5) ? a : b);
    }
  }

  private byzantineBroadcast(n: SimNode, m: Message): void {
    if (m.kind === 'proposal') {
      const p = m.proposal;
      if (p.block.body[0] === INVALID_MARK || p.block.body[0] === MISSING_MARK) n.badBlock = { round: p.block.round, hash: p.block.hash };
      if (this.prng.chance(0.5)) {
        // Equivocating proposal: same credential, a different body.
        const { hash: _h, ...header } = p.block;
        const body2 = enc.encode(`equivocation r${p.block.round} by ${n.id} #${this.prng.next()}`);
        const h2 = { ...header, body: body2 };
        const block2: Block = { ...h2, hash: blockHash(n.crypto, h2) };
        const p2: Proposal = { vote: this.signAs(n, p.vote, block2.hash), block: block2 };
        this.split(n, m, { kind: 'proposal', proposal: p2 });
        return;
      }
      this.sendAll(n.index, m);
      return;
    }
    if (m.kind === 'bundle') {
      this.sendAll(n.index, m);
      return;
    }
    const v = m.vote;
    const bad = n.badBlock !== null && n.badBlock.round === v.round ? n.badBlock.hash : null;
    const r = this.prng.float();
    if (r < 0.4) {
      // Equivocate: a second vote for another value.
      const alt = v.step >= Step.next ? (v.value === null ? bad ?? this.randomHash(n) : null) : bad ?? this.randomHash(n);
      this.split(n, m, { kind: 'vote', vote: this.signAs(n, v, alt) });
    } else if (r < 0.7 && bad !== null && v.step !== Step.propose) {
      // Vote for our own invalid block instead.
      this.sendAll(n.index, { kind: 'vote', vote: this.signAs(n, v, bad) });
    } else if (r < 0.8) {
      // Withhold the vote entirely.
    } else {
      this.sendAll(n.index, m);
    }
  }
}
