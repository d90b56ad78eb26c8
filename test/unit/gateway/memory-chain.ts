// An in-memory Chain (services/gateway/chain.ts) for tests of the gateway's HTTP flows that need no
// storers: state by key, finalized blocks holding transactions, account nonces, SubmitTx. What a
// block finalizes is decided by the test (`finalize`), so a test controls exactly when (or whether) a
// transaction becomes final.
import { BlockHeader, type CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { ChainError, type Chain, type ChainStatus, type StateValue, type TxState } from '../../../services/gateway/chain.js';
import { txId } from '../../../lib/chain/tx-bytes.js';

export interface MemoryChain extends Chain {
  readonly chainId: string;
  readonly submitted: SignedTransaction[];
  readonly blocks: CertifiedBlock[];
  /** Calls of each method so far. */
  readonly calls: Record<'status' | 'block' | 'state' | 'account' | 'submit' | 'transaction', number>;
  /** Sets (or, with null, removes) a state value. */
  set(key: Uint8Array, value: Uint8Array | null): void;
  /** Appends a finalized block holding `txs`; their senders' nonces advance. */
  finalize(txs: SignedTransaction[]): bigint;
  /** What SubmitTx does with a transaction before accepting it: throw to refuse it. */
  onSubmit: (stx: SignedTransaction) => void;
  /** Finalize every accepted transaction in a block of its own right away (a chain that keeps up). */
  autoFinalize: boolean;
  /** GetTransaction answers set by the test (by tx id hex); otherwise included / pending / unknown from the blocks and submissions. */
  readonly txStates: Map<string, TxState>;
  /** Resolves on the next SubmitTx. */
  nextSubmit(): Promise<SignedTransaction>;
}

const k = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function memoryChain(chainId = 'wolk-test'): MemoryChain {
  const state = new Map<string, Uint8Array>();
  const nonces = new Map<string, bigint>();
  const blocks: CertifiedBlock[] = [];
  const submitted: SignedTransaction[] = [];
  const calls = { status: 0, block: 0, state: 0, account: 0, submit: 0, transaction: 0 };
  const txStates = new Map<string, TxState>();
  let waiters: ((stx: SignedTransaction) => void)[] = [];
  const header = (round: bigint): BlockHeader => BlockHeader.fromPartial({ round, seed: Buffer.alloc(32, Number(round % 251n)), stateRoot: Buffer.alloc(32) });
  const append = (txs: SignedTransaction[]) => {
    const round = BigInt(blocks.length);
    blocks.push({ block: { header: header(round), txs, newChunks: undefined }, certificate: undefined, blockHash: Buffer.alloc(32, blocks.length) });
    return round;
  };
  append([]);
  const tip = () => BigInt(blocks.length - 1);
  const self: MemoryChain = {
    chainId,
    endpoints: ['memory'],
    submitted,
    blocks,
    calls,
    txStates,
    onSubmit: () => undefined,
    autoFinalize: false,
    async status(): Promise<ChainStatus> {
      calls.status++;
      return { chainId, finalizedRound: tip(), finalizedHash: Buffer.alloc(32) };
    },
    async block(round) {
      calls.block++;
      const b = blocks[Number(round)];
      if (!b || round < 0n) throw new ChainError('rejected', `GetBlock: no block ${round}`);
      return b;
    },
    async state(key): Promise<StateValue> {
      calls.state++;
      return { value: state.get(k(key)) ?? null, round: tip(), response: { proof: undefined, header: header(tip()), certificate: undefined } };
    },
    async account(publicKey) {
      calls.account++;
      return { account: { publicKey: Buffer.from(publicKey), nonce: nonces.get(k(publicKey)) ?? 0n, balance: 0n, node: undefined }, round: tip() };
    },
    async submit(stx) {
      calls.submit++;
      self.onSubmit(stx);
      submitted.push(stx);
      const w = waiters;
      waiters = [];
      for (const f of w) f(stx);
      if (self.autoFinalize) self.finalize([stx]);
      return new Uint8Array(32);
    },
    async transaction(id) {
      calls.transaction++;
      const set = txStates.get(k(id));
      if (set) return set;
      for (const [round, b] of blocks.entries()) {
        const index = (b.block?.txs ?? []).findIndex((t) => k(txId(t)) === k(id));
        if (index >= 0) return { state: 'included', round: BigInt(round), index };
      }
      const pending = submitted.find((t) => k(txId(t)) === k(id));
      return pending ? { state: 'pending', accountNonce: nonces.get(k(pending.tx!.sender)) ?? 0n } : { state: 'unknown' };
    },
    set(key, value) {
      if (value) state.set(k(key), value);
      else state.delete(k(key));
    },
    finalize(txs) {
      for (const stx of txs) {
        const tx = stx.tx!;
        nonces.set(k(tx.sender), tx.nonce + 1n);
      }
      return append(txs);
    },
    nextSubmit: () => new Promise((resolve) => waiters.push(resolve)),
  };
  return self;
}
