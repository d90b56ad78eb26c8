// The agreement host: feeds the pure BA* core (./agreement) with events and carries out the actions it
// returns, in order, each complete before the next (agreement/README.md "Events in, actions out").
// Events are processed one at a time from a bounded queue; the work behind `assemble`, `validate`
// and `catchup` runs in the background and comes back as an event. `persist`, `persistProposal` and
// `commit` are awaited (synced RocksDB writes) before anything after them runs, so an own vote never
// leaves before its record and the block it votes for are durable, and a committed block is on disk
// before the next round starts. On start the saved proposals of the current round go back to the core.
// stop() resolves only when every piece of work the host started has ended (the event loop, assemblies,
// validations, storage checks, catch-ups, mempool pruning), so the database can close right after it.
import { randomInt } from 'node:crypto';
import { unaryCall } from '../../lib/grpc/client.js';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { GetBlockResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import type { Logger } from '../../lib/log/logger.js';
import { sha256 } from '../../lib/crypto/index.js';
import { createPlayer, type Player } from './agreement/player.js';
import type { AgreementParams } from './agreement/params.js';
import type { AgreementAction, AgreementCrypto, AgreementEvent, Block, Message, Proposal } from './agreement/types.js';
import type { Gossip } from './gossip.js';
import type { Ledger } from './ledger/ledger.js';
import { readAccount } from './ledger/state-view.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { Mempool } from './mempool.js';
import type { Peers } from './peers.js';
import { blockFromHeader, bundleToProto, certificateFromProto, proposalFromProto, proposalToProto, voteToProto, type Payload } from './wire.js';

const MAX_EVENTS = 20_000;
const MAX_PAYLOADS = 256;

/** Extra checks of a block before it may be cert-voted (DESIGN §4 step 6); null = pass. */
export type BlockCheck = (block: Block, payload: Payload, signal: AbortSignal) => Promise<string | null>;

export interface HostComponents {
  readonly ledger: Ledger;
  readonly crypto: AgreementCrypto;
  readonly params: AgreementParams;
  readonly mempool: Mempool;
  readonly gossip: Gossip;
  readonly peers: Peers;
  readonly logger: Logger;
  readonly maxBlockTxs: number;
  readonly storageCheck?: BlockCheck;
  /**
   * Why this node will not propose a pending transaction (null: it may): e.g. it brings a commitment whose
   * seal proof this node's storage check refused (seal-refusals.ts). Such a transaction is dropped from
   * the mempool with that reason, as one that no longer applies.
   */
  readonly screen?: (stx: SignedTransaction) => string | null;
  /** How often a node whose tip has not moved asks peers for the next certified block (default max(1 s, 5λ)). */
  readonly followCheckMs?: number;
  /** Clock for the core (ms). */
  readonly now?: () => number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class AgreementHost {
  private player!: Player;
  private readonly queue: AgreementEvent[] = [];
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly payloads = new Map<string, Payload>();
  private catchupInFlight = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly log: Logger;
  private dropped = 0;
  private started = false;
  private countersTimer: NodeJS.Timeout | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  /** Tip at the last follow check, and whether that check handed the core a peer's block. */
  private followTip = -1;
  private followed = false;
  private followedBlocks = 0;
  private roundStartedAt = Date.now();
  private busyMs = 0;
  /** Work started in the background (the event loop, assemble, validate, …) that stop() waits for. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly c: HostComponents) {
    this.now = c.now ?? Date.now;
    this.log = c.logger.child({ module: 'agreement' });
  }

  async start(): Promise<void> {
    const persisted = await this.c.ledger.chain.loadAgreementState();
    const persistedProposals = await this.loadProposals();
    this.player = createPlayer({
      crypto: this.c.crypto,
      ledger: this.c.ledger,
      params: this.c.params,
      persisted,
      persistedProposals,
      logger: { info: (m, d) => this.log.info(m, d), warn: (m, d) => this.log.warn(m, d) },
    });
    this.started = true;
    this.push({ kind: 'start' });
    this.countersTimer = setInterval(() => this.log.info('agreement counters', { ...this.status(), ...this.counters() }), 10_000);
    this.countersTimer.unref();
    // Following: a node that no peer gossips to (not in their WOLK_PEERS, or they moved on while it was
    // down or failing to execute) sees no votes of later rounds, so the core never asks to catch up.
    // When its tip has not moved between two checks it asks its peers for the next certified block.
    const followMs = this.c.followCheckMs ?? Math.max(1000, 5 * this.c.params.lambda);
    this.followTimer = setInterval(() => this.background(this.followCheck(), 'follow check'), followMs);
    this.followTimer.unref();
  }

  private async followCheck(): Promise<void> {
    if (this.stopped || !this.started || this.catchupInFlight) return;
    const tip = this.c.ledger.tip().round;
    if (tip !== this.followTip && !this.followed) {
      this.followTip = tip;
      return;
    }
    this.followTip = tip;
    this.followed = await this.catchup(tip + 1);
    if (this.followed) {
      this.followedBlocks++;
      if (this.followedBlocks === 1 || this.followedBlocks % 100 === 0) this.log.info('behind the peers: following with their certified blocks', { tip, blocks: this.followedBlocks });
    }
  }

  /**
   * The proposals saved (`persistProposal`) for the round after the tip, with their payloads back in the
   * cache: the core gets back the blocks it had voted for before a crash, so it can still cert-vote and
   * relay them. A record that no longer decodes is skipped (the core checks the headers again).
   */
  private async loadProposals(): Promise<Proposal[]> {
    const round = this.c.ledger.tip().round + 1;
    const out: Proposal[] = [];
    for (const pb of await this.c.ledger.chain.loadProposals(round)) {
      try {
        const { proposal, payload } = proposalFromProto(this.c.crypto, pb);
        this.keepPayload(proposal.block.body, payload);
        out.push(proposal);
      } catch (err) {
        this.log.warn('saved proposal did not convert', { round, error: err });
      }
    }
    if (out.length > 0) this.log.info('proposals restored from disk', { round, count: out.length });
    return out;
  }

  /**
   * Stops taking events and resolves when everything already started has ended. Storage checks and
   * peer fetches are cut short through the abort signal; a block write under way completes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    if (this.countersTimer) clearInterval(this.countersTimer);
    if (this.followTimer) clearInterval(this.followTimer);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs `work` in the background, where stop() waits for it; a failure is logged, never dropped. */
  private background(work: Promise<unknown>, what: string): void {
    const tracked = work.catch((err: unknown) => this.log.error(`${what} failed`, { error: err }));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  status(): { round: number; period: number } {
    if (!this.started) return { round: this.c.ledger.tip().round + 1, period: 0 };
    return this.player.status();
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.player.counters(), 'host.dropped-events': this.dropped, 'host.followed-blocks': this.followedBlocks };
  }

  /**
   * A message from a peer, already converted; its payload (if a proposal) is kept for validation.
   * False when it was not taken (not started yet, queue full): the caller must not remember it as
   * seen, so that a later copy (a rebroadcast bundle) still gets through.
   */
  deliver(message: Message, payload?: Payload): boolean {
    // The payload first: pushing may run the core at once, and its `validate` looks the payload up.
    if (payload && message.kind === 'proposal') this.keepPayload(message.proposal.block.body, payload);
    if (!this.push({ kind: 'message', message })) return false;
    if (message.kind === 'proposal') this.log.debug('proposal received', { round: message.proposal.vote.round, period: message.proposal.vote.period, from: message.proposal.vote.credential.voterId.slice(0, 8), at: Date.now(), queue: this.queue.length });
    return true;
  }

  private push(ev: AgreementEvent): boolean {
    // Before start (catch-up still running) messages are dropped: they cannot be checked against a
    // tip we do not have yet, and agreement re-sends what matters (bundles, catch-up).
    if (this.stopped || !this.started) return false;
    if (this.queue.length >= MAX_EVENTS) {
      this.dropped++;
      return false;
    }
    this.queue.push(ev);
    if (!this.running) {
      this.running = true; // before run() yields, so one loop at a time
      this.background(this.run(), 'event loop');
    }
    return true;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const ev = this.queue.shift()!;
        let actions: AgreementAction[];
        const t0 = performance.now();
        try {
          actions = this.player.handle(ev, this.now());
        } catch (err) {
          this.log.error('agreement core threw', { event: ev.kind, error: err });
          continue;
        } finally {
          this.busyMs += performance.now() - t0;
        }
        for (const a of actions) {
          if (this.stopped) return;
          await this.execute(a);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(a: AgreementAction): Promise<void> {
    switch (a.kind) {
      case 'persist':
        await this.c.ledger.chain.saveAgreementState(a.state);
        return;
      case 'persistProposal': {
        // Before the vote for it leaves (the actions after this one): on disk with its payload.
        const b = a.proposal.block;
        const payload = this.payloads.get(bodyKey(b.body));
        if (!payload) {
          this.log.warn('no payload for a proposal to persist', { round: b.round, hash: hex(b.hash).slice(0, 16) });
          return;
        }
        await this.c.ledger.chain.saveProposal(b.round, b.hash, proposalToProto(a.proposal, payload));
        return;
      }
      case 'broadcast':
      case 'relay':
        this.send(a.message);
        return;
      case 'setTimer': {
        if (this.timer) clearTimeout(this.timer);
        const at = a.at;
        this.timer = setTimeout(() => this.push({ kind: 'timeout', at, entropy: randomInt(0, 2 ** 32 - 1) }), Math.max(0, at - this.now()));
        return;
      }
      case 'assemble':
        this.background(this.assemble(a.round, a.period), 'assemble');
        return;
      case 'validate':
        this.background(this.validate(a.block), 'validation');
        return;
      case 'recheck':
        this.background(this.recheck(a.block), 'storage re-check');
        return;
      case 'commit': {
        const payload = this.payloads.get(bodyKey(a.block.body));
        if (!payload) throw new Error(`commit of round ${a.block.round}: payload unknown`);
        await this.c.ledger.commit(a.block, a.certificate, payload);
        // Saved proposals of this round and older are not needed any more: the ledger holds the block.
        await this.c.ledger.chain.pruneProposals(a.block.round).catch((err: unknown) => this.log.warn('pruning saved proposals failed', { round: a.block.round, error: err }));
        for (const t of payload.txs) this.c.mempool.remove(txId(t));
        const now = Date.now();
        this.log.info('finalized', {
          round: a.block.round,
          hash: hex(a.block.hash).slice(0, 16),
          txs: payload.txs.length,
          period: a.certificate.period,
          ms: now - this.roundStartedAt,
          coreMs: Math.round(this.busyMs),
        });
        this.roundStartedAt = now;
        this.busyMs = 0;
        const state = this.c.ledger.latestState();
        this.background(this.c.mempool.prune(async (sender) => (await readAccount(state, sender)).nonce), 'mempool pruning');
        return;
      }
      case 'catchup':
        this.background(this.catchup(a.round), 'catch-up');
        return;
    }
  }

  private send(m: Message): void {
    if (m.kind === 'vote') this.c.gossip.votes([voteToProto(m.vote)]);
    else if (m.kind === 'bundle') {
      // As a bundle (the Bundle RPC), never as loose votes: a receiver drops votes more than one
      // period ahead of its own, but accepts a verified quorum from any later period of its round,
      // which is what pulls a node left behind forward (agreement/README.md "Bundles").
      this.c.gossip.bundle(bundleToProto(m.bundle));
    } else {
      const payload = this.payloads.get(bodyKey(m.proposal.block.body));
      if (!payload) {
        this.log.warn('no payload for a proposal to send', { round: m.proposal.block.round });
        return;
      }
      this.c.gossip.proposal(proposalToProto(m.proposal, payload));
      this.log.debug('proposal sent', { round: m.proposal.vote.round, period: m.proposal.vote.period, from: m.proposal.vote.credential.voterId.slice(0, 8), at: Date.now() });
    }
  }

  private async assemble(round: number, period: number): Promise<void> {
    try {
      const started = Date.now();
      const candidates = this.c.mempool.candidates(this.c.maxBlockTxs * 2).filter((stx) => {
        const why = this.c.screen?.(stx) ?? null;
        if (why === null) return true;
        this.c.mempool.reject(stx, txId(stx), `left out of the proposal for round ${round}: ${why}`);
        this.log.warn('transaction left out of a proposal', { round, tx: hex(txId(stx)).slice(0, 16), reason: why });
        return false;
      });
      const { body, payload, rejected } = await this.c.ledger.assemble(round, candidates);
      // How long a proposal took to build (execution, block storage, CommitChunks): it must reach the
      // others before their filter timeout (issue 17: period-0 failures under load).
      this.log.debug('assembled', { round, period, txs: payload.txs.length, ms: Date.now() - started });
      // A transaction that no longer applies (e.g. its name was claimed meanwhile) would fail
      // forever: drop it. One whose nonce is ahead may apply once the ones before it arrive.
      this.c.mempool.leftOut(round, payload.txs, rejected);
      this.keepPayload(body, payload);
      this.push({ kind: 'assembled', round, period, body });
    } catch (err) {
      // stop() waits for this assembly, so the database is still open here: a failure is a real one.
      this.log.error('assemble failed', { round, error: err });
    }
  }

  private async validate(block: Block): Promise<void> {
    const payload = this.payloads.get(bodyKey(block.body));
    const verdict = await this.c.ledger.validate(block, payload);
    // The storage check decides our votes, not the ledger: a block whose storage we could not verify gets
    // no soft or cert vote from us, but if others certify it we still commit it (agreement: `vouched`).
    let vouched = true;
    let reason = verdict.reason;
    if (verdict.valid && payload) {
      const why = await this.checkStorage(block, payload);
      if (why !== null) {
        vouched = false;
        reason = why;
        this.log.warn('block storage not verified: no vote for it', { round: block.round, hash: hex(block.hash).slice(0, 16), reason: why });
      }
    }
    if (!verdict.valid) this.log.warn('block invalid', { round: block.round, hash: hex(block.hash).slice(0, 16), reason: verdict.reason });
    this.push({ kind: 'verdict', round: block.round, hash: block.hash, valid: verdict.valid, vouched, ...(reason ? { reason } : {}) });
  }

  /** The storage check (DESIGN §4 step 6) of a block the ledger found valid; null when it passes. */
  private checkStorage(block: Block, payload: Payload): Promise<string | null> {
    if (!this.c.storageCheck) return Promise.resolve(null);
    return this.c.storageCheck(block, payload, this.abort.signal).catch((err: unknown) => `storage check failed: ${(err as Error).message}`);
  }

  /**
   * The core asks again about an unvouched block that a quorum soft-voted (or next-voted): our first
   * check may have hit a storer that was slow or unreachable from here. Only the storage check runs
   * again (the ledger's validity is known); the core bounds how often (once per step, one at a time).
   */
  private async recheck(block: Block): Promise<void> {
    const payload = this.payloads.get(bodyKey(block.body));
    const why = payload ? await this.checkStorage(block, payload) : 'payload unknown';
    if (this.stopped) return;
    const h = hex(block.hash).slice(0, 16);
    if (why === null) this.log.info('block storage verified on re-check: voting for it', { round: block.round, hash: h });
    else this.log.warn('block storage still not verified on re-check', { round: block.round, hash: h, reason: why });
    this.push({ kind: 'verdict', round: block.round, hash: block.hash, valid: true, vouched: why === null, ...(why !== null ? { reason: why } : {}) });
  }

  /**
   * Fetches the certified block of `round` from the first peer that has it (agreement `catchup`, and the
   * follow check); true when one was handed to the core (which checks its certificate).
   */
  private async catchup(round: number): Promise<boolean> {
    if (this.catchupInFlight) return false;
    this.catchupInFlight = true;
    try {
      const fetching = firstPeerBlock(this.c.peers, shuffle(this.c.peers.endpoints()), round, (cb, endpoint) => {
        if (!cb.block || !cb.certificate) return null;
        try {
          const block = blockFromHeader(this.c.crypto, cb.block.header);
          if (block.round !== round) return null;
          return { block, certificate: certificateFromProto(cb.certificate), payload: { txs: cb.block.txs, newChunks: cb.block.newChunks } };
        } catch (err) {
          this.log.warn('catch-up block did not convert', { peer: endpoint, round, error: err });
          return null;
        }
      });
      // stop() must not wait out a peer's call deadline: on abort the answer is dropped, and the call
      // ends when the peers' clients close.
      const got = await untilAborted(fetching, this.abort.signal);
      if (!got) return false;
      this.keepPayload(got.block.body, got.payload);
      this.push({ kind: 'certified', block: got.block, certificate: got.certificate });
      return true;
    } finally {
      this.catchupInFlight = false;
    }
  }

  private keepPayload(body: Uint8Array, payload: Payload): void {
    if (this.payloads.size >= MAX_PAYLOADS) this.payloads.delete(this.payloads.keys().next().value!);
    this.payloads.set(bodyKey(body), payload);
  }
}

/** `work`'s result, or null as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T | null>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function bodyKey(body: Uint8Array): string {
  return hex(sha256(body));
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * Asks `endpoints` in turn for the certified block of `round` (GetBlock) and returns the first answer
 * `take` makes something of; null when no peer's answer is taken (or none answers).
 */
export async function firstPeerBlock<T>(peers: Peers, endpoints: readonly string[], round: number, take: (cb: CertifiedBlock, endpoint: string) => T | null): Promise<T | null> {
  for (const endpoint of endpoints) {
    const cb = (await getBlock(peers.client(endpoint), round).catch(() => null))?.block;
    const got = cb ? take(cb, endpoint) : null;
    if (got !== null) return got;
  }
  return null;
}

export function getBlock(client: ReturnType<Peers['client']>, round: number, timeoutMs = 3000): Promise<GetBlockResponse> {
  return unaryCall(client.getBlock.bind(client), { selector: { $case: 'round', value: BigInt(round) } }, { timeoutMs });
}
