// The gateway's view of the chain, through ConsensusService (docs/contracts.md): status and seed,
// state lookups with their proofs (checked against the header's state root before use), submitting
// transactions and waiting for a key's SetKey to be final. Status asks every consensus node at once
// and takes the most advanced one (a lagging node would hand out an old seed round); other calls try
// the nodes in order, from the last one that answered, skipping one that is unavailable.
import type { ConsensusServiceClient, GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { AccountRecord } from '../../gen/wolk/common/v1/state.js';
import { mostAdvanced } from '../../lib/client/most-advanced.js';
import { verifyProofResponse } from '../../lib/client/proof.js';
import { RpcError, unary, type Clients } from './rpc.js';

export interface ChainStatus {
  readonly chainId: string;
  readonly finalizedRound: bigint;
  readonly finalizedHash: Uint8Array;
}

export interface StateValue {
  /** The record bytes, or null when the key is absent. */
  readonly value: Uint8Array | null;
  readonly round: bigint;
  readonly response: GetStateProofResponse;
}

export class ChainError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'rejected' | 'bad-proof',
    message: string,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

export interface Chain {
  status(signal?: AbortSignal): Promise<ChainStatus>;
  block(round: bigint, signal?: AbortSignal): Promise<CertifiedBlock>;
  /** A state key's value proven against the latest finalized block (the proof is checked here). */
  state(key: Uint8Array, signal?: AbortSignal): Promise<StateValue>;
  account(publicKey: Uint8Array, signal?: AbortSignal): Promise<{ account: AccountRecord | undefined; round: bigint }>;
  submit(tx: SignedTransaction, signal?: AbortSignal): Promise<Uint8Array>;
  readonly endpoints: readonly string[];
}

export function createChain(clients: Clients, endpoints: readonly string[], timeoutMs = 5000): Chain {
  if (endpoints.length === 0) throw new Error('the gateway needs WOLK_CONSENSUS (at least one consensus node)');
  let preferred = 0;
  async function call<Res>(what: string, fn: (c: ConsensusServiceClient, endpoint: string) => Promise<Res>): Promise<Res> {
    let last: unknown;
    for (let i = 0; i < endpoints.length; i++) {
      const idx = (preferred + i) % endpoints.length;
      const endpoint = endpoints[idx]!;
      try {
        const res = await fn(clients.consensusNode(endpoint), endpoint);
        preferred = idx;
        return res;
      } catch (err) {
        last = err;
        if (err instanceof RpcError && err.unavailable) continue;
        if (err instanceof RpcError) throw new ChainError('rejected', `${what}: ${err.message}`);
        throw err;
      }
    }
    throw new ChainError('unavailable', `${what}: no consensus node answered (${(last as Error)?.message ?? 'none configured'})`);
  }
  return {
    endpoints,
    // Every node is asked at once and the most advanced one answers: a node that fell behind (restarted,
    // partitioned, or slow under load) would otherwise hand out an old seed round, whose registry lacks
    // the storers registered since. Later calls prefer that node, so the seed block is read from it.
    async status(signal) {
      const answers = await Promise.allSettled(
        endpoints.map((e) => {
          const c = clients.consensusNode(e);
          return unary(e, c.getStatus.bind(c), {}, timeoutMs, signal);
        }),
      );
      const best = mostAdvanced(answers);
      if (!best) {
        const failures = answers.map((a) => (a as PromiseRejectedResult).reason as unknown);
        const rejected = failures.find((e) => !(e instanceof RpcError && e.unavailable));
        if (rejected instanceof RpcError) throw new ChainError('rejected', `GetStatus: ${rejected.message}`);
        if (rejected !== undefined) throw rejected;
        throw new ChainError('unavailable', `GetStatus: no consensus node answered (${(failures.at(-1) as Error)?.message ?? 'none configured'})`);
      }
      preferred = best.index;
      const s = best.status;
      return { chainId: s.chainId, finalizedRound: s.finalizedRound, finalizedHash: s.finalizedHash };
    },
    async block(round, signal) {
      const r = await call('GetBlock', (c, e) => unary(e, c.getBlock.bind(c), { selector: { $case: 'round', value: round } }, timeoutMs, signal));
      if (!r.block) throw new ChainError('rejected', `GetBlock ${round}: empty answer`);
      return r.block;
    },
    async state(key, signal) {
      const r = await call('GetStateProof', (c, e) => unary(e, c.getStateProof.bind(c), { key: Buffer.from(key), round: undefined }, timeoutMs, signal));
      const checked = verifyProofResponse(r, key);
      if (!checked.ok) throw new ChainError('bad-proof', `GetStateProof: ${checked.reason}`);
      return { value: checked.value, round: r.header?.round ?? 0n, response: r };
    },
    async account(publicKey, signal) {
      const r = await call('GetAccount', (c, e) => unary(e, c.getAccount.bind(c), { publicKey: Buffer.from(publicKey) }, timeoutMs, signal));
      return { account: r.account, round: r.round };
    },
    async submit(tx, signal) {
      const r = await call('SubmitTx', (c, e) => unary(e, c.submitTx.bind(c), { tx }, timeoutMs, signal));
      return r.txId;
    },
  };
}
