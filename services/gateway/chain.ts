// The gateway's view of the chain, through ConsensusService (docs/contracts.md): status and seed,
// state lookups with their proofs (checked against the header's state root before use), submitting
// transactions and waiting for a key's SetKey to be final. Status asks every consensus node at once
// and takes the most advanced one (a lagging node would hand out an old seed round); other calls try
// the nodes in order, from the last one that answered, skipping one that is unavailable.
import { RejectionCause, type ConsensusServiceClient, type GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { AccountRecord } from '../../gen/wolk/common/v1/state.js';
import { mostAdvanced } from '../../lib/client/most-advanced.js';
import { verifyProofResponse } from '../../lib/client/proof.js';
import { failover, NoEndpointAnswered, RpcError, unaryCall } from '../../lib/grpc/client.js';
import { isCancelledByCaller, isOutage } from '../../lib/grpc/errors.js';
import { toEndpoints, type EndpointsLike } from '../../lib/net/endpoints.js';
import type { Clients } from './rpc.js';

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
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ChainError';
  }
}

/**
 * What a consensus node knows of a transaction (GetTransaction). `unknown`: it never saw it or no longer
 * remembers it. A rejection's cause: `nonce-used` (another transaction of the sender spent its nonce),
 * `nonce-gap` (dropped while waiting for earlier nonces that never came), `invalid` (it does not apply).
 */
export type TxState =
  | { readonly state: 'pending'; readonly accountNonce: bigint }
  | { readonly state: 'included'; readonly round: bigint; readonly index: number }
  | { readonly state: 'rejected'; readonly reason: string; readonly cause: 'invalid' | 'nonce-used' | 'nonce-gap' }
  | { readonly state: 'unknown' };

export interface Chain {
  status(signal?: AbortSignal): Promise<ChainStatus>;
  block(round: bigint, signal?: AbortSignal): Promise<CertifiedBlock>;
  /** A state key's value proven against the latest finalized block (the proof is checked here). */
  state(key: Uint8Array, signal?: AbortSignal): Promise<StateValue>;
  account(publicKey: Uint8Array, signal?: AbortSignal): Promise<{ account: AccountRecord | undefined; round: bigint }>;
  submit(tx: SignedTransaction, signal?: AbortSignal): Promise<Uint8Array>;
  transaction(id: Uint8Array, signal?: AbortSignal): Promise<TxState>;
  /** The consensus nodes now (read at each use: with WOLK_CONSENSUS_SRV they follow DNS). */
  readonly endpoints: readonly string[];
}

/** `endpointsLike` is read at each call (an EndpointSet follows DNS); a fixed list must not be empty. */
export function createChain(clients: Clients, endpointsLike: EndpointsLike, timeoutMs = 5000): Chain {
  if (Array.isArray(endpointsLike) && endpointsLike.length === 0) throw new Error('the gateway needs WOLK_CONSENSUS or WOLK_CONSENSUS_SRV (at least one consensus node)');
  const endpoints = toEndpoints(endpointsLike);
  /** The node that answered last, tried first. */
  let preferred: string | undefined;
  // The nodes in turn from the last one that answered; an outage (errors.ts isOutage) moves on, a
  // verdict is the chain's answer ('rejected'). A call cancelled by the caller's signal counts as
  // unavailable, as before.
  async function call<Res>(what: string, fn: (c: ConsensusServiceClient, endpoint: string) => Promise<Res>, signal: AbortSignal | undefined): Promise<Res> {
    try {
      const list = endpoints.current();
      const r = await failover(list, (endpoint) => fn(clients.consensusNode(endpoint), endpoint), { first: preferred, signal, whenEmpty: () => endpoints.emptyReason() });
      preferred = list[r.index];
      return r.value;
    } catch (err) {
      throw chainError(what, err);
    }
  }
  return {
    get endpoints() {
      return endpoints.current();
    },
    // Every node is asked at once and the most advanced one answers: a node that fell behind (restarted,
    // partitioned, or slow under load) would otherwise hand out an old seed round, whose registry lacks
    // the storers registered since. Later calls prefer that node, so the seed block is read from it.
    async status(signal) {
      const list = endpoints.current();
      if (list.length === 0) throw chainError('GetStatus', new NoEndpointAnswered([], endpoints.emptyReason()));
      const answers = await Promise.allSettled(
        list.map((e) => {
          const c = clients.consensusNode(e);
          return unaryCall(c.getStatus.bind(c), {}, { endpoint: e, timeoutMs, signal });
        }),
      );
      const best = mostAdvanced(answers);
      if (!best) {
        const failures = answers.map((a) => (a as PromiseRejectedResult).reason as unknown);
        throw chainError('GetStatus', failures.find((e) => !unavailable(e)) ?? new NoEndpointAnswered(failures.map((error, i) => ({ endpoint: list[i]!, error }))));
      }
      preferred = list[best.index];
      const s = best.status;
      return { chainId: s.chainId, finalizedRound: s.finalizedRound, finalizedHash: s.finalizedHash };
    },
    async block(round, signal) {
      const r = await call('GetBlock', (c, e) => unaryCall(c.getBlock.bind(c), { selector: { $case: 'round', value: round } }, { endpoint: e, timeoutMs, signal }), signal);
      if (!r.block) throw new ChainError('rejected', `GetBlock ${round}: empty answer`);
      return r.block;
    },
    async state(key, signal) {
      const r = await call('GetStateProof', (c, e) => unaryCall(c.getStateProof.bind(c), { key: Buffer.from(key), round: undefined }, { endpoint: e, timeoutMs, signal }), signal);
      const checked = verifyProofResponse(r, key);
      if (!checked.ok) throw new ChainError('bad-proof', `GetStateProof: ${checked.reason}`);
      return { value: checked.value, round: r.header?.round ?? 0n, response: r };
    },
    async account(publicKey, signal) {
      const r = await call('GetAccount', (c, e) => unaryCall(c.getAccount.bind(c), { publicKey: Buffer.from(publicKey) }, { endpoint: e, timeoutMs, signal }), signal);
      return { account: r.account, round: r.round };
    },
    async submit(tx, signal) {
      const r = await call('SubmitTx', (c, e) => unaryCall(c.submitTx.bind(c), { tx }, { endpoint: e, timeoutMs, signal }), signal);
      return r.txId;
    },
    async transaction(id, signal) {
      let r;
      try {
        r = await call('GetTransaction', (c, e) => unaryCall(c.getTransaction.bind(c), { txId: Buffer.from(id) }, { endpoint: e, timeoutMs, signal }), signal);
      } catch (err) {
        // NOT_FOUND: the node does not know it; UNIMPLEMENTED: a node older than GetTransaction knows nothing either.
        const code = err instanceof ChainError && err.cause instanceof RpcError ? err.cause.code : undefined;
        if (code === GrpcStatus.NOT_FOUND || code === GrpcStatus.UNIMPLEMENTED) return { state: 'unknown' };
        throw err;
      }
      const st = r.state;
      if (st?.$case === 'pending') return { state: 'pending', accountNonce: st.value.accountNonce };
      if (st?.$case === 'included') return { state: 'included', round: st.value.round, index: st.value.index };
      if (st?.$case === 'rejected') {
        const cause = st.value.cause === RejectionCause.REJECTION_CAUSE_NONCE_USED ? 'nonce-used' : st.value.cause === RejectionCause.REJECTION_CAUSE_NONCE_GAP ? 'nonce-gap' : 'invalid';
        return { state: 'rejected', reason: st.value.reason, cause };
      }
      return { state: 'unknown' };
    },
  };
}

/** An outage, or the caller's own cancel: the chain did not judge the request. */
const unavailable = (err: unknown) => isOutage(err) || isCancelledByCaller(err);

/** A failed chain call in the gateway's terms: no node answered ('unavailable') or one judged it ('rejected'). */
function chainError(what: string, err: unknown): unknown {
  if (err instanceof NoEndpointAnswered) {
    return new ChainError('unavailable', `${what}: no consensus node answered (${(err.last as Error | undefined)?.message ?? err.message})`);
  }
  if (unavailable(err)) return new ChainError('unavailable', `${what}: no consensus node answered (${(err as Error).message})`);
  if (err instanceof RpcError) return new ChainError('rejected', `${what}: ${err.message}`, { cause: err });
  return err;
}
