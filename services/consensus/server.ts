// ConsensusService handlers: thin, they convert messages and call the ledger, the mempool and the
// agreement host. Domain errors become WolkErrors here (mapped to gRPC statuses by lib/grpc).
import type { ConsensusServiceService } from '../../gen/wolk/consensus/v1/consensus.js';
import { Vote as PbVote, type CertifiedBlock, type SmtProof as PbSmtProof } from '../../gen/wolk/common/v1/chain.js';
import type { ServiceHandlers } from '../../lib/grpc/handlers.js';
import { failedPrecondition, invalidArgument, notFound, resourceExhausted, unavailable, WolkError } from '../../lib/grpc/errors.js';
import { SmtError, SmtErrorCode } from '../../lib/smt/index.js';
import { sha256 } from '../../lib/crypto/index.js';
import type { AgreementCrypto } from './agreement/types.js';
import type { AgreementHost } from './host.js';
import type { Gossip } from './gossip.js';
import type { Ledger } from './ledger/ledger.js';
import { readAccount, StateOverlay } from './ledger/state-view.js';
import { applyTx, checkStateless, TxError } from './ledger/transactions.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import type { Mempool } from './mempool.js';
import { RejectionCause, type GetTransactionResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { RecentInclusions } from './tx-inclusions.js';
import type { Peers } from './peers.js';
import { blockFromHeader, bundleFromProto, looseVoteFromProto, proposalFromProto, WireError } from './wire.js';
import { smtProofToProto } from '../../lib/chain/smt-proof.js';

export interface ServerComponents {
  readonly ledger: Ledger;
  readonly mempool: Mempool;
  readonly host: AgreementHost;
  readonly gossip: Gossip;
  readonly peers: Peers;
  readonly crypto: AgreementCrypto;
  readonly nodeId: Uint8Array;
}

const MAX_VOTES_PER_CALL = 1024;
const SEEN_LIMIT = 200_000;
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
/** No round beyond this is ever reached (rounds are JS numbers in the core); a uint64 above it is compared and printed as the bigint. */
const MAX_ROUND = BigInt(Number.MAX_SAFE_INTEGER);

/** Messages already delivered (gossip reaches a node by several paths): bounded, oldest forgotten first. */
class SeenSet {
  private readonly seen = new Set<string>();
  has(key: string): boolean {
    return this.seen.has(key);
  }
  add(key: string): void {
    if (this.seen.size >= SEEN_LIMIT) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(key);
  }
}

export { smtProofToProto, smtProofFromProto } from '../../lib/chain/smt-proof.js';

export function consensusHandlers(c: ServerComponents): ServiceHandlers<typeof ConsensusServiceService> {
  const seen = new SeenSet();
  const inclusions = new RecentInclusions(c.ledger);

  async function certified(round: number): Promise<CertifiedBlock> {
    const from = c.ledger.checkpointRound();
    // A node started from a checkpoint never had the bodies up to it (only the checkpoint's header).
    if (from !== null && round > 0 && round <= from) throw notFound(`this node started from the certified block of round ${from} and holds no block body up to it`);
    const b = await c.ledger.certifiedBlock(round);
    if (b === null) throw notFound(`no finalized block at round ${round} (latest is ${c.ledger.tip().round})`);
    return { block: b.block, certificate: b.certificate, blockHash: Buffer.from(blockFromHeader(c.crypto, b.block.header).hash) };
  }

  return {
    async submitTx(req) {
      const stx = req.tx;
      if (!stx) throw invalidArgument('SubmitTx: tx is missing');
      const id = txId(stx);
      if (c.mempool.has(id)) return { txId: Buffer.from(id) };
      try {
        checkStateless(stx, c.ledger.rules);
        const state = c.ledger.latestState();
        const account = await readAccount(state, stx.tx!.sender);
        if (stx.tx!.nonce < account.nonce) throw new TxError('FAILED_PRECONDITION', `nonce ${stx.tx!.nonce} was already used (the account's next nonce is ${account.nonce})`);
        // With the next nonce the transaction must apply now; a later nonce is checked when its turn comes.
        if (stx.tx!.nonce === account.nonce) await applyTx(stx, new StateOverlay(state), { round: c.ledger.tip().round + 1, rules: c.ledger.rules }, id);
      } catch (err) {
        if (err instanceof TxError) {
          // Remembered for GetTransaction: a gateway learns why, also after this call's answer is gone.
          c.mempool.reject(stx, id, err.message);
          throw new WolkError(err.code, err.message);
        }
        throw err;
      }
      const added = c.mempool.add(stx, id);
      if (added === 'full') throw resourceExhausted('the mempool is full; retry later');
      if (added === 'sender-full') throw resourceExhausted('too many pending transactions from this sender');
      if (added === 'added') c.gossip.tx(stx);
      return { txId: Buffer.from(id) };
    },

    async propose(req) {
      if (!req.proposal) throw invalidArgument('Propose: proposal is missing');
      if (!req.proposal.vote) throw invalidArgument('Propose: proposal vote is missing');
      const key = 'p' + hex(sha256(PbVote.encode(req.proposal.vote).finish()));
      if (seen.has(key)) return {};
      try {
        const { proposal, payload } = proposalFromProto(c.crypto, req.proposal);
        if (c.host.deliver({ kind: 'proposal', proposal }, payload)) seen.add(key);
      } catch (err) {
        if (err instanceof WireError) throw invalidArgument(`Propose: ${err.message}`);
        throw err;
      }
      return {};
    },

    async vote(req) {
      // Like Propose {} and Bundle {}: a call that carries nothing is a malformed call (issue #25.6).
      if (req.votes.length === 0) throw invalidArgument('Vote: no votes (give 1 to 1024)');
      if (req.votes.length > MAX_VOTES_PER_CALL) throw invalidArgument(`Vote: at most ${MAX_VOTES_PER_CALL} votes per call, got ${req.votes.length}`);
      const bad: string[] = [];
      for (const [i, v] of req.votes.entries()) {
        const key = 'v' + hex(sha256(PbVote.encode(v).finish()));
        if (seen.has(key)) continue;
        try {
          if (c.host.deliver({ kind: 'vote', vote: looseVoteFromProto(v) })) seen.add(key);
        } catch (err) {
          if (err instanceof WireError) bad.push(`votes[${i}]: ${err.message}`);
          else throw err;
        }
      }
      if (bad.length > 0) throw invalidArgument(`Vote: ${bad.length} malformed vote(s): ${bad[0]}`);
      return {};
    },

    async bundle(req) {
      // Not remembered as seen: a copy dropped now (another round) may be needed later, and the
      // core drops a bundle of a quorum it already has before any signature check.
      try {
        c.host.deliver({ kind: 'bundle', bundle: bundleFromProto(req.bundle) });
      } catch (err) {
        if (err instanceof WireError) throw invalidArgument(`Bundle: ${err.message}`);
        throw err;
      }
      return {};
    },

    async getBlock(req) {
      const sel = req.selector;
      if (!sel) throw invalidArgument('GetBlock: give a round or a hash');
      if (sel.$case === 'round') {
        // Checked as the bigint: Number(2^64 − 1) is 2^64, which the chain store's u64 key wraps to round 0 (genesis).
        if (sel.value > MAX_ROUND) throw notFound(`no finalized block at round ${sel.value} (latest is ${c.ledger.tip().round})`);
        return { block: await certified(Number(sel.value)) };
      }
      if (sel.value.length !== 32) throw invalidArgument('GetBlock: hash must be 32 bytes');
      const round = await c.ledger.chain.roundOf(sel.value);
      if (round === null) throw notFound(`no finalized block with hash ${hex(sel.value)}`);
      return { block: await certified(round) };
    },

    async getStatus() {
      const tip = c.ledger.tip();
      const st = c.host.status();
      return {
        nodeId: Buffer.from(c.nodeId),
        chainId: c.ledger.rules.chainId,
        finalizedRound: BigInt(tip.round),
        finalizedHash: Buffer.from(tip.hash),
        currentRound: BigInt(st.round),
        currentPeriod: BigInt(st.period),
        peers: c.peers.status().map((p) => ({ id: Buffer.alloc(0), endpoint: p.endpoint, connected: p.connected })),
        mempoolSize: c.mempool.size,
      };
    },

    async *streamBlocks(req, ctx) {
      // A round past 2^53 − 1 is never reached: following from it would wait forever, and Number() would round it.
      if (req.fromRound > MAX_ROUND) throw invalidArgument(`StreamBlocks: from_round ${req.fromRound} is beyond any round this chain reaches (at most ${MAX_ROUND})`);
      let round = Number(req.fromRound);
      while (!ctx.signal.aborted) {
        while (round <= c.ledger.tip().round) {
          yield { block: await certified(round) };
          round++;
        }
        if (!req.follow) return;
        await new Promise<void>((resolve) => {
          const off = c.ledger.onCommit(() => {
            off();
            ctx.signal.removeEventListener('abort', onAbort);
            resolve();
          });
          const onAbort = () => {
            off();
            resolve();
          };
          ctx.signal.addEventListener('abort', onAbort, { once: true });
        });
      }
    },

    async getStateProof(req) {
      if (req.key.length !== 32) throw invalidArgument(`GetStateProof: key must be 32 bytes, got ${req.key.length}`);
      const tip = c.ledger.tip().round;
      if (req.round !== undefined && req.round > BigInt(tip)) throw notFound(`round ${req.round} is not finalized yet (latest is ${tip})`);
      const round = req.round === undefined ? tip : Number(req.round);
      const root = await c.ledger.tree.rootAt(round);
      const b = await c.ledger.certifiedHeader(round);
      if (root === null || b === null) throw notFound(`the state of round ${round} is not kept by this node`);
      const key = new Uint8Array(req.key);
      try {
        // State-tree objects this node lacks are fetched from storers and checked by hash (remote-state.ts).
        const [proof, value] = await Promise.all([c.ledger.tree.prove(root, key), c.ledger.tree.get(root, key)]);
        return { proof: smtProofToProto(key, value, root, proof), header: b.header, certificate: b.certificate };
      } catch (err) {
        if (err instanceof SmtError && err.code !== SmtErrorCode.INVALID_ARGUMENT) {
          throw unavailable(`GetStateProof: part of the state of round ${round} is neither here nor on any reachable storer (${err.message})`);
        }
        throw err;
      }
    },

    async getTransaction(req): Promise<GetTransactionResponse> {
      if (req.txId.length !== 32) throw invalidArgument(`GetTransaction: tx_id must be 32 bytes, got ${req.txId.length}`);
      const id = new Uint8Array(req.txId);
      const round = BigInt(c.ledger.tip().round);
      const included = await inclusions.lookup(id);
      if (included) return { state: { $case: 'included', value: { round: BigInt(included.round), index: included.index } }, round };
      const pending = c.mempool.get(id);
      const rejection = c.mempool.rejection(id);
      const tx = pending?.tx ?? (rejection ? { sender: rejection.sender, nonce: rejection.nonce } : undefined);
      if (!tx) throw notFound(`transaction ${hex(id)} is unknown to this node: not pending, and not among the rejections it remembers or the blocks of rounds ${inclusions.from} to ${round}`);
      const accountNonce = (await readAccount(c.ledger.latestState(), tx.sender)).nonce;
      if (pending) return { state: { $case: 'pending', value: { accountNonce } }, round };
      // A nonce the account has passed without this transaction is spent for good, whatever the reason recorded.
      if (accountNonce > rejection!.nonce) {
        return { state: { $case: 'rejected', value: { reason: `${rejection!.reason}; nonce ${rejection!.nonce} is spent (the sender's next nonce is ${accountNonce})`, cause: RejectionCause.REJECTION_CAUSE_NONCE_USED } }, round };
      }
      // Left out of a proposal for another transaction with its nonce: undecided until a block spends that nonce.
      if (rejection!.cause === 'contested') return { state: { $case: 'pending', value: { accountNonce } }, round };
      const cause = rejection!.cause === 'gap' ? RejectionCause.REJECTION_CAUSE_NONCE_GAP : RejectionCause.REJECTION_CAUSE_INVALID;
      return { state: { $case: 'rejected', value: { reason: rejection!.reason, cause } }, round };
    },

    async getAccount(req) {
      if (req.publicKey.length !== 32) throw invalidArgument(`GetAccount: public_key must be 32 bytes, got ${req.publicKey.length}`);
      const round = c.ledger.tip().round;
      return { account: await readAccount(c.ledger.latestState(), req.publicKey), round: BigInt(round) };
    },
  };
}
