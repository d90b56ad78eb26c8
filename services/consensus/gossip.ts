// Outbound gossip to peers: one bounded queue and a few calls in flight per peer. Votes are
// batched into one Vote call (≤ 1024, consensus.proto); proposals, bundles and transactions go one
// per call.
// A failed send is dropped, not retried: agreement recovers lost messages itself (bundles are
// rebroadcast, catch-up fetches certified blocks), and a stale vote is worth nothing.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Proposal as PbProposal, Vote as PbVote } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { VoteBundle } from '../../gen/wolk/consensus/v1/consensus.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Peers } from './peers.js';

type Item = { kind: 'vote'; vote: PbVote } | { kind: 'proposal'; proposal: PbProposal } | { kind: 'bundle'; bundle: VoteBundle } | { kind: 'tx'; tx: SignedTransaction };

const MAX_QUEUE = 10_000;
const MAX_VOTES_PER_CALL = 1024;
/** Calls in flight per peer: a slow answer must not hold back the next message (head-of-line). */
const MAX_IN_FLIGHT = 8;

class PeerQueue {
  private items: Item[] = [];
  private inFlight = 0;

  constructor(
    private readonly endpoint: string,
    private readonly peers: Peers,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  push(item: Item): void {
    if (this.items.length >= MAX_QUEUE) this.items.shift(); // the oldest is the least useful
    this.items.push(item);
    // Deferred by a tick so that votes produced by one event go out as one batch.
    if (this.items.length === 1) setImmediate(() => this.pump());
  }

  private pump(): void {
    while (this.items.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const first = this.items[0]!;
      let sent: Promise<void>;
      if (first.kind === 'vote') {
        const votes: PbVote[] = [];
        const rest: Item[] = [];
        for (const it of this.items) {
          if (it.kind === 'vote' && votes.length < MAX_VOTES_PER_CALL) votes.push(it.vote);
          else rest.push(it);
        }
        this.items = rest;
        sent = this.call((c, md, o, cb) => c.vote({ votes }, md, o, cb));
      } else {
        this.items.shift();
        sent =
          first.kind === 'proposal'
            ? this.call((c, md, o, cb) => c.propose({ proposal: first.proposal }, md, o, cb))
            : first.kind === 'bundle'
              ? this.call((c, md, o, cb) => c.bundle({ bundle: first.bundle }, md, o, cb))
              : this.call((c, md, o, cb) => c.submitTx({ tx: first.tx }, md, o, cb));
      }
      this.inFlight++;
      void sent.then(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private call(
    fn: (c: ReturnType<Peers['client']>, md: Metadata, o: { deadline: number }, cb: (err: ServiceError | null) => void) => void,
  ): Promise<void> {
    return new Promise((resolve) => {
      fn(this.peers.client(this.endpoint), new Metadata(), { deadline: Date.now() + this.timeoutMs }, (err) => {
        this.peers.mark(this.endpoint, err === null || (err.code !== 14 && err.code !== 4)); // UNAVAILABLE, DEADLINE_EXCEEDED
        if (err && err.code !== 14 && err.code !== 4) this.logger.debug('gossip call failed', { peer: this.endpoint, error: err.message });
        resolve();
      });
    });
  }
}

export class Gossip {
  private readonly queues = new Map<string, PeerQueue>();

  constructor(
    private readonly peers: Peers,
    private readonly logger: Logger,
    private readonly timeoutMs = 2000,
  ) {}

  votes(votes: readonly PbVote[]): void {
    for (const v of votes) this.each({ kind: 'vote', vote: v });
  }

  proposal(p: PbProposal): void {
    this.each({ kind: 'proposal', proposal: p });
  }

  bundle(b: VoteBundle): void {
    this.each({ kind: 'bundle', bundle: b });
  }

  tx(stx: SignedTransaction): void {
    this.each({ kind: 'tx', tx: stx });
  }

  private each(item: Item): void {
    for (const e of this.peers.endpoints()) {
      let q = this.queues.get(e);
      if (!q) {
        q = new PeerQueue(e, this.peers, this.logger, this.timeoutMs);
        this.queues.set(e, q);
      }
      q.push(item);
    }
  }
}
