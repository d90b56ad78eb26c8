// Outbound gossip to peers: one bounded queue and a few calls in flight per peer. Votes are
// batched into one Vote call (≤ 1024, consensus.proto); proposals, bundles and transactions go one
// per call.
// A failed send is dropped, not retried: agreement recovers lost messages itself (bundles are
// rebroadcast, catch-up fetches certified blocks), and a stale vote is worth nothing.
import type { Proposal as PbProposal, Vote as PbVote } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { VoteBundle } from '../../gen/wolk/consensus/v1/consensus.js';
import { unaryCall, type UnaryMethod } from '../../lib/grpc/client.js';
import { isOutage } from '../../lib/grpc/errors.js';
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
        sent = this.call((c) => c.vote.bind(c), { votes });
      } else {
        this.items.shift();
        sent =
          first.kind === 'proposal'
            ? this.call((c) => c.propose.bind(c), { proposal: first.proposal })
            : first.kind === 'bundle'
              ? this.call((c) => c.bundle.bind(c), { bundle: first.bundle })
              : this.call((c) => c.submitTx.bind(c), { tx: first.tx });
      }
      this.inFlight++;
      void sent.then(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /**
   * One send; never rejects. A peer whose call fails with an outage (errors.ts isOutage: unreachable,
   * timed out, overloaded) is marked not connected; one that answers, even with a refusal, is connected,
   * and a refusal is logged at debug.
   */
  private call<Req, Res>(method: (c: ReturnType<Peers['client']>) => UnaryMethod<Req, Res>, req: Req): Promise<void> {
    return unaryCall(method(this.peers.client(this.endpoint)), req, { endpoint: this.endpoint, timeoutMs: this.timeoutMs }).then(
      () => this.peers.mark(this.endpoint, true),
      (err: unknown) => {
        const outage = isOutage(err);
        this.peers.mark(this.endpoint, !outage);
        if (!outage) this.logger.debug('gossip call failed', { peer: this.endpoint, error: (err as Error).message });
      },
    );
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
